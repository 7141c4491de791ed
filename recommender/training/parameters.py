"""The parameters a training run may be started with, and the checks no single field
can make: one table that the staff API's serializer and the training dashboard's form
both build their fields from, so the two accept exactly the same runs.

The model parameters mirror recommender.ml.ModelConfig (tests check the names and
defaults stay in step). ModelConfig is not imported here: recommender.ml loads
TensorFlow, which web processes do not otherwise need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: its kind ("int", "float", "bool" or "choice"), ModelConfig's
    default, inclusive bounds (numbers) or (value, label) choices, and a help line."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""


def _int(name: str, low: int, high: int, default: int, help: str = "") -> ParameterSpec:
    return ParameterSpec(name, "int", default, low, high, help=help)


def _float(name: str, low: float, high: float, default: float, help: str = "") -> ParameterSpec:
    return ParameterSpec(name, "float", default, low, high, help=help)


def _bool(name: str, default: bool, help: str = "") -> ParameterSpec:
    return ParameterSpec(name, "bool", default, help=help)


def _choice(name: str, choices: tuple[tuple[str, str], ...], default: str, help: str = ""):
    return ParameterSpec(name, "choice", default, choices=choices, help=help)


def _same(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((value, value) for value in values)


def _switch(auto: str) -> tuple[tuple[str, str], ...]:
    """auto / on / off, with what auto means (the labels also keep the two switches'
    enums apart in the API schema)."""
    return (("auto", auto), ("on", "on"), ("off", "off"))


MODEL_PARAMETER_SPECS = (
    _int("max_len", 1, 1000, 50, "Latest events of a shopper the model reads."),
    _int("dim", 4, 2048, 128, "Width of the embeddings and the transformer."),
    _int("n_blocks", 1, 16, 2, "Transformer blocks."),
    _int("n_heads", 1, 32, 1, "Attention heads (must divide dim)."),
    _float("dropout", 0.0, 0.95, 0.5),
    _float("attention_dropout", 0.0, 0.95, 0.2),
    _float("learning_rate", 1e-7, 1.0, 1e-3),
    _int("batch_size", 1, 65536, 256),
    _int("max_epochs", 1, 10000, 200, "Epochs at most (early stopping usually ends sooner)."),
    _int("patience", 1, 1000, 4, "Validations without a real gain before training stops."),
    _float(
        "min_improvement",
        0.0,
        1.0,
        0.002,
        "Relative gain in validation NDCG@10 that counts as progress (0.002 = 0.2%).",
    ),
    _int("eval_every", 1, 1000, 1, "Epochs between two validations."),
    _float("plateau_lr_factor", 1e-6, 1.0, 0.3),
    _float(
        "max_train_seconds",
        0.0,
        7 * 24 * 3600.0,
        1500.0,
        "Time cap of the transformer's training in seconds (0: none).",
    ),
    _choice("loss", _same("auto", "full", "sampled"), "auto"),
    _bool("exclude_seen_in_loss", True),
    _int("n_negatives", 1, 1_000_000, 2048),
    _float("sampling_alpha", 0.0, 2.0, 0.75),
    _bool("use_titles", True),
    _bool("use_attributes", True),
    _bool("use_price", True),
    _bool("use_events", True),
    _bool("use_time_gaps", True),
    _int("max_title_tokens", 1, 256, 16),
    _int("max_attributes", 1, 256, 8),
    _int("min_token_count", 1, 100_000, 2),
    _int("n_gap_buckets", 3, 256, 16),
    _float("id_dropout", 0.0, 0.95, 0.0),
    _int(
        "n_neighbours",
        0,
        256,
        10,
        "Items most often near an item whose ids join its vector (0: none).",
    ),
    _int("neighbour_window", 1, 50, 3, "Steps apart within which items count as neighbours."),
    _int(
        "n_content_neighbours",
        0,
        256,
        10,
        "Items described most alike (title, brand, category) added to the neighbours.",
    ),
    _float("weight_decay", 0.0, 1.0, 0.0),
    _int("seed", 0, 2**31 - 1, 42),
    _choice("mixed_precision", _switch("float16 on a GPU only"), "auto"),
    _choice("jit_compile", _switch("XLA on a GPU only"), "auto"),
    _int("eval_batch_size", 1, 1_000_000, 1024),
)
RUN_OPTION_SPECS = (
    _choice(
        "activate",
        (
            ("if_better", "if it beats the active version"),
            ("always", "always"),
            ("never", "never"),
        ),
        "if_better",
        "Activate the new version if it beats the active one, always, or never.",
    ),
    _bool("include_sessions", True, "Train on anonymous sessions' events too."),
)
MODEL_PARAMETER_DEFAULTS = {spec.name: spec.default for spec in MODEL_PARAMETER_SPECS}
PARAMETER_SPECS = {spec.name: spec for spec in (*RUN_OPTION_SPECS, *MODEL_PARAMETER_SPECS)}


def training_parameters_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a run's parameters beyond each field's own type and bounds:
    names that are no parameter, and combinations the model refuses. Field name ->
    messages; empty when the parameters may start a run."""
    errors: dict[str, list[str]] = {
        name: ["not a training parameter"] for name in sorted(set(values) - set(PARAMETER_SPECS))
    }
    dim = values.get("dim", MODEL_PARAMETER_DEFAULTS["dim"])
    heads = values.get("n_heads", MODEL_PARAMETER_DEFAULTS["n_heads"])
    if isinstance(dim, int) and isinstance(heads, int) and heads and dim % heads:
        errors.setdefault("n_heads", []).append(f"must divide dim ({dim})")
    return errors
