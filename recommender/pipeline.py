"""The Django side of recommender.ml: database -> arrays -> trained, evaluated model;
and shoppers' histories -> top-K.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Max, Q, Subquery

from recommender.export import TRAINING_EVENT_TYPES, catalogue_export, events_export
from shop.models import Event, Product

# Parameters of a run that are not model hyperparameters.
RUN_OPTIONS = ("activate", "include_sessions")
MIN_EVENTS_TO_TRAIN = 20


class NotEnoughData(Exception):
    pass


@dataclass
class TrainResult:
    model: Any
    config: dict
    metrics: dict
    event_count: int
    user_count: int
    item_count: int
    cutoff: datetime | None
    device: str
    timings: dict = field(default_factory=dict)


def model_config(parameters: dict):
    from recommender.ml import ModelConfig

    unknown = set(parameters) - {f for f in ModelConfig.__dataclass_fields__} - set(RUN_OPTIONS)
    if unknown:
        raise ValueError(f"unknown training parameter(s): {', '.join(sorted(unknown))}")
    return ModelConfig.from_dict({k: v for k, v in parameters.items() if k not in RUN_OPTIONS})


def _metrics_row(result: dict) -> dict:
    head, plain = result["history_excluded"], result.get("no_exclusion", {})
    keys = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr", "coverage@10")
    row = {k: head.get(k) for k in keys}
    row["users"] = head.get("users")
    row["segments"] = {
        s: {k: v.get(k) for k in ("hr@10", "ndcg@10", "users")}
        for s, v in head.get("segments", {}).items()
    }
    row["no_exclusion"] = {k: plain.get(k) for k in keys}
    return row


def train_from_database(
    *,
    parameters: dict,
    progress: Callable[[dict], bool] | None = None,
    log: Callable[[str], None] = print,
    timings: dict | None = None,
) -> TrainResult:
    """Export, split (time-ordered leave-last-out), train, evaluate against baselines."""
    from recommender.ml import (
        ItemTransitions,
        Popularity,
        Vocabulary,
        build_item_features,
        build_sequence_data,
        evaluate,
        fit,
        leave_last_out,
    )

    timings = timings if timings is not None else {}
    config = model_config(parameters)
    started = time.perf_counter()
    catalogue = catalogue_export()
    events = events_export(include_sessions=parameters.get("include_sessions", True))
    timings["export"] = round(time.perf_counter() - started, 2)
    log(
        f"exported {len(events):,} events and {len(catalogue.product_ids):,} products in {timings['export']} s"
    )
    if len(events) < MIN_EVENTS_TO_TRAIN:
        raise NotEnoughData(
            f"only {len(events)} events to learn from; at least {MIN_EVENTS_TO_TRAIN} are needed"
        )

    started = time.perf_counter()
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
    split = leave_last_out(data)
    timings["prepare"] = round(time.perf_counter() - started, 2)
    if len(split.users_eval) == 0:
        raise NotEnoughData("no shopper has 3 or more events; the holdout needs some")
    log(
        f"{len(data):,} shoppers, {len(split.users_eval):,} with a holdout; training on {config.to_dict()}"
    )

    started = time.perf_counter()
    model = fit(split, features, config, progress=progress)
    timings["train"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    eval_kw = {
        "max_len": config.max_len,
        "n_gap_buckets": config.n_gap_buckets,
        "item_counts": split.train.item_counts(),
    }
    rows = split.users_eval
    metrics = {
        "model": _metrics_row(
            evaluate(model, split.test_inputs, split.test_targets, rows, **eval_kw)
        )
    }
    baselines = {
        "popularity": Popularity(split.train, max_len=config.max_len),
        "item_transitions": ItemTransitions(split.train, max_len=config.max_len),
    }
    metrics["baselines"] = {
        name: _metrics_row(evaluate(b, split.test_inputs, split.test_targets, rows, **eval_kw))
        for name, b in baselines.items()
    }
    metrics["training"] = {
        k: v
        for k, v in model.metrics.items()
        if k in ("best_epoch", "epochs", "best_val_ndcg@10", "train_seconds")
    }
    timings["evaluate"] = round(time.perf_counter() - started, 2)
    log(
        f"holdout NDCG@10 {metrics['model']['ndcg@10']:.4f} (popularity {metrics['baselines']['popularity']['ndcg@10']:.4f},"
        f" item transitions {metrics['baselines']['item_transitions']['ndcg@10']:.4f})"
    )
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


# ------------------------------------------------------------------- scoring


def histories_for_users(
    user_ids: Iterable[int], *, max_len: int, last_event_ids: dict[int, int] | None = None
) -> dict[int, tuple[list, list, list]]:
    """Per user: (product ids, timestamps, event types) of the latest max_len events, oldest
    first. ``last_event_ids``, when given, receives each user's newest event id."""
    ids = list(user_ids)
    out: dict[int, tuple[list, list, list]] = {uid: ([], [], []) for uid in ids}
    rows = (
        Event.objects.filter(
            user_id__in=ids, product__isnull=False, event_type__in=TRAINING_EVENT_TYPES
        )
        .order_by("user_id", "-occurred_at", "-pk")
        .values_list("user_id", "product_id", "occurred_at", "event_type", "pk")
    )
    for user_id, product_id, occurred_at, event_type, pk in rows.iterator(chunk_size=10_000):
        if last_event_ids is not None and pk > last_event_ids.get(user_id, 0):
            last_event_ids[user_id] = pk
        items, times, types = out[user_id]
        if len(items) < max_len:
            items.append(product_id)
            times.append(occurred_at.timestamp())
            types.append(event_type)
    for items, times, types in out.values():
        items.reverse()
        times.reverse()
        types.reverse()
    return out


