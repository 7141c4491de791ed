import json
import logging
import sys
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.models import ModelVersion, TrainingRun
from recommender.tasks import background_wait, training_run_enqueue
from recommender.training.pipeline import model_config
from recommender.training.runs import training_run_create, training_run_execute


def parse_parameters(settings: list[str], *, activate: str) -> dict:
    """The run's parameters from ``--set KEY=VALUE`` options (values read as JSON when
    they parse, else as strings); CommandError names a malformed or unknown one."""
    parameters = {"activate": activate}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f"--set {item!r}: expected KEY=VALUE")
        try:
            parameters[key] = json.loads(value)
        except json.JSONDecodeError:
            parameters[key] = value
    try:
        model_config(parameters)
    except (ValueError, TypeError) as exc:
        raise CommandError(str(exc)) from None
    return parameters


@contextmanager
def epoch_bar(max_epochs: int, *, quiet: bool):
    """A progress bar of the epochs, updated by the report callback it yields. The
    per-epoch log lines go to the run's log tail (quiet: not to the console too)."""
    bar = tqdm(total=max_epochs, desc="training", unit="epoch", file=sys.stderr)

    def show_epoch(report):
        if report.get("stage") == "epoch":
            bar.update(1)
            bar.set_postfix(
                loss=f"{report.get('loss') or 0:.3f}", val_ndcg=report.get("best_val_ndcg@10")
            )

    ml_logger = logging.getLogger("recommender")
    level = ml_logger.level
    if quiet:
        ml_logger.setLevel(logging.WARNING)
    try:
        yield show_epoch
    finally:
        ml_logger.setLevel(level)
        bar.close()


class Command(BaseCommand):
    help = "Train a model on the shop's events (in process with a progress bar, or --async via Celery)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-no-model",
            action="store_true",
            help="do nothing when a model version is active (make demo)",
        )
        parser.add_argument(
            "--async", action="store_true", dest="run_async", help="queue it for a Celery worker"
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a model parameter, e.g. --set max_epochs=20",
        )
        parser.add_argument(
            "--activate", choices=["if_better", "always", "never"], default="if_better"
        )

    def handle(self, *args, **options):
        if options["if_no_model"] and ModelVersion.objects.filter(is_active=True).exists():
            self.stdout.write(
                "A model version is active; not training (drop --if-no-model to retrain)."
            )
            return
        parameters = parse_parameters(options["set"], activate=options["activate"])
        run = training_run_create(parameters=parameters, trigger="command")
        if options["run_async"]:
            training_run_enqueue(run=run)
            if settings.CELERY_TASK_ALWAYS_EAGER:
                # No broker: the run trains on a thread of this process, which must not
                # exit under it.
                self.stdout.write(f"No broker: training run {run.pk} trains in this process ...")
                background_wait()
                return
            self.stdout.write(f"Queued training run {run.pk}; follow it in the admin.")
            return
        version = self.train_here(run, quiet=options["verbosity"] < 2)
        run.refresh_from_db()
        version.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Model v{version.pk}: holdout NDCG@10 {version.holdout_ndcg:.4f} on {version.device}"
                f" ({'active' if version.is_active else 'not active'}); run {run.pk} {TrainingRun.Status(run.status).label}"
            )
        )

    def train_here(self, run: TrainingRun, *, quiet: bool) -> ModelVersion:
        """Run the training in this process, with a progress bar of the epochs."""
        max_epochs = model_config(run.parameters).max_epochs
        with epoch_bar(max_epochs, quiet=quiet) as show_epoch:
            try:
                version = training_run_execute(run_id=run.pk, on_report=show_epoch)
            except Exception as exc:
                raise CommandError(f"training run {run.pk} failed: {exc}") from exc
        if version is None:
            run.refresh_from_db()
            raise CommandError(f"training run {run.pk} ended {run.status}: {run.error}")
        return version
