"""Serializers of the recommender's staff endpoints: model versions (with the
candidates and baselines the admin's version page shows), training runs, and the
parameters a run may be started with."""

from __future__ import annotations

import functools

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recommender.models import ModelVersion, TrainingRun
from recommender.training.parameters import (
    MODEL_PARAMETER_DEFAULTS,
    MODEL_PARAMETER_SPECS,
    PARAMETER_SPECS,
    ParameterSpec,
    training_parameters_errors,
)

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
# of recommender.ml.ModelConfig, from the table the training dashboard's form also
# builds on (recommender.training.parameters; tests check it stays in step with
# ModelConfig).
def _field(spec: ParameterSpec) -> serializers.Field:
    if spec.kind == "int":
        return serializers.IntegerField(required=False, min_value=spec.low, max_value=spec.high)
    if spec.kind == "float":
        return serializers.FloatField(required=False, min_value=spec.low, max_value=spec.high)
    if spec.kind == "bool":
        return serializers.BooleanField(required=False)
    return serializers.ChoiceField(required=False, choices=spec.choices)


MODEL_PARAMETERS = {  # name -> (field factory, ModelConfig's default)
    spec.name: (functools.partial(_field, spec), spec.default) for spec in MODEL_PARAMETER_SPECS
}
MODEL_DEFAULTS = MODEL_PARAMETER_DEFAULTS
ACTIVATE = PARAMETER_SPECS["activate"]


class TrainingRunStartSerializer(serializers.Serializer):
    """A run's parameters: how to activate its version, whether anonymous sessions are
    trained on, and overrides of the model's hyperparameters (omitted ones keep their
    defaults). Unknown names are a 400, as the ``train`` command refuses them."""

    activate = serializers.ChoiceField(
        choices=[value for value, _ in ACTIVATE.choices],
        default=ACTIVATE.default,
        help_text=ACTIVATE.help,
    )
    include_sessions = serializers.BooleanField(
        required=False,
        help_text="Train on anonymous sessions' events too (default true).",
    )

    def get_fields(self):
        fields = super().get_fields()
        for name, (field, default) in MODEL_PARAMETERS.items():
            fields[name] = field()
            fields[name].help_text = f"Model hyperparameter (default {default!r})."
        return fields

    def validate(self, attrs: dict) -> dict:
        errors = training_parameters_errors({**dict.fromkeys(self.initial_data), **attrs})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