def session_history(session_id: str, *, max_len: int) -> tuple[list, list, list]:
    rows = list(
        Event.objects.filter(
            session_id=session_id,
            user__isnull=True,
            product__isnull=False,
            event_type__in=TRAINING_EVENT_TYPES,
        )
        .order_by("-occurred_at", "-pk")
        .values_list("product_id", "occurred_at", "event_type")[:max_len]
    )
    rows.reverse()
    return [r[0] for r in rows], [r[1].timestamp() for r in rows], [r[2] for r in rows]


def unavailable_product_ids() -> set[int]:
    """Products never to recommend: inactive or out of stock."""
    return set(Product.objects.filter(Q(is_active=False) | Q(stock=0)).values_list("pk", flat=True))


def latest_event_id(user_id: int) -> int | None:
    """The id of the shopper's newest event that a history includes."""
    return _history_events(user_id).aggregate(latest=Max("pk"))["latest"]


def latest_event_id_subquery(user_id) -> Subquery:
    """``latest_event_id`` as a subquery (``user_id`` may be an ``OuterRef``), so that
    a query of stored shopper rows reads it in the same round trip."""
    return Subquery(
        _history_events(user_id)
        .order_by()
        .values("user_id")
        .annotate(latest=Max("pk"))
        .values("latest")
    )


def _history_events(user_id):
    return Event.objects.filter(
        user_id=user_id, product__isnull=False, event_type__in=TRAINING_EVENT_TYPES
    )


def shopper_vectors(
    model, histories: list[tuple[list, list, list]]
) -> tuple[np.ndarray, list[list[int]], list[list[int]]]:
    """(users, dim) float32 vectors of histories, each one's latest products (newest
    first) and purchased products: what search re-ranking reads (UserRecommendation)."""
    if not histories:
        return np.zeros((0, 0), np.float32), [], []
    vectors = np.asarray(
        model.user_vectors(
            [h[0] for h in histories], [h[1] for h in histories], [h[2] for h in histories]
        ),
        dtype=np.float32,
    )
    recent = [list(dict.fromkeys(reversed(h[0])))[:RECENT_PRODUCTS] for h in histories]
    return vectors, recent, [purchased_products(h) for h in histories]


def purchased_products(history: tuple[list, list, list]) -> list[int]:
    """The distinct products a history's purchase events name, newest first."""
    items, _, types = history
    return list(
        dict.fromkeys(
            p for p, t in zip(reversed(items), reversed(types), strict=True) if t == "purchase"
        )
    )


# How many of a shopper's latest products a stored row keeps.
RECENT_PRODUCTS = 10


def score_histories(
    model, histories: list[tuple[list, list, list]], *, k: int, exclude: set[int]
) -> list[list[list]]:
    """Top-K for each history: [[product id, score, reason product id or None], ...]."""
    if not histories:
        return []
    items, scores, reasons = model.top_k(
        [h[0] for h in histories],
        k,
        timestamps=[h[1] for h in histories],
        events=[h[2] for h in histories],
        exclude_history=True,
        exclude_items=exclude,
    )
    out = []
    for row_items, row_scores, row_reasons in zip(items, scores, reasons, strict=True):
        out.append(
            [
                [int(pid), round(float(score), 5), int(reason) if reason is not None else None]
                for pid, score, reason in zip(row_items, row_scores, row_reasons, strict=False)
            ]
        )
    return out
