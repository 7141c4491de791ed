"""The training dashboard's form: a run's parameters, built from the table the staff
API's serializer builds on (recommender.training.parameters), with the same checks
across fields (``training_parameters_errors``). A field left empty keeps the model's
default and is not stored in the run's parameters."""

from __future__ import annotations

from django import forms

from recommender.training.parameters import (
    PARAMETER_SPECS,
    ParameterSpec,
    training_parameters_errors,
)

# Shown first; the rest of the model's parameters are under "All parameters".
MAIN_PARAMETERS = (
    "activate",
    "include_sessions",
    "max_epochs",
    "max_train_seconds",
    "patience",
    "learning_rate",
    "batch_size",
    "dim",
    "n_blocks",
    "n_heads",
    "max_len",
)


def _yes_no(value: str) -> bool:
    return value == "true"


def _form_field(spec: ParameterSpec) -> forms.Field:
    default = spec.default
    options = {"required": False, "label": spec.name, "help_text": spec.help}
    if spec.kind == "int":
        return forms.IntegerField(
            min_value=spec.low,
            max_value=spec.high,
            widget=forms.NumberInput(attrs={"placeholder": default}),
            **options,
        )
    if spec.kind == "float":
        return forms.FloatField(
            min_value=spec.low,
            max_value=spec.high,
            widget=forms.NumberInput(attrs={"placeholder": f"{default:g}", "step": "any"}),
            **options,
        )
    if spec.kind == "bool":
        return forms.TypedChoiceField(
            choices=[
                ("", f"default ({'yes' if default else 'no'})"),
                ("true", "yes"),
                ("false", "no"),
            ],
            coerce=_yes_no,
            empty_value=None,
            **options,
        )
    if spec.name == "activate":  # always stored, as the API stores it
        return forms.ChoiceField(
            choices=spec.choices, initial=default, label=spec.name, help_text=spec.help
        )
    labels = dict(spec.choices)
    return forms.ChoiceField(
        choices=[("", f"default ({labels.get(default, default)})"), *spec.choices], **options
    )


class TrainingRunForm(forms.Form):
    """Every parameter a run may be started with (run options, then the model's)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, spec in PARAMETER_SPECS.items():
            self.fields[name] = _form_field(spec)

    def clean(self) -> dict:
        cleaned = super().clean()
        for name, messages in training_parameters_errors(self.parameters()).items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def parameters(self) -> dict:
        """The run's parameters: the fields given (empty ones keep their defaults)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value is not None and value != ""
        }

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in MAIN_PARAMETERS]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in MAIN_PARAMETERS]

    def others_have_errors(self) -> bool:
        return any(field.errors for field in self.other_fields())
