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
        tunes ItemTransitions, fits the transformer, serves the best on validation of
        transformer / transitions / ensemble; Selection.candidates, Selection.served
    ServedModel(transformer, transitions, weights)  kind, top_k, similar_scores(id),
        the transformer's vectors; ServedModel.save(dir) / ServedModel.load(dir)

Evaluation
    evaluate(model, inputs, targets, rows, ...) -> {"history_excluded": {...}, "no_exclusion": {...}}
"""

from .baselines import ItemTransitions, Popularity, RecentPopularity, TitleTfidf, tune
from .config import ModelConfig
from .data import (
    OOV,
    PAD,
    Batch,
    LeaveLastOutSplit,
    SequenceData,
    Vocabulary,
    build_sequence_data,
    leave_last_out,
)
from .device import DeviceInfo, configure_device
from .features import ItemFeatures, build_item_features, tokenize
from .metrics import evaluate, hit_rate, mrr, ndcg, rank_metrics, ranks_from_scores
from .scoring import Blend, Recommender, encode_histories
from .selection import Candidate, Selection, TunedTransitions, train_served, transitions_tune
from .served import ServedModel
from .trained_model import TrainedModel
from .training import fit

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
