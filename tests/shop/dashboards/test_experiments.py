"""The experiments pages: the list, a new experiment (form with arms), the report with
its per-arm table, charts and CSV, start / stop, and the winner's confirmation page;
view and change permissions."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from shop.experiments.variants import model_versions_provider_set
from shop.models import Experiment, ExperimentStatus, Exposure
from tests.factories import UserFactory
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db
LIST_URL = reverse("dashboards:experiments")
NEW_URL = reverse("dashboards:experiment_new")


def staff_with(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(client):
    client.force_login(staff_with("view_experiment"))
    return client


@pytest.fixture
def editor(client):
    client.force_login(staff_with("view_experiment", "add_experiment", "change_experiment"))
    return client


def report_url(experiment) -> str:
    return reverse("dashboards:experiment", args=[experiment.pk])


def arms_post(**overrides) -> dict:
    data = {
        "name": "Lexical search",
        "hypothesis": "Text order converts as well",
        "surface": "search",
        "primary_metric": "ctr",
        "minimum_detectable_effect": "10",
        "baseline": "12",
        "alpha": "0.05",
        "power": "0.8",
        "arms-TOTAL_FORMS": "3",
        "arms-INITIAL_FORMS": "2",
        "arms-MIN_NUM_FORMS": "2",
        "arms-MAX_NUM_FORMS": "5",
        "arms-0-name": "control",
        "arms-0-share": "50",
        "arms-0-variant": "search_order:personalized",
        "arms-1-name": "lexical",
        "arms-1-share": "50",
        "arms-1-variant": "search_order:lexical",
        "arms-2-name": "",
        "arms-2-share": "",
        "arms-2-variant": "",
    }
    data.update(overrides)
    return data


def test_non_staff_go_to_sign_in_and_staff_without_the_permission_get_403(client):
    client.force_login(UserFactory())
    assert client.get(LIST_URL).status_code == 302
    client.force_login(staff_with())
    assert client.get(LIST_URL).status_code == 403


def test_viewers_see_the_list_and_reports_but_cannot_change_anything(viewer):
    experiment = experiment_made(start=False)
    page = viewer.get(LIST_URL).content.decode()
    assert experiment.name in page and "New experiment" not in page
    assert viewer.get(NEW_URL).status_code == 403
    start = reverse("dashboards:experiment_start", args=[experiment.pk])
    assert viewer.post(start).status_code == 403
    assert "Start the experiment" not in viewer.get(report_url(experiment)).content.decode()


def test_creating_an_experiment_with_its_arms(editor):
    page = editor.get(NEW_URL).content.decode()
    assert "Search order" in page and "Recommendations model" in page
    response = editor.post(NEW_URL, arms_post())
    experiment = Experiment.objects.get(name="Lexical search")
    assert response.status_code == 302 and response.url == report_url(experiment)
    assert experiment.status == ExperimentStatus.DRAFT
    assert experiment.baseline == pytest.approx(0.12)
    assert experiment.minimum_detectable_effect == pytest.approx(0.10)
    arms = list(experiment.arms.values_list("position", "name", "share", "variant"))
    assert arms == [
        (0, "control", 50, {"search_order": "personalized"}),
        (1, "lexical", 50, {"search_order": "lexical"}),
    ]


def test_the_form_refuses_shares_not_summing_to_100_and_other_surfaces_variants(editor):
    response = editor.post(NEW_URL, arms_post(**{"arms-1-share": "40"}))
    assert response.status_code == 200
    assert "must sum to 100" in response.content.decode()
    response = editor.post(NEW_URL, arms_post(**{"arms-1-variant": "model_version:active"}))
    assert "variant of the search order" in response.content.decode()
    assert not Experiment.objects.exists()


def test_the_recommenders_model_versions_are_offered(editor):
    installed = model_versions_provider_set(lambda: [(7, "model v7 (active)")])
    try:
        page = editor.get(NEW_URL).content.decode()
    finally:
        model_versions_provider_set(installed)
    assert 'value="model_version:7"' in page and "model v7 (active)" in page


def test_start_and_stop_from_the_report(editor):
    experiment = experiment_made(start=False)
    page = editor.get(report_url(experiment)).content.decode()
    assert "Start the experiment" in page
    response = editor.post(reverse("dashboards:experiment_start", args=[experiment.pk]))
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.is_running
    assert "Stop without a winner" in editor.get(report_url(experiment)).content.decode()
    editor.post(reverse("dashboards:experiment_stop", args=[experiment.pk]))
    experiment.refresh_from_db()
    assert experiment.is_stopped


def with_exposures(experiment, control: tuple[int, int], lexical: tuple[int, int]) -> None:
    """(shoppers, clickers) per arm; each clicker bought for 5.00."""
    rows = []
    for arm, (shoppers, clickers) in zip(experiment.arms.all(), (control, lexical), strict=True):
        rows += [
            Exposure(
                experiment=experiment,
                arm=arm,
                shopper_key=f"s:{arm.name}{n}",
                session_id=f"{arm.name}{n}",
                clicks=int(n < clickers),
                purchases=int(n < clickers),
                revenue=Decimal("5.00") if n < clickers else Decimal(0),
            )
            for n in range(shoppers)
        ]
    Exposure.objects.bulk_create(rows)


def test_the_report_shows_each_arm_with_intervals_lift_and_p_values(viewer):
    experiment = experiment_made(baseline=0.10, minimum_detectable_effect=0.5)
    with_exposures(experiment, control=(400, 40), lexical=(400, 80))
    response = viewer.get(report_url(experiment))
    page = response.content.decode()
    assert response.status_code == 200
    assert "10.0%" in page and "20.0%" in page  # click-through per arm
    assert "+100.0%" in page  # lift of the lexical arm
    assert "[7.4% – 13.3%]" in page  # the control's Wilson interval
    assert "686" in page  # planned shoppers per arm
    assert "58.3%" in page  # 400 of 686 in the smallest arm
    assert "OK" in page and "mismatch" not in page
    charts = response.context["charts"]
    assert set(charts) == {"exposures", "rates", "revenue"}
    assert charts["exposures"].series[0].values[-1] == 400


def test_the_report_flags_a_sample_ratio_mismatch(viewer):
    experiment = experiment_made()
    with_exposures(experiment, control=(600, 0), lexical=(400, 0))
    page = viewer.get(report_url(experiment)).content.decode()
    assert "Sample-ratio mismatch" in page


def test_the_per_arm_table_downloads_as_csv(viewer):
    experiment = experiment_made()
    with_exposures(experiment, control=(100, 10), lexical=(100, 20))
    response = viewer.get(report_url(experiment), {"csv": "arms"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["arm"] for r in rows] == ["control", "lexical"]
    assert rows[1]["ctr"] == "0.2" and rows[1]["shoppers"] == "100"
    assert float(rows[1]["ctr_p_value"]) < 0.1
    chart = viewer.get(report_url(experiment), {"csv": "rates"})
    assert chart.content.decode().splitlines()[0] == "arm,Click-through,Conversion"


def test_declaring_needs_the_test_or_a_reason_and_shows_what_changes(editor):
    experiment = experiment_made()
    with_exposures(experiment, control=(50, 5), lexical=(50, 6))
    url = reverse("dashboards:experiment_declare", args=[experiment.pk])
    page = editor.get(url).content.decode()
    assert "keeps serving the lexical order" in page
    assert "Not every arm has reached" in page or "planned sample size is not known" in page
    lexical = experiment.arms.get(name="lexical")
    response = editor.post(url, {"arm": lexical.pk})
    assert response.status_code == 200 and "give a reason" in response.content.decode()
    assert Experiment.objects.get(pk=experiment.pk).winner is None
    response = editor.post(url, {"arm": lexical.pk, "override_reason": "Product decision"})
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.winner == lexical and experiment.serves_winner
    page = editor.get(report_url(experiment)).content.decode()
    assert "declared the winner" in page and "Product decision" in page
    assert "Stop serving the winner" in page
