"""`fit`: trains the sequential transformer on a leave-last-out split.

The pieces, kept apart as TensorFlow Recommenders keeps models and tasks apart:
the model (`model.py`), the next-item task and its negatives (`losses.py`,
`sampling.py`), the batches (`batching.py`), the loop (`loop.py`) and what runs
around it (`callbacks.py`). This module assembles them.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .batching import TrainingBatches, TrainingInputs
from .callbacks import (
    AnnealOnPlateau,
    EarlyStopping,
    History,
    ProgressCallback,
    ProgressReport,
    TimeBudget,
)
from .config import ModelConfig
from .data import N_RESERVED, OOV, LeaveLastOutSplit, SequenceData
from .device import DeviceInfo, configure_device
from .features import ItemFeatures, content_neighbours, item_neighbours
from .loop import Callback, LoopState, TrainStep, run_training_loop
from .losses import NextItemTask, reserved_items_bias
from .metrics import evaluate
from .model import SequentialRecommender, build_sequential_recommender
from .sampling import NegativeSampler
from .trained_model import TrainedModel


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
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    device = configure_device(config)
    train = split.train
    loss = config.resolved_loss(len(train.item_vocab) - N_RESERVED)
    item_counts = train.item_counts()
    model = _new_model(config, features, train, item_counts, device)
    optimizer = _optimizer(config, model, device)
    task = _next_item_task(config, loss, item_counts, device)
    train_step = _train_step(model, optimizer, task, device)
    if device.jit_compile:
        train_step = functools.partial(_padded_step, train_step, config)
    batches = TrainingBatches(train, config)
    trained = TrainedModel(
        model, config, train.item_vocab, train.event_vocab, features, device=device
    )
    validate = functools.partial(_validation_scores, trained, split, config)
    early_stopping = EarlyStopping(
        validate,
        model.weights,
        every=config.eval_every,
        patience=config.patience,
        min_improvement=config.min_improvement,
    )
    history = History()
    callbacks = _callbacks(config, early_stopping, optimizer, history, progress, progress_every)
    state = LoopState(config.max_epochs, batches.steps_per_epoch, started=started)
    run_training_loop(train_step, batches, callbacks, state)
    trained.forget_item_vectors()
    trained.metrics = _run_metrics(early_stopping, history, state, device, loss)
    return trained


def _run_metrics(
    early_stopping: EarlyStopping, history: History, state: LoopState, device: DeviceInfo, loss: str
) -> dict[str, Any]:
    """What a trained model records about its run (saved in its metrics.json)."""
    return {
        "best_epoch": early_stopping.best_epoch,
        "best_val_ndcg@10": early_stopping.best,
        "epochs": len(history.records),
        "history": history.records,
        "train_seconds": state.elapsed(),
        "device": device.device,
        "loss": loss,
        "mixed_precision": device.mixed_precision,
        "jit_compile": device.jit_compile,
    }


def _new_model(
    config: ModelConfig,
    features: ItemFeatures,
    train: SequenceData,
    item_counts: np.ndarray,
    device: DeviceInfo,
) -> SequentialRecommender:
    """A freshly initialised model holding the item tables it scores with."""
    sizes = {
        "n_items": len(train.item_vocab),
        "n_tokens": len(features.token_vocab),
        "n_attributes": len(features.attribute_vocab),
        "n_prices": features.n_price_buckets,
        "n_events": len(train.event_vocab),
        "title_tokens": int(features.tokens.shape[1]),
        "attributes": int(features.attributes.shape[1]),
        "neighbours": config.n_neighbours + config.n_content_neighbours,
        "mixed_precision": device.mixed_precision,
        "jit_compile": device.jit_compile,
    }
    model = build_sequential_recommender(config, sizes)
    model.id_table.assign(item_id_table(item_counts))
    model.token_table.assign(features.tokens)
    model.attribute_table.assign(features.attributes)
    model.price_table.assign(features.prices)
    if model.neighbour_table is not None:
        behaviour = item_neighbours(
            train.items, len(train.item_vocab), config.n_neighbours, config.neighbour_window
        )
        text = features.text_only(config.use_titles, config.use_attributes)
        content = content_neighbours(text, config.n_content_neighbours)
        model.neighbour_table.assign(np.concatenate([behaviour, content], axis=1))
    return model


def item_id_table(item_counts: np.ndarray) -> np.ndarray:
    """Internal item id -> row of the id embedding.

    Items without training events keep no trained id embedding: they use the OOV one.
    """
    table = np.arange(len(item_counts), dtype=np.int32)
    table[(item_counts == 0) & (table >= N_RESERVED)] = OOV
    table[:N_RESERVED] = np.arange(N_RESERVED)
    return table


def _optimizer(
    config: ModelConfig, model: SequentialRecommender, device: DeviceInfo
) -> keras.optimizers.Optimizer:
    if config.weight_decay > 0:
        optimizer = keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    else:
        optimizer = keras.optimizers.Adam(config.learning_rate)
    if device.mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(model.trainable_variables)
    return optimizer


def _next_item_task(
    config: ModelConfig, loss: str, item_counts: np.ndarray, device: DeviceInfo
) -> NextItemTask:
    sampler = None
    if loss == "sampled":
        sampler = NegativeSampler(
            item_counts, config.n_negatives, config.sampling_alpha, config.seed
        )
    return NextItemTask(
        loss,
        column_bias=reserved_items_bias(len(item_counts)),
        exclude_seen=config.exclude_seen_in_loss,
        sampler=sampler,
        dense_positions=device.jit_compile,  # XLA wants static shapes: no boolean_mask
    )


def _train_step(
    model: SequentialRecommender,
    optimizer: keras.optimizers.Optimizer,
    task: NextItemTask,
    device: DeviceInfo,
) -> TrainStep:
    """One compiled optimisation step on (items, events, gaps, targets); returns the loss."""
    variables = model.trainable_variables
    spec = [tf.TensorSpec((None, None), tf.int32)] * 4

    @tf.function(
        input_signature=spec, jit_compile=device.jit_compile, reduce_retracing=True, autograph=False
    )
    def train_step(items, events, gaps, targets):
        with tf.GradientTape() as tape:
            item_vectors = model.item_vectors(training=True)
            hidden = model.encode(items, events, gaps, item_vectors, training=True)
            loss = task(hidden, item_vectors, items, targets)
            scaled = optimizer.scale_loss(loss) if device.mixed_precision else loss
        gradients = tape.gradient(scaled, variables)
        # A side feature turned off (use_titles=False, ...) leaves its table without a
        # gradient; it is left out rather than warned about at every run.
        used = [(g, v) for g, v in zip(gradients, variables, strict=True) if g is not None]
        optimizer.apply([g for g, _ in used], [v for _, v in used])
        return loss

    return train_step


def _padded_step(train_step: TrainStep, config: ModelConfig, *inputs: np.ndarray) -> Any:
    """`train_step` on inputs padded to one of a few shapes (see `pad_for_xla`)."""
    return train_step(*pad_for_xla(TrainingInputs(*inputs), config.batch_size, config.max_len))


def pad_for_xla(inputs: TrainingInputs, batch_size: int, max_len: int) -> TrainingInputs:
    """Inputs padded to `batch_size` rows and a power-of-two width (at least 8, at most max_len).

    XLA compiles a step for every input shape it meets, and batches are as wide as
    their longest history: Beauty's epoch has 20 shapes. Padding (left columns,
    bottom rows, all 0) changes no loss, since padding positions weigh 0.
    """
    rows, width = inputs.items.shape
    padded_width = max(width, min(max_len, max(8, 1 << (width - 1).bit_length())))
    pad = ((0, max(batch_size - rows, 0)), (padded_width - width, 0))
    return TrainingInputs(*(np.pad(array, pad) for array in inputs))


def _validation_scores(
    trained: TrainedModel, split: LeaveLastOutSplit, config: ModelConfig
) -> dict[str, float]:
    """Validation NDCG@10 and HR@10 (history excluded) of the current weights."""
    trained.forget_item_vectors()
    scores = evaluate(
        trained,
        split.val_inputs,
        split.val_targets,
        split.users_eval,
        **config.history_encoding(),
        ks=(10,),
        modes=("history_excluded",),
        batch_size=config.eval_batch_size,
        with_top_k=False,
    )["history_excluded"]
    return {"val_ndcg@10": scores["ndcg@10"], "val_hr@10": scores["hr@10"]}


def _callbacks(
    config: ModelConfig,
    early_stopping: EarlyStopping,
    optimizer: keras.optimizers.Optimizer,
    history: History,
    progress: ProgressCallback | None,
    progress_every: int,
) -> list[Callback]:
    """The callbacks in the order they must run (see `callbacks.py`)."""
    callbacks: list[Callback] = [TimeBudget(config.max_train_seconds), early_stopping]
    if config.plateau_lr_factor < 1.0:
        callbacks.append(AnnealOnPlateau(early_stopping, optimizer, config.plateau_lr_factor))
    callbacks.append(history)
    if progress is not None:
        callbacks.append(ProgressReport(progress, progress_every, early_stopping))
    return callbacks
