"""Training (`fit`), the trained model (`TrainedModel`) and its artifact directory."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .config import ModelConfig
from .data import (
    N_RESERVED,
    OOV,
    Batch,
    ItemFeatures,
    LeaveLastOutSplit,
    SequenceData,
    Vocabulary,
    gap_buckets,
)
from .metrics import evaluate
from .model import SequentialRecommender
from .scoring import Recommender, encode_histories, reasons_from_similarity

log = logging.getLogger(__name__)

ProgressCallback = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class DeviceInfo:
    """Where a model runs and with which speed-ups."""

    device: str
    mixed_precision: bool
    jit_compile: bool


def configure_device(config: ModelConfig) -> DeviceInfo:
    """Picks the GPU if one is visible (mixed precision and XLA by default), else the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            # Raises once the runtime is initialised; the current setting then stays.
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)
        try:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
        except Exception:  # details are optional
            name = ""
        device = f"GPU:0 ({name})" if name else "GPU:0"
    else:
        threads = os.cpu_count() or 1
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # the runtime was already initialised; defaults apply
            pass
        device = f"CPU ({threads} cores)"
    on_gpu = bool(gpus)
    mixed = config.mixed_precision == "on" or (config.mixed_precision == "auto" and on_gpu)
    jit = config.jit_compile == "on" or (config.jit_compile == "auto" and on_gpu)
    info = DeviceInfo(device=device, mixed_precision=mixed, jit_compile=jit)
    log.info("recommender training on %s (mixed precision %s, XLA %s)", device, mixed, jit)
    return info


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
        # NumPy's BLAS does this (users x dim) @ (dim x items) product ~2x faster than
        # TensorFlow's CPU kernel; TensorFlow's top-k is ~2x faster than argpartition.
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
        config = ModelConfig.from_dict(json.loads((path / "config.json").read_text()))
        vocab = json.loads((path / "vocab.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())
        sizes = dict(vocab["sizes"])
        sizes["mixed_precision"] = False  # inference in float32 wherever it runs
        model = SequentialRecommender(config.to_dict(), sizes, name="sequential_recommender")
        _build(model)
        model.load_weights(path / "model.keras")
        item_vocab = Vocabulary.from_json(vocab["items"])
        feats = vocab["features"]
        features = ItemFeatures(
            tokens=np.asarray(model.token_table.numpy()),
            attributes=np.asarray(model.attribute_table.numpy()),
            prices=np.asarray(model.price_table.numpy()),
            token_vocab=Vocabulary.from_json(feats["token_vocab"]),
            attribute_vocab=Vocabulary.from_json(feats["attribute_vocab"]),
            n_price_buckets=int(feats["n_price_buckets"]),
        )
        device = DeviceInfo(metrics.get("device", "CPU"), False, False)
        return cls(
            model,
            config,
            item_vocab,
            Vocabulary.from_json(vocab["events"]),
            features,
            metrics,
            device,
        )


def _without_seen(
    logits: tf.Tensor, items: tf.Tensor, targets: tf.Tensor, keep: tf.Tensor | None
) -> tf.Tensor:
    """`logits` (positions, items) with each position's earlier items pushed to -1e9.

    Row r of `logits` is position (b, t) of `items` (users, length), after
    `boolean_mask(keep)` when `keep` is given. The items at positions <= t of row b
    are masked, except the target itself (a repeat stays learnable). Static shapes
    (one scatter of positions x length entries), so it also compiles with XLA.
    """
    length = tf.shape(items)[1]
    upto = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)
    seen = tf.reshape(tf.where(upto[None], items[:, None, :], 0), [-1, length])
    if keep is not None:
        seen = tf.boolean_mask(seen, keep)
    seen = tf.where(seen == targets[:, None], 0, seen)
    rows = tf.broadcast_to(tf.range(tf.shape(seen)[0])[:, None], tf.shape(seen))
    index = tf.stack([tf.reshape(rows, [-1]), tf.reshape(seen, [-1])], axis=1)
    penalty = tf.where(tf.reshape(seen, [-1]) > 0, -1e9, 0.0)
    return tf.tensor_scatter_nd_add(logits, index, penalty)


def _build(model: SequentialRecommender) -> None:
    z = tf.zeros((1, 2), tf.int32)
    model((z, z, z), training=False)


def _padded(data: SequenceData, width: int, n_gap_buckets: int) -> Batch:
    rows = np.arange(len(data))
    return (
        data.batch(rows, width, n_gap_buckets)
        if len(data)
        else Batch(*(np.zeros((0, 1), np.int32),) * 3)
    )


def fit(
    split: LeaveLastOutSplit,
    features: ItemFeatures,
    config: ModelConfig,
    progress: ProgressCallback | None = None,
    progress_every: int = 50,
) -> TrainedModel:
    """Trains the transformer on `split.train`, early-stopping on validation NDCG@10.

    Every position of every training sequence predicts the next item (causal
    attention), with a cross-entropy over all items (`config.loss == "full"`) or
    over sampled negatives. Logits are computed only at non-padding positions.
    The weights of the best validation NDCG@10 (history excluded) are restored.

    Args:
        split: The leave-last-out split (`data.leave_last_out`).
        features: Item side features aligned with the item vocabulary.
        config: Hyperparameters.
        progress: Called with {"stage": "step"|"epoch", "epoch", "step", "steps",
            "loss", "val_ndcg@10", "best_val_ndcg@10", "elapsed"}; if it returns
            False, training stops (the best weights so far are kept). Raise from it
            to abort.
        progress_every: Steps between two "step" reports.

    Returns:
        The trained model; `metrics` hold the validation history, epochs,
        train_seconds and the device.
    """
    t_start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    device = configure_device(config)
    train = split.train
    item_vocab = train.item_vocab
    n_items = len(item_vocab)
    loss_kind = config.resolved_loss(n_items - N_RESERVED)
    counts = train.item_counts()
    id_table = np.arange(n_items, dtype=np.int32)
    # Items without training events keep no trained id embedding: use the OOV one.
    id_table[(counts == 0) & (id_table >= N_RESERVED)] = OOV
    id_table[:N_RESERVED] = np.arange(N_RESERVED)
    sizes = {
        "n_items": n_items,
        "n_tokens": len(features.token_vocab),
        "n_attributes": len(features.attribute_vocab),
        "n_prices": features.n_price_buckets,
        "n_events": len(train.event_vocab),
        "title_tokens": int(features.tokens.shape[1]),
        "attributes": int(features.attributes.shape[1]),
        "mixed_precision": device.mixed_precision,
    }
    model = SequentialRecommender(config.to_dict(), sizes, name="sequential_recommender")
    _build(model)
    model.id_table.assign(id_table)
    model.token_table.assign(features.tokens)
    model.attribute_table.assign(features.attributes)
    model.price_table.assign(features.prices)

    if config.weight_decay > 0:
        optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(config.learning_rate)
    if device.mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    variables = model.trainable_variables
    optimizer.build(variables)

    col_bias = np.zeros(n_items, np.float32)
    col_bias[:N_RESERVED] = -1e9
    col_bias = tf.constant(col_bias)
    sampler = tf.random.Generator.from_seed(config.seed)
    # Sampling distribution of negatives (and its logQ correction).
    q = (counts.astype(np.float64) + 1.0) ** config.sampling_alpha
    q[:N_RESERVED] = 0.0
    q /= q.sum()
    cdf = tf.constant(np.cumsum(q)[N_RESERVED:], tf.float32)
    log_q = tf.constant(np.log(np.maximum(q, 1e-30) * config.n_negatives), tf.float32)
    dense_positions = device.jit_compile  # XLA wants static shapes: no boolean_mask

    def loss_fn(items, events, gaps, targets):
        vecs = model.item_vectors(training=True)
        hidden = model.encode(items, events, gaps, vecs, training=True)
        flat_t = tf.reshape(targets, [-1])
        flat_h = tf.reshape(hidden, [-1, config.dim])
        if dense_positions:
            weight = tf.cast(flat_t > 0, tf.float32)
            y = flat_t
            h = flat_h
        else:
            keep = flat_t > 0
            y = tf.boolean_mask(flat_t, keep)
            h = tf.boolean_mask(flat_h, keep)
            weight = tf.ones_like(y, tf.float32)
        if loss_kind == "full":
            logits = tf.cast(tf.matmul(h, vecs, transpose_b=True), tf.float32) + col_bias
            if config.exclude_seen_in_loss:
                logits = _without_seen(logits, items, y, None if dense_positions else keep)
            labels = y
        else:
            if config.sampling_alpha:
                draw = sampler.uniform([config.n_negatives], 0.0, 1.0)
                negs = N_RESERVED + tf.minimum(
                    tf.searchsorted(cdf, draw, side="right"), n_items - N_RESERVED - 1
                )
            else:
                negs = sampler.uniform([config.n_negatives], N_RESERVED, n_items, dtype=tf.int32)
            pos = tf.reduce_sum(
                tf.cast(h, tf.float32) * tf.cast(tf.gather(vecs, y), tf.float32), -1
            )
            neg = tf.cast(tf.matmul(h, tf.gather(vecs, negs), transpose_b=True), tf.float32)
            if config.sampling_alpha:
                pos = pos - tf.gather(log_q, y)
                neg = neg - tf.gather(log_q, negs)[None, :]
            neg = tf.where(negs[None, :] == y[:, None], -1e9, neg)
            logits = tf.concat([pos[:, None], neg], axis=1)
            labels = tf.zeros_like(y)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return tf.reduce_sum(ce * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)

    spec = [tf.TensorSpec((None, None), tf.int32)] * 4

    @tf.function(
        input_signature=spec, jit_compile=device.jit_compile, reduce_retracing=True, autograph=False
    )
    def train_step(items, events, gaps, targets):
        with tf.GradientTape() as tape:
            loss = loss_fn(items, events, gaps, targets)
            scaled = optimizer.scale_loss(loss) if device.mixed_precision else loss
        grads = tape.gradient(scaled, variables)
        optimizer.apply(grads, variables)
        return loss

    # One (users, max_len + 1) matrix: inputs are columns [:-1], targets [1:].
    full = _padded(train, config.max_len + 1, config.n_gap_buckets)
    rows_train = np.flatnonzero(train.lengths() >= 2)
    rng = np.random.default_rng(config.seed)
    trained = TrainedModel(model, config, item_vocab, train.event_vocab, features, device=device)
    val_rows = split.users_eval
    history: list[dict[str, Any]] = []
    best, best_epoch, best_weights, waited = -1.0, 0, None, 0
    steps = int(np.ceil(len(rows_train) / config.batch_size))
    stop = False
    train_lengths = np.minimum(train.lengths()[rows_train], config.max_len + 1)
    for epoch in range(1, config.max_epochs + 1):
        # Batches of similar lengths (random within a length) in random order: most
        # histories are short, so most batches are narrow and cheap.
        order = rows_train[np.lexsort((rng.random(len(rows_train)), train_lengths))]
        batches = [
            order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)
        ]
        rng.shuffle(batches)
        t_epoch, losses = time.perf_counter(), []
        for step, idx in enumerate(batches):
            b_items = full.items[idx]
            used = np.flatnonzero(b_items.any(axis=0))
            first = used[0] if len(used) else b_items.shape[1] - 2
            first = min(first, b_items.shape[1] - 2)
            items = b_items[:, first:-1]
            targets = np.where(items > 0, b_items[:, first + 1 :], 0)
            loss = float(
                train_step(items, full.events[idx, first:-1], full.gaps[idx, first:-1], targets)
            )
            losses.append(loss)
            if progress is not None and (step + 1) % progress_every == 0:
                report = {
                    "stage": "step",
                    "epoch": epoch,
                    "step": step + 1,
                    "steps": steps,
                    "loss": loss,
                    "elapsed": time.perf_counter() - t_start,
                }
                if progress(report) is False:
                    stop = True
                    break
        train_time = time.perf_counter() - t_epoch
        record: dict[str, Any] = {
            "epoch": epoch,
            "loss": float(np.mean(losses)) if losses else 0.0,
            "epoch_seconds": train_time,
        }
        over_budget = (
            bool(config.max_train_seconds)
            and time.perf_counter() - t_start > config.max_train_seconds
        )
        last = stop or over_budget or epoch == config.max_epochs
        if epoch % config.eval_every == 0 or last:
            trained._item_vecs = None
            val = evaluate(
                trained,
                split.val_inputs,
                split.val_targets,
                val_rows,
                max_len=config.max_len,
                n_gap_buckets=config.n_gap_buckets,
                ks=(10,),
                modes=("history_excluded",),
                batch_size=config.eval_batch_size,
                with_top_k=False,
            )["history_excluded"]
            record["val_ndcg@10"] = val["ndcg@10"]
            record["val_hr@10"] = val["hr@10"]
            if val["ndcg@10"] > best:
                best, best_epoch, waited = val["ndcg@10"], epoch, 0
                best_weights = [v.numpy().copy() for v in model.weights]
            else:
                waited += 1
                if config.plateau_lr_factor < 1.0 and best_weights is not None:
                    for var, value in zip(model.weights, best_weights, strict=True):
                        var.assign(value)
                    lr = float(optimizer.learning_rate.numpy()) * config.plateau_lr_factor
                    optimizer.learning_rate = lr
                    record["learning_rate"] = lr
        record["elapsed"] = time.perf_counter() - t_start
        history.append(record)
        log.info("epoch %s %s", epoch, record)
        if progress is not None:
            report = {
                "stage": "epoch",
                "epoch": epoch,
                "step": steps,
                "steps": steps,
                "loss": record["loss"],
                "val_ndcg@10": record.get("val_ndcg@10"),
                "best_val_ndcg@10": best,
                "elapsed": record["elapsed"],
            }
            if progress(report) is False:
                stop = True
        if stop or last or waited >= config.patience:
            break
    if best_weights is not None:
        for var, value in zip(model.weights, best_weights, strict=True):
            var.assign(value)
    trained._item_vecs = None
    trained.metrics = {
        "best_epoch": best_epoch,
        "best_val_ndcg@10": best,
        "epochs": len(history),
        "history": history,
        "train_seconds": time.perf_counter() - t_start,
        "device": device.device,
        "loss": loss_kind,
        "mixed_precision": device.mixed_precision,
        "jit_compile": device.jit_compile,
    }
    return trained


__all__ = ["DeviceInfo", "TrainedModel", "configure_device", "fit", "gap_buckets"]
