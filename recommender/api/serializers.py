"""Serializers of the recommender's staff endpoints: model versions (with the
candidates and baselines the admin's version page shows), training runs, and the
parameters a run may be started with."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recommender.models import ModelVersion, TrainingRun

# ---------------------------------------------------------------------------- versions

METRIC_FIELDS = {  # response field -> key in a version's metrics rows
    "hr_at_10": "hr@10",
    "ndcg_at_10": "ndcg@10",
    "hr_at_20": "hr@20",
    "ndcg_at_20": "ndcg@20",
    "mrr": "mrr",
    "coverage_at_10": "coverage@10",
}
SEGMENTS = ("cold", "warm", "hot")


class MetricRowSerializer(serializers.Serializer):
    """One row of a version's holdout table (time-ordered leave-last-out, history
    excluded); null where a figure was not measured."""

    name = serializers.CharField()
    kind = serializers.CharField(help_text="transformer, transitions, ensemble or baseline.")
    served = serializers.BooleanField(help_text="The candidate this version serves.")
    validation_ndcg_at_10 = serializers.FloatField(allow_null=True)
    hr_at_10 = serializers.FloatField(allow_null=True)
    ndcg_at_10 = serializers.FloatField(allow_null=True)
    hr_at_20 = serializers.FloatField(allow_null=True)
    ndcg_at_20 = serializers.FloatField(allow_null=True)
    mrr = serializers.FloatField(allow_null=True)
    coverage_at_10 = serializers.FloatField(allow_null=True)
    ndcg_at_10_by_segment = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="NDCG@10 of cold, warm and hot shoppers.",
    )


def _metric_row(name: str, kind: str, served: bool, metrics: dict) -> dict:
    segments = metrics.get("segments") or {}
    return {
        "name": name,
        "kind": kind,
        "served": served,
        "validation_ndcg_at_10": metrics.get("validation_ndcg@10"),
        **{field: metrics.get(key) for field, key in METRIC_FIELDS.items()},
        "ndcg_at_10_by_segment": {s: (segments.get(s) or {}).get("ndcg@10") for s in SEGMENTS},
    }


def candidate_rows(metrics: dict) -> list[dict]:
    """Every candidate of the run, the served one marked; a version trained before
    candidates existed has one row: the transformer it served (as the admin shows)."""
    candidates = metrics.get("candidates")
    if candidates:
        return [
            _metric_row(name, row.get("kind", ""), bool(row.get("served")), row)
            for name, row in candidates.items()
        ]
    return [_metric_row("model", "transformer", True, metrics.get("model") or {})]


def baseline_rows(metrics: dict) -> list[dict]:
    """The untuned baselines; one named like a candidate is called "(untuned)"."""
    candidates = metrics.get("candidates") or {}
    return [
        _metric_row(f"{name} (untuned)" if name in candidates else name, "baseline", False, row)
        for name, row in (metrics.get("baselines") or {}).items()
    ]


class ModelVersionSerializer(serializers.ModelSerializer):
    served_kind = serializers.SerializerMethodField(
        help_text="The served candidate's name (sasrec_fused for versions before candidates)."
    )
    best_baseline_ndcg_at_10 = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "run",
            "is_active",
            "served_kind",
            "holdout_ndcg",
            "best_baseline_ndcg_at_10",
            "event_count",
            "user_count",
            "item_count",
            "data_cutoff",
            "device",
            "created_at",
            "activated_at",
            "refused_reason",
        ]
        read_only_fields = fields

    def get_served_kind(self, version: ModelVersion) -> str:
        model = version.metrics.get("model") or {}
        return model.get("name") or ("sasrec_fused" if model else "")

    def get_best_baseline_ndcg_at_10(self, version: ModelVersion) -> float | None:
        values = [
            row.get("ndcg@10") or 0.0 for row in (version.metrics.get("baselines") or {}).values()
        ]
        return max(values) if values else None


class ModelVersionDetailSerializer(ModelVersionSerializer):
    candidates = serializers.SerializerMethodField()
    baselines = serializers.SerializerMethodField()

    class Meta(ModelVersionSerializer.Meta):
        fields = [
            *ModelVersionSerializer.Meta.fields,
            "config",
            "metrics",
            "candidates",
            "baselines",
        ]
        read_only_fields = fields

    @extend_schema_field(MetricRowSerializer(many=True))
    def get_candidates(self, version: ModelVersion) -> list[dict]:
        return candidate_rows(version.metrics)

    @extend_schema_field(MetricRowSerializer(many=True))
    def get_baselines(self, version: ModelVersion) -> list[dict]:
        return baseline_rows(version.metrics)


# -------------------------------------------------------------------------- training runs


class TrainingRunSerializer(serializers.ModelSerializer):
    model_version = serializers.SerializerMethodField(
        help_text="The version this run registered, if it did."
    )
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "is_finished",
            "trigger",
            "parameters",
            "requested_by",
            "cancel_requested",
            "epoch",
            "step",
            "loss",
            "validation_ndcg",
            "device",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "duration_seconds",
            "model_version",
        ]
        read_only_fields = fields

    def get_model_version(self, run: TrainingRun) -> int | None:
        version = getattr(run, "model_version", None)
        return version.pk if version is not None else None


class TrainingRunDetailSerializer(TrainingRunSerializer):
    log = serializers.SerializerMethodField(help_text="The last lines the run logged.")

    class Meta(TrainingRunSerializer.Meta):
        fields = [*TrainingRunSerializer.Meta.fields, "log", "error", "timings"]
        read_only_fields = fields

    def get_log(self, run: TrainingRun) -> list[str]:
        return run.log_tail.splitlines()


# The model parameters a run may override, each with its type, bounds and the default
# of recommender.ml.ModelConfig (tests check both stay in step with ModelConfig; it is
# not imported here, because recommender.ml loads TensorFlow, which web processes do not
# otherwise need).
def _int(low: int, high: int):
    return lambda: serializers.IntegerField(required=False, min_value=low, max_value=high)


def _float(low: float, high: float):
    return lambda: serializers.FloatField(required=False, min_value=low, max_value=high)


def _bool():
    return lambda: serializers.BooleanField(required=False)


def _choice(*choices):
    return lambda: serializers.ChoiceField(required=False, choices=choices)


def _switch(auto: str):
    """auto / on / off, with what auto means (the labels also keep the two parameters'
    enums apart in the schema)."""
    return _choice(("auto", auto), ("on", "on"), ("off", "off"))


MODEL_PARAMETERS = {  # name -> (field, ModelConfig's default)
    "max_len": (_int(1, 1000), 50),
    "dim": (_int(4, 2048), 128),
    "n_blocks": (_int(1, 16), 2),
    "n_heads": (_int(1, 32), 1),
    "dropout": (_float(0.0, 0.95), 0.5),
    "attention_dropout": (_float(0.0, 0.95), 0.2),
    "learning_rate": (_float(1e-7, 1.0), 1e-3),
    "batch_size": (_int(1, 65536), 256),
    "max_epochs": (_int(1, 10000), 200),
    "patience": (_int(1, 1000), 4),
    "eval_every": (_int(1, 1000), 1),
    "plateau_lr_factor": (_float(1e-6, 1.0), 0.3),
    "max_train_seconds": (_float(0.0, 7 * 24 * 3600.0), 1500.0),
    "loss": (_choice("auto", "full", "sampled"), "auto"),
    "exclude_seen_in_loss": (_bool(), True),
    "n_negatives": (_int(1, 1_000_000), 2048),
    "sampling_alpha": (_float(0.0, 2.0), 0.75),
    "use_titles": (_bool(), True),
    "use_attributes": (_bool(), True),
    "use_price": (_bool(), True),
    "use_events": (_bool(), True),
    "use_time_gaps": (_bool(), True),
    "max_title_tokens": (_int(1, 256), 16),
    "max_attributes": (_int(1, 256), 8),
    "min_token_count": (_int(1, 100_000), 2),
    "n_gap_buckets": (_int(3, 256), 16),
    "id_dropout": (_float(0.0, 0.95), 0.0),
    "weight_decay": (_float(0.0, 1.0), 0.0),
    "seed": (_int(0, 2**31 - 1), 42),
    "mixed_precision": (_switch("float16 on a GPU only"), "auto"),
    "jit_compile": (_switch("XLA on a GPU only"), "auto"),
    "eval_batch_size": (_int(1, 1_000_000), 1024),
}
MODEL_DEFAULTS = {name: default for name, (_, default) in MODEL_PARAMETERS.items()}


class TrainingRunStartSerializer(serializers.Serializer):
    """A run's parameters: how to activate its version, whether anonymous sessions are
    trained on, and overrides of the model's hyperparameters (omitted ones keep their
    defaults). Unknown names are a 400, as the ``train`` command refuses them."""

    activate = serializers.ChoiceField(
        choices=["if_better", "always", "never"],
        default="if_better",
        help_text="Activate the new version if it beats the active one, always, or never.",
    )
    include_sessions = serializers.BooleanField(
        required=False, help_text="Train on anonymous sessions' events too (default true)."
    )

    def get_fields(self):
        fields = super().get_fields()
        for name, (field, default) in MODEL_PARAMETERS.items():
            fields[name] = field()
            fields[name].help_text = f"Model hyperparameter (default {default!r})."
        return fields

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["not a training parameter"] for name in unknown}
            )
        dim = attrs.get("dim", MODEL_DEFAULTS["dim"])
        heads = attrs.get("n_heads", MODEL_DEFAULTS["n_heads"])
        if dim % heads:
            raise serializers.ValidationError({"n_heads": [f"must divide dim ({dim})"]})
        return attrs
