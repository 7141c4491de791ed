"""The forms of the experiments pages: a new experiment with its arms, and the winner."""

from __future__ import annotations

from django import forms

from shop.experiments.services import ArmSpec, arms_problems
from shop.experiments.variants import variant_choices, variant_decode
from shop.models import Experiment, ExperimentMetric, ExperimentSurface

MAX_ARMS = 5


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=200)
    hypothesis = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What you expect to happen, and why.",
    )
    surface = forms.ChoiceField(choices=ExperimentSurface.choices)
    primary_metric = forms.ChoiceField(
        choices=ExperimentMetric.choices,
        help_text="The metric that decides the winner (the others are shown too).",
    )
    minimum_detectable_effect = forms.FloatField(
        label="Minimum detectable effect (%)",
        min_value=0.1,
        max_value=1000,
        initial=10,
        help_text="The smallest relative lift worth detecting: 10 means 10% better than "
        "the control.",
    )
    baseline = forms.FloatField(
        label="Baseline (control's expected value)",
        required=False,
        min_value=0,
        help_text="For click-through or conversion a percentage (e.g. 12 for 12%), for "
        "revenue an amount per shopper. Empty: the control's observed value.",
    )
    alpha = forms.FloatField(
        label="Significance level (alpha)", initial=0.05, min_value=0.001, max_value=0.2
    )
    power = forms.FloatField(initial=0.8, min_value=0.5, max_value=0.99)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if Experiment.objects.filter(name=name).exists():
            raise forms.ValidationError("An experiment of that name exists.")
        return name

    def experiment_fields(self) -> dict:
        """The cleaned values as experiment_create takes them (percentages as rates)."""
        data = self.cleaned_data
        baseline = data.get("baseline")
        if baseline is not None and data["primary_metric"] != ExperimentMetric.REVENUE:
            baseline = baseline / 100
        return {
            "name": data["name"],
            "hypothesis": data["hypothesis"],
            "surface": data["surface"],
            "primary_metric": data["primary_metric"],
            "minimum_detectable_effect": data["minimum_detectable_effect"] / 100,
            "baseline": baseline,
            "alpha": data["alpha"],
            "power": data["power"],
        }


class ArmForm(forms.Form):
    name = forms.CharField(max_length=100)
    share = forms.IntegerField(label="Share (%)", min_value=1, max_value=100)
    variant = forms.ChoiceField(choices=())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["variant"].choices = [("", "---------"), *variant_choices()]

    def spec(self) -> ArmSpec:
        data = self.cleaned_data
        return ArmSpec(data["name"].strip(), data["share"], variant_decode(data["variant"]))


class BaseArmFormSet(forms.BaseFormSet):
    surface: str | None = None

    def clean(self) -> None:
        if any(self.errors) or self.surface is None:
            return
        problems = arms_problems(surface=self.surface, arms=self.specs())
        if problems:
            raise forms.ValidationError(problems)

    def specs(self) -> list[ArmSpec]:
        return [form.spec() for form in self.forms if form.has_changed() and form.cleaned_data]


ArmFormSet = forms.formset_factory(
    ArmForm,
    formset=BaseArmFormSet,
    extra=1,
    min_num=2,
    max_num=MAX_ARMS,
    validate_min=True,
    validate_max=True,
)

# What the form starts with: personalized (control) against lexical search order.
DEFAULT_ARMS = [
    {"name": "control", "share": 50, "variant": "search_order:personalized"},
    {"name": "lexical", "share": 50, "variant": "search_order:lexical"},
]


class DeclareWinnerForm(forms.Form):
    arm = forms.ChoiceField(widget=forms.RadioSelect, label="Winner")
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        label="Reason to declare it anyway",
        help_text="Needed only when the test does not (yet) say so; it is recorded.",
    )

    def __init__(self, *args, arms=(), blockers=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["arm"].choices = [(str(arm.pk), arm.name) for arm in arms]
        self.blockers = blockers or {}

    def clean(self) -> dict:
        data = super().clean()
        arm = data.get("arm")
        if arm and self.blockers.get(int(arm)) and not data.get("override_reason", "").strip():
            self.add_error(
                "override_reason",
                "The test does not allow this winner yet: give a reason to declare it anyway.",
            )
        return data
