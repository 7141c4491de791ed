"""A/B experiments in the admin: the list, and a draft's plan and arms (inline). Starting,
stopping and declaring the winner happen on the experiment's report page (the
dashboards), which checks what they need; here a started experiment's plan, arms and
state are read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from shop.experiments.services import ArmSpec, arms_problems
from shop.models import Experiment, ExperimentArm

PLAN_FIELDS = (
    "surface",
    "primary_metric",
    "minimum_detectable_effect",
    "baseline",
    "alpha",
    "power",
)
STATE_FIELDS = (
    "status",
    "report_link",
    "salt",
    "created_by",
    "created_at",
    "started_at",
    "stopped_at",
    "winner",
    "winner_declared_by",
    "winner_declared_at",
    "winner_override_reason",
    "serves_winner",
)


class ArmInlineFormSet(forms.BaseInlineFormSet):
    """The arms together must fit the experiment's surface (2 to 5 arms, shares summing
    to 100, variants of the surface: shop.experiments.services.arms_problems)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        kept.sort(key=lambda data: data.get("position") or 0)
        specs = [ArmSpec(d["name"], d["share"], d["variant"]) for d in kept]
        problems = arms_problems(surface=self.instance.surface, arms=specs)
        if problems:
            raise forms.ValidationError(problems)


class ExperimentArmInline(admin.TabularInline):
    model = ExperimentArm
    formset = ArmInlineFormSet
    fields = ("position", "name", "share", "variant")
    extra = 0
    min_num = 2
    max_num = 5

    def _editable(self, obj) -> bool:
        return obj is None or obj.is_draft

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "surface",
        "status",
        "primary_metric",
        "started_at",
        "stopped_at",
        "winner",
        "report_link",
    )
    list_filter = ("surface", "status")
    search_fields = ("name",)
    list_select_related = ("winner",)
    inlines = [ExperimentArmInline]
    fieldsets = (
        (None, {"fields": ("name", "hypothesis")}),
        ("Plan", {"fields": PLAN_FIELDS}),
        ("State", {"fields": STATE_FIELDS}),
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_draft:
            return (*PLAN_FIELDS, *STATE_FIELDS)
        return STATE_FIELDS

    def has_delete_permission(self, request, obj=None) -> bool:
        # A running experiment, or one serving its winner, is stopped on its report
        # page first: serving must never point at a deleted row.
        if obj is not None and (obj.is_running or obj.serves_winner):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # The bulk delete would skip the per-experiment check above.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="report")
    def report_link(self, obj: Experiment) -> str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">Report</a>', reverse("dashboards:experiment", args=[obj.pk])
        )
