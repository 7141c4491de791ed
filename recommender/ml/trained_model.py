"""The trained transformer (`TrainedModel`): vectors, top-K scoring and its artifact directory."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from .config import ModelConfig
from .data import N_RESERVED, OOV, Batch, Vocabulary
from .device import DeviceInfo
from .features import ItemFeatures
from .model import SequentialRecommender, build_sequential_recommender
from .scoring import Recommender, encode_histories, reasons_from_similarity


class TrainedModel(Recommender):
    """A trained transformer with its vocabularies, features, config and metrics.

    Use `top_k` (from `Recommender`) for recommendations with masks and reasons.
    """

    name = "sasrec"
    kind = "transformer"

    def __init__(
        self,
        model: SequentialRecommender,
        config: ModelConfig,
        item_vocab: Vocabulary,
        event_vocab: Vocabulary,
        features: ItemFeatures,
        metrics: dict[str, Any] | None = None,
        device: DeviceInfo | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.item_vocab = item_vocab
        self.event_vocab = event_vocab
        self.features = features
        self.metrics = metrics or {}
        self.device = device or DeviceInfo("CPU", False, False)
        self.max_len = config.max_len
        self.n_gap_buckets = config.n_gap_buckets
        self._item_vecs: np.ndarray | None = None
        self._item_vecs_t: np.ndarray | None = None
        self._user_fn = tf.function(
            self._user_vectors_graph,
            input_signature=[tf.TensorSpec((None, None), tf.int32)] * 3
            + [tf.TensorSpec((None, None), tf.float32)],
            reduce_retracing=True,
            autograph=False,
        )

    def _user_vectors_graph(
        self, items: tf.Tensor, events: tf.Tensor, gaps: tf.Tensor, vecs: tf.Tensor
    ) -> tf.Tensor:
        # The cached item vectors are passed in, so scoring does not re-run the tower.
        vecs = tf.cast(vecs, self.model.compute_dtype)
        hidden = self.model.encode(items, events, gaps, vecs, training=False, last_only=True)
        return tf.cast(hidden[:, -1, :], tf.float32)

    def masked_top_k(
        self, batch: Batch, bias: np.ndarray, where: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        # NumPy's BLAS beats TensorFlow's CPU kernel on this product; TensorFlow's
        # top-k beats np.argpartition.
        scores = self.score(batch)
        scores += bias[None, :]
        if len(where):
            scores[where[:, 0], where[:, 1]] = -np.inf
        best = tf.math.top_k(scores, k=k, sorted=True)
        return best.indices.numpy(), best.values.numpy()

    # -- vectors ---------------------------------------------------------------
    def item_vectors_internal(self) -> np.ndarray:
        """(n_items, dim) float32 item vectors indexed by internal id (cached)."""
        if self._item_vecs is None:
            self._item_vecs = np.asarray(
                tf.cast(self.model.item_vectors(training=False), tf.float32)
            )
            self._item_vecs_t = None
        return self._item_vecs

    def forget_item_vectors(self) -> None:
        """Drops the cached item vectors; call it after the weights change."""
        self._item_vecs = None

    def item_vectors(self) -> tuple[list[Any], np.ndarray]:
        """(raw item ids, (n, dim) vectors) of every catalogue item."""
        return list(self.item_vocab.values), self.item_vectors_internal()[N_RESERVED:]

    def user_vectors_batch(self, batch: Batch) -> np.ndarray:
        return self._user_fn(
            batch.items, batch.events, batch.gaps, self.item_vectors_internal()
        ).numpy()

    def user_vectors(
        self,
        histories: Sequence[Sequence[Any]],
        timestamps: Sequence[Sequence[float]] | None = None,
        events: Sequence[Sequence[Any]] | None = None,
    ) -> np.ndarray:
        """(users, dim) vectors of raw histories; item scores are dot products with item vectors."""
        data = encode_histories(histories, self.item_vocab, self.event_vocab, timestamps, events)
        out = []
        for start in range(0, len(data), self.config.eval_batch_size):
            rows = np.arange(start, min(start + self.config.eval_batch_size, len(data)))
            out.append(self.user_vectors_batch(data.batch(rows, self.max_len, self.n_gap_buckets)))
        return np.concatenate(out) if out else np.zeros((0, self.config.dim), np.float32)

    def item_vector_for_new_item(
        self, title: str | None, attribute_ids: Sequence[Any] = (), price_bucket: int | None = None
    ) -> np.ndarray:
        """Vector of a product the model has never seen (OOV id + its side features)."""
        tokens, attrs, price = self.features.encode_item(title, attribute_ids, price_bucket)
        vec = self.model.tower(
            tf.constant([OOV], tf.int32),
            tf.constant(tokens[None]),
            tf.constant(attrs[None]),
            tf.constant([price], tf.int32),
            training=False,
        )
        return np.asarray(tf.cast(vec, tf.float32))[0]

    # -- scoring -----------------------------------------------------------------
    def score(self, batch: Batch) -> np.ndarray:
        vecs = self.item_vectors_internal()
        if self._item_vecs_t is None:
            self._item_vecs_t = np.ascontiguousarray(vecs.T)
        users = self._user_fn(batch.items, batch.events, batch.gaps, vecs).numpy()
        return users @ self._item_vecs_t

    def reasons(self, batch: Batch, recommended: np.ndarray) -> np.ndarray:
        """Reason = history item whose vector has the largest dot product with the recommendation."""
        vecs = self.item_vectors_internal()

        def sim(hist: np.ndarray, rec: np.ndarray) -> np.ndarray:
            return np.einsum("ukd,umd->ukm", vecs[rec], vecs[hist])

        return reasons_from_similarity(batch.items, recommended, sim)

    # -- artifact -----------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Writes model.keras, vocab.json, config.json and metrics.json into `directory`."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(path / "model.keras")
        vocab = {
            "items": self.item_vocab.to_json(),
            "events": self.event_vocab.to_json(),
            "features": self.features.to_json(),
            "sizes": self.model.sizes,
        }
        (path / "vocab.json").write_text(json.dumps(vocab))
        (path / "config.json").write_text(self.config.to_json())
        metrics = dict(self.metrics)
        metrics.setdefault("device", self.device.device)
        metrics.setdefault("mixed_precision", self.device.mixed_precision)
        metrics.setdefault("jit_compile", self.device.jit_compile)
        (path / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> TrainedModel:
        """Rebuilds a model saved by `save`; it scores exactly as the saved one."""
        path = Path(directory)
        config = ModelConfig.from_saved(json.loads((path / "config.json").read_text()))
        vocab = json.loads((path / "vocab.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())
        sizes = dict(vocab["sizes"])
        sizes["mixed_precision"] = False  # inference in float32 wherever it runs
        model = build_sequential_recommender(config, sizes)
        model.load_weights(path / "model.keras")
        return cls(
            model,
            config,
            Vocabulary.from_json(vocab["items"]),
            Vocabulary.from_json(vocab["events"]),
            _features_of(model, vocab["features"]),
            metrics,
            DeviceInfo(metrics.get("device", "CPU"), False, False),
        )


def _features_of(model: SequentialRecommender, vocabularies: dict[str, Any]) -> ItemFeatures:
    """The item features a loaded model holds in its tables, with their saved vocabularies."""
    return ItemFeatures(
        tokens=np.asarray(model.token_table.numpy()),
        attributes=np.asarray(model.attribute_table.numpy()),
        prices=np.asarray(model.price_table.numpy()),
        token_vocab=Vocabulary.from_json(vocabularies["token_vocab"]),
        attribute_vocab=Vocabulary.from_json(vocabularies["attribute_vocab"]),
        n_price_buckets=int(vocabularies["n_price_buckets"]),
    )
