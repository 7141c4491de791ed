"""Recommender core: arrays and a config in, arrays and metrics out (no Django).

Public API (internal ids: 0 = padding, 1 = out-of-vocabulary, items from 2):

Data
    Vocabulary(values)                         raw id <-> internal id
    build_sequence_data(user_ids, item_ids, timestamps=None, event_types=None,
                        item_vocab=None, event_vocab=None) -> SequenceData
        flat event rows, already in time order per user (never re-sorted)
    leave_last_out(data) -> LeaveLastOutSplit  test = last, validation = 2nd-to-last
    build_item_features(item_vocab, titles, attributes, price_buckets, ...) -> ItemFeatures

Transformer
    ModelConfig(...)                            frozen hyperparameters
    fit(split, features, config, progress=None) -> TrainedModel
        progress(dict) is called per N steps and per epoch; returning False stops
    TrainedModel.save(dir) / TrainedModel.load(dir)
    TrainedModel.top_k(histories, k, *, timestamps, events, exclude_history,
                       exclude_items, exclude_per_user) -> (item_ids, scores, reason_item_ids)
    TrainedModel.user_vectors(histories, timestamps=None, events=None) -> (users, dim)
    TrainedModel.item_vectors() -> (raw ids, (items, dim))
    TrainedModel.item_vector_for_new_item(title, attribute_ids, price_bucket) -> (dim,)

Baselines (same `top_k` and `score`; cold-start fallbacks)
    Popularity, RecentPopularity, ItemTransitions, TitleTfidf, Blend
    ItemTransitions.from_matrix(matrix, item_counts, item_vocab, event_vocab, params)

The served model (what the shop serves; the product and the benchmark make it alike)
    train_served(split, features, config, *, progress, log, quick) -> Selection
        tunes ItemTransitions and TitleTfidf, fits the transformer, serves the best on
        validation of transformer / transitions / ensemble / ensemble with content;
        Selection.candidates, Selection.served
    ServedModel(transformer, transitions, weights, ..., content)  kind, top_k,
        similar_scores(id), the transformer's vectors; ServedModel.save(dir) / .load(dir)

Evaluation
    evaluate(model, inputs, targets, rows, ...) -> {"history_excluded": {...}, "no_exclusion": {...}}
"""

import importlib

# The names load on first use (PEP 562): importing one light module of the package
# (its config, say) does not load TensorFlow, which the web processes never need.
_EXPORTS = {
    "ItemTransitions": "baselines",
    "Popularity": "baselines",
    "RecentPopularity": "baselines",
    "TitleTfidf": "baselines",
    "tune": "baselines",
    "ModelConfig": "config",
    "OOV": "data",
    "PAD": "data",
    "Batch": "data",
    "LeaveLastOutSplit": "data",
    "SequenceData": "data",
    "Vocabulary": "data",
    "build_sequence_data": "data",
    "leave_last_out": "data",
    "DeviceInfo": "device",
    "configure_device": "device",
    "ItemFeatures": "features",
    "build_item_features": "features",
    "tokenize": "features",
    "evaluate": "metrics",
    "hit_rate": "metrics",
    "mrr": "metrics",
    "ndcg": "metrics",
    "rank_metrics": "metrics",
    "ranks_from_scores": "metrics",
    "Blend": "scoring",
    "Recommender": "scoring",
    "encode_histories": "scoring",
    "Candidate": "selection",
    "Selection": "selection",
    "TunedTransitions": "selection",
    "train_served": "selection",
    "transitions_tune": "selection",
    "content_tune": "selection",
    "ServedModel": "served",
    "TrainedModel": "trained_model",
    "fit": "training",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "OOV",
    "PAD",
    "Batch",
    "Blend",
    "Candidate",
    "DeviceInfo",
    "ItemFeatures",
    "ItemTransitions",
    "LeaveLastOutSplit",
    "ModelConfig",
    "Popularity",
    "RecentPopularity",
    "Recommender",
    "Selection",
    "SequenceData",
    "ServedModel",
    "TitleTfidf",
    "TrainedModel",
    "TunedTransitions",
    "Vocabulary",
    "build_item_features",
    "build_sequence_data",
    "configure_device",
    "content_tune",
    "encode_histories",
    "evaluate",
    "fit",
    "hit_rate",
    "leave_last_out",
    "mrr",
    "ndcg",
    "rank_metrics",
    "ranks_from_scores",
    "tokenize",
    "train_served",
    "transitions_tune",
    "tune",
]
