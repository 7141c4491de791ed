"""The Django side of recommender.ml's training: database -> arrays -> the served model
(the best on validation of the transformer, the tuned item transitions, their
ensemble and that ensemble with the products' content similarity:
`recommender.ml.train_served`), evaluated on a time-ordered holdout against
baselines."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from recommender.ml import (
    ItemFeatures,
    LeaveLastOutSplit,
    ModelConfig,
    SequenceData,
    ServedModel,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    leave_last_out,
    train_served,
)
from recommender.training.evaluation import holdout_metrics
from recommender.training.export import (
    CatalogueArrays,
    EventArrays,
    catalogue_export,
    events_export,
)

# Parameters of a run that are not model hyperparameters.
RUN_OPTIONS = ("activate", "include_sessions")
MIN_EVENTS_TO_TRAIN = 20


class NotEnoughData(Exception):
    pass


@dataclass
class TrainResult:
    model: ServedModel
    config: dict
    metrics: dict
    event_count: int
    user_count: int
    item_count: int
    cutoff: datetime | None
    device: str
    timings: dict = field(default_factory=dict)


def model_config(parameters: dict) -> ModelConfig:
    """The model's hyperparameters from a run's parameters; ValueError names unknown ones."""
    unknown = set(parameters) - set(ModelConfig.__dataclass_fields__) - set(RUN_OPTIONS)
    if unknown:
        raise ValueError(f"unknown training parameter(s): {', '.join(sorted(unknown))}")
    return ModelConfig.from_dict({k: v for k, v in parameters.items() if k not in RUN_OPTIONS})


@contextmanager
def _timed(timings: dict, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[stage] = round(time.perf_counter() - started, 2)


def train_from_database(
    *,
    parameters: dict,
    progress: Callable[[dict], bool] | None = None,
    log: Callable[[str], None] = print,
    timings: dict | None = None,
) -> TrainResult:
    """Export, split (time-ordered leave-last-out), train the candidates, serve the best
    on validation, evaluate every candidate and the baselines on the holdout.

    ``timings`` (also the result's) receives each stage's seconds (and the training
    stage's parts: tuning the transitions, training the transformer, selecting)."""
    timings = timings if timings is not None else {}
    config = model_config(parameters)
    _phase(progress, "exporting")
    catalogue, events = _exported(parameters, timings, log)
    _phase(progress, "preparing")
    with _timed(timings, "prepare"):
        data, features, split = _prepare(catalogue, events, config)
    if len(split.users_eval) == 0:
        raise NotEnoughData("no shopper has 3 or more events; the holdout needs some")
    log(
        f"{len(data):,} shoppers, {len(split.users_eval):,} with a holdout;"
        f" parameters changed from the defaults: {_changed(config.to_dict(), parameters)}"
    )
    _phase(progress, "tuning the item transitions")
    with _timed(timings, "train"):
        selection = train_served(split, features, config, progress=progress, log=log)
    timings.update(selection.timings)
    _phase(progress, "evaluating on the holdout")
    with _timed(timings, "evaluate"):
        metrics = holdout_metrics(selection, split, config)
    log(_metrics_line(metrics))
    model = selection.served
    return TrainResult(
        model=model,
        config=config.to_dict(),
        metrics=metrics,
        event_count=len(events),
        user_count=len(data),
        item_count=len(catalogue.product_ids),
        cutoff=events.cutoff,
        device=str(model.metrics.get("device", "")),
        timings=timings,
    )


def _phase(progress: Callable[[dict], bool] | None, name: str) -> None:
    """Tell the run's progress which stage starts (its live page shows it)."""
    if progress is not None:
        progress({"stage": "phase", "phase": name})


def _changed(config: dict, parameters: dict) -> str:
    """The model parameters the run set, "none" when it kept every default."""
    changed = [f"{name}={config[name]}" for name in config if name in parameters]
    return ", ".join(changed) or "none"


def _exported(
    parameters: dict, timings: dict, log: Callable[[str], None]
) -> tuple[CatalogueArrays, EventArrays]:
    """The catalogue and the training events; NotEnoughData when too few events exist."""
    with _timed(timings, "export"):
        catalogue = catalogue_export()
        events = events_export(include_sessions=parameters.get("include_sessions", True))
    log(
        f"exported {len(events):,} events and {len(catalogue.product_ids):,} products in {timings['export']} s"
    )
    if len(events) < MIN_EVENTS_TO_TRAIN:
        raise NotEnoughData(
            f"only {len(events)} events to learn from; at least {MIN_EVENTS_TO_TRAIN} are needed"
        )
    return catalogue, events


def _prepare(
    catalogue: CatalogueArrays, events: EventArrays, config: ModelConfig
) -> tuple[SequenceData, ItemFeatures, LeaveLastOutSplit]:
    """Per-shopper sequences, item side features and the holdout split."""
    item_vocab = Vocabulary(catalogue.product_ids)
    data = build_sequence_data(
        events.actor_keys, events.product_ids, events.timestamps, events.event_types, item_vocab
    )
    features = build_item_features(
        item_vocab,
        catalogue.titles,
        catalogue.attributes,
        catalogue.price_buckets,
        config.max_title_tokens,
        config.max_attributes,
        config.min_token_count,
    )
    return data, features, leave_last_out(data)


def _metrics_line(metrics: dict) -> str:
    baselines = metrics["baselines"]
    candidates = ", ".join(
        f"{name} {row['ndcg@10']:.4f}" for name, row in metrics["candidates"].items()
    )
    return (
        f"holdout NDCG@10 of the served {metrics['model']['name']}: {metrics['model']['ndcg@10']:.4f}"
        f" (candidates: {candidates}; popularity {baselines['popularity']['ndcg@10']:.4f},"
        f" item transitions untuned {baselines['item_transitions']['ndcg@10']:.4f})"
    )
