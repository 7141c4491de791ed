import json
import logging
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender import services
from recommender.models import TrainingRun


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
        from recommender.models import ModelVersion

        if options["if_no_model"] and ModelVersion.objects.filter(is_active=True).exists():
            self.stdout.write(
                "A model version is active; not training (drop --if-no-model to retrain)."
            )
            return
        parameters = {"activate": options["activate"]}
        for item in options["set"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set {item!r}: expected KEY=VALUE")
            try:
                parameters[key] = json.loads(value)
            except json.JSONDecodeError:
                parameters[key] = value
        from recommender.pipeline import model_config

        try:
            model_config(parameters)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from None
        run = services.training_run_create(parameters=parameters, trigger="command")
        if options["run_async"]:
            services.training_run_enqueue(run=run)
            self.stdout.write(f"Queued training run {run.pk}; follow it in the admin.")
            return
        from recommender.pipeline import model_config as config_for

        bar = tqdm(
            total=config_for(parameters).max_epochs, desc="training", unit="epoch", file=sys.stderr
        )

        def show_epoch(report):
            if report.get("stage") == "epoch":
                bar.update(1)
                bar.set_postfix(
                    loss=f"{report.get('loss') or 0:.3f}", val_ndcg=report.get("best_val_ndcg@10")
                )

        # The bar shows the epochs; the per-epoch log lines go to the run's log tail.
        ml_logger = logging.getLogger("recommender")
        level = ml_logger.level
        if options["verbosity"] < 2:
            ml_logger.setLevel(logging.WARNING)
        try:
            version = services.training_run_execute(run_id=run.pk, on_report=show_epoch)
        except Exception as exc:
            raise CommandError(f"training run {run.pk} failed: {exc}") from exc
        finally:
            ml_logger.setLevel(level)
            bar.close()
        run.refresh_from_db()
        if version is None:
            raise CommandError(f"training run {run.pk} ended {run.status}: {run.error}")
        version.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                f"Model v{version.pk}: holdout NDCG@10 {version.holdout_ndcg:.4f} on {version.device}"
                f" ({'active' if version.is_active else 'not active'}); run {run.pk} {TrainingRun.Status(run.status).label}"
            )
        )
