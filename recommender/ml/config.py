"""The one frozen hyperparameter record of the recommender core.

A `ModelConfig` is passed explicitly to every function that needs it and is saved
next to the trained weights, so an artifact always says how it was made.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

# Up to this many items, loss="auto" trains with the full softmax.
FULL_SOFTMAX_MAX_ITEMS = 50_000


# What a saved config without these fields was trained with: they came later, off.
BEFORE_FIELDS: dict[str, Any] = {"n_neighbours": 0, "n_content_neighbours": 0}


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of the sequential transformer and of its training.

    Attributes:
        max_len: Number of most recent events the model reads per user.
        dim: Width of item vectors and of the transformer.
        n_blocks: Number of causal self-attention blocks.
        n_heads: Attention heads per block.
        dropout: Dropout on embeddings, attention outputs and feed-forward outputs.
        attention_dropout: Dropout on the attention weights.
        learning_rate: Adam learning rate.
        batch_size: Users per training step.
        max_epochs: Upper bound on epochs; early stopping usually ends sooner.
        patience: Evaluations without a real gain in validation NDCG@10 before stopping.
        min_improvement: A validation NDCG@10 counts as a gain when it beats the
            best so far by more than this fraction (0.002 = 0.2%); a smaller gain
            still keeps its weights as the best, but counts towards `patience` and
            anneals. Without it, annealing's gains of 0.0001 an epoch kept Beauty's
            training going for 10 more epochs (8 minutes on a 2-core CPU) for less
            than 0.0001 in all (docs/ml.md).
        eval_every: Epochs between two validation evaluations.
        plateau_lr_factor: When a validation evaluation brings no real gain (see
            `min_improvement`), training goes on from the best weights with the
            learning rate multiplied by this factor (annealing from the best point).
            1.0 keeps going from the current weights at the same rate (plain early
            stopping). `patience` still counts every evaluation without a real gain.
        max_train_seconds: Wall-clock budget of `fit`; training stops (and keeps the
            best weights) when it is spent. 0 means no budget.
        loss: "full" (cross-entropy over every item), "sampled" (cross-entropy over
            the target and `n_negatives` sampled items, shared by the batch) or "auto":
            full up to FULL_SOFTMAX_MAX_ITEMS catalogue items, sampled above (measured
            on Amazon Beauty, 12,101 items, dim 128: full gave validation NDCG@10
            0.0683 against 0.0675 for 4,096 sampled negatives, at the same ~12 s per
            epoch; the cost of the full softmax grows with the catalogue).
        exclude_seen_in_loss: With the full softmax, the items a user has already had
            up to a position (except the target itself) are left out of that
            position's softmax, as they are left out of every ranking the model
            serves (history excluded); the model then spends no capacity pushing
            them down.
        n_negatives: Negatives per step for the sampled loss.
        sampling_alpha: Negatives are drawn with probability proportional to
            (training count + 1) ** sampling_alpha (0 = uniform), with the logQ
            correction so the loss still estimates the full softmax.
        use_titles / use_attributes / use_price: Which side features the item tower fuses.
        use_events / use_time_gaps: Which per-event embeddings are added to the input.
        max_title_tokens: Title tokens kept per item (first occurrences).
        max_attributes: Attribute ids kept per item.
        min_token_count: Title tokens that occur in fewer items are dropped.
        n_gap_buckets: Buckets of the log2(days) gap embedding (0 = padding,
            1 = first event or unknown, 2 = same day, 3.. = log2 of the gap in days).
        id_dropout: Probability, per item and step, of replacing an item's id embedding
            by the out-of-vocabulary one; it trains the tower for unseen items.
        n_neighbours: With > 0, each item's vector also adds the mean id embedding of
            the items most often near it in the training sequences (that many,
            `features.item_neighbours`); 0 = none (the table stays while
            `n_content_neighbours` > 0). 10 by default: on Beauty (3 seeds) the
            transformer's validation NDCG@10 rose 0.9% and its test 1.4%; without titles
            (seed 42) 2.0% / 4.3%; on amazon_scientific it was even (docs/ml.md).
        neighbour_window: Steps apart within which two items count as neighbours.
        n_content_neighbours: With > 0, the neighbours also hold that many items whose
            titles and attributes are most alike (`features.content_neighbours`; only
            the text `use_titles` / `use_attributes` allow). 10 by default: the
            transformer's validation NDCG@10 rose 5% on Beauty (3 seeds; test 7%) and
            3% on amazon_scientific (20 gave less there; docs/ml.md).
        weight_decay: Decoupled weight decay (AdamW) if > 0.
        seed: Seed of every random generator used by training.
        mixed_precision: "auto" (float16 on a GPU only), "on" or "off".
        jit_compile: "auto" (XLA on a GPU only), "on" or "off".
        eval_batch_size: Users per scoring batch.
    """

    max_len: int = 50
    dim: int = 128
    n_blocks: int = 2
    n_heads: int = 1
    dropout: float = 0.5
    attention_dropout: float = 0.2
    learning_rate: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 4
    min_improvement: float = 0.002
    eval_every: int = 1
    plateau_lr_factor: float = 0.3
    max_train_seconds: float = 1500.0
    loss: str = "auto"
    exclude_seen_in_loss: bool = True
    n_negatives: int = 2048
    sampling_alpha: float = 0.75
    use_titles: bool = True
    use_attributes: bool = True
    use_price: bool = True
    use_events: bool = True
    use_time_gaps: bool = True
    max_title_tokens: int = 16
    max_attributes: int = 8
    min_token_count: int = 2
    n_gap_buckets: int = 16
    id_dropout: float = 0.0
    n_neighbours: int = 10
    neighbour_window: int = 3
    n_content_neighbours: int = 10
    weight_decay: float = 0.0
    seed: int = 42
    mixed_precision: str = "auto"
    jit_compile: str = "auto"
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        if self.loss not in ("auto", "full", "sampled"):
            raise ValueError(f"loss must be 'auto', 'full' or 'sampled', not {self.loss!r}")
        if not 0.0 < self.plateau_lr_factor <= 1.0:
            raise ValueError("plateau_lr_factor must be in (0, 1]")
        if self.min_improvement < 0:
            raise ValueError("min_improvement must be >= 0")
        if self.dim % self.n_heads:
            raise ValueError("dim must be divisible by n_heads")
        if self.n_neighbours < 0 or self.neighbour_window < 1 or self.n_content_neighbours < 0:
            raise ValueError(
                "n_neighbours and n_content_neighbours must be >= 0 and neighbour_window >= 1"
            )
        for name in ("mixed_precision", "jit_compile"):
            if getattr(self, name) not in ("auto", "on", "off"):
                raise ValueError(f"{name} must be 'auto', 'on' or 'off'")

    def resolved_loss(self, n_items: int) -> str:
        """The loss "auto" stands for with a catalogue of `n_items` items."""
        if self.loss != "auto":
            return self.loss
        return "full" if n_items <= FULL_SOFTMAX_MAX_ITEMS else "sampled"

    def history_encoding(self) -> dict[str, int]:
        """How a history is encoded for scoring: the keyword arguments `evaluate` takes."""
        return {"max_len": self.max_len, "n_gap_buckets": self.n_gap_buckets}

    def replace(self, **changes: Any) -> ModelConfig:
        """Returns a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Builds a config from some fields (the rest default), ignoring keys this
        version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_saved(cls, values: dict[str, Any]) -> ModelConfig:
        """The config an artifact was trained with (`to_dict` of its day): a field it
        does not hold came later and was off then (BEFORE_FIELDS), whatever today's
        default."""
        return cls.from_dict({**BEFORE_FIELDS, **values})
