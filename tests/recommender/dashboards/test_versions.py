"""The models dashboard: every version side by side with its run's candidates and
baselines, "n/a" where a figure was never measured or a segment had no shopper, the
served version marked, charts over time and their CSV, the permissions."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recommender.models import ModelVersion
from shop.dashboards.nav import dashboard_pages
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS_URL = "dashboards:models"
CREATED = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _row(ndcg: float, *, cold_users: int = 4, measured_now: bool = True) -> dict:
    """A kept row (recommender.training.evaluation.metrics_row); ``measured_now=False``
    is a version trained before the popularity share and product segments, which kept
    an empty cold segment as 0.0."""
    row = {
        "ndcg@10": ndcg,
        "hr@10": round(ndcg * 2, 4),
        "mrr": round(ndcg * 0.8, 4),
        "coverage@10": 0.3,
        "users": 40,
        "segments": {
            "cold": {"ndcg@10": ndcg if cold_users else 0.0, "hr@10": 0.0, "users": cold_users},
            "warm": {"ndcg@10": round(ndcg + 0.01, 4), "hr@10": 0.5, "users": 26},
            "hot": {"ndcg@10": round(ndcg + 0.02, 4), "hr@10": 0.6, "users": 10},
        },
    }
    if measured_now:
        row["popular_share@10"] = 0.25
        row["products"] = {
            "new": {"ndcg@10": round(ndcg / 2, 4), "hr@10": 0.1, "mrr": 0.05, "users": 5},
            "known": {"ndcg@10": ndcg, "hr@10": 0.4, "mrr": 0.2, "users": 35},
        }
    return row


def run_metrics(ndcg: float, **kw) -> dict:
    """A run's metrics: a transformer and the served ensemble, and two baselines."""
    served = _row(ndcg, **kw)
    return {
        "model": {**served, "name": "ensemble", "kind": "ensemble"},
        "candidates": {
            "transformer": {
                **_row(round(ndcg - 0.01, 4), **kw),
                "kind": "transformer",
                "validation_ndcg@10": 0.11,
                "served": False,
            },
            "ensemble": {**served, "kind": "ensemble", "validation_ndcg@10": 0.13, "served": True},
        },
        "baselines": {"popularity": _row(0.0123, **kw), "item_transitions": _row(0.05, **kw)},
    }


def make_version(ndcg: float, *, days: int = 0, active: bool = False, **kw) -> ModelVersion:
    return ModelVersion.objects.create(
        artifact_path="/nonexistent/model",
        metrics=run_metrics(ndcg, **kw),
        config={"dim": 16, "max_len": 8},
        holdout_ndcg=ndcg,
        item_count=12,
        user_count=30,
        event_count=180,
        data_cutoff=CREATED + timedelta(days=days),
        created_at=CREATED + timedelta(days=days),
        is_active=active,
    )


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def versions():
    """An old version (before the new figures; no cold shopper) and the served one."""
    old = make_version(0.0811, days=0, cold_users=0, measured_now=False)
    served = make_version(0.1017, days=7, active=True)
    return old, served


def _tbody(html: str, version: ModelVersion) -> str:
    match = re.search(rf'<tbody id="version-{version.pk}".*?</tbody>', html, re.S)
    assert match, f"no rows for v{version.pk}"
    return match[0]


def test_every_version_is_shown_with_its_candidates_and_baselines(staff_client, versions):
    old, served = versions
    html = staff_client.get(reverse(MODELS_URL)).content.decode()
    for version in versions:
        rows = _tbody(html, version)
        text = " ".join(re.sub(r"<[^>]+>", " ", rows).split())
        for model in (
            "transformer",
            "★ ensemble",
            "popularity baseline",
            "item_transitions baseline",
        ):
            assert model in text
        assert f"/admin/recommender/modelversion/{version.pk}/change/" in rows
    assert "0.1017" in _tbody(html, served) and "0.0811" in _tbody(html, old)
    assert "0.0123" in _tbody(html, old)  # the popularity baseline
    # The served version is marked, and only it; the other can be activated.
    assert "served</span>" in _tbody(html, served) and "served</span>" not in _tbody(html, old)
    assert 'class="role-served served"' in _tbody(html, served)
    assert reverse("dashboards:models_activate", args=[old.pk]) in _tbody(html, old)
    assert reverse("dashboards:models_activate", args=[served.pk]) not in html
    assert html.index(f'id="version-{served.pk}"') < html.index(f'id="version-{old.pk}"')


def test_figures_never_measured_or_over_no_shopper_read_n_a(staff_client, versions):
    old, served = versions
    html = staff_client.get(reverse(MODELS_URL)).content.decode()
    old_rows, served_rows = _tbody(html, old), _tbody(html, served)
    # Old: no top-10% share, no product segments, and an empty cold segment kept as 0.0.
    old_served = re.search(r'<tr class="role-served">.*?</tr>', old_rows, re.S)[0]
    assert old_served.count("n/a") == 4  # top-10% share, cold, new, known
    assert "0.0000" not in old_rows
    counts = re.search(r'<tr class="dash-counts">.*?</tr>', old_rows, re.S)[0]
    # How many shoppers each segment had (none counted by product back then).
    assert re.findall(r"<small>([^<]*)</small>", counts)[1:] == ["0", "26", "10", "n/a", "n/a"]
    now_served = re.search(r'<tr class="role-served served">.*?</tr>', served_rows, re.S)[0]
    assert "n/a" not in now_served and "25.0%" in now_served
    # Baselines are not validated: that one figure is n/a for them.
    baseline = re.search(r'<tr class="role-baseline">.*?</tr>', served_rows, re.S)[0]
    assert baseline.count("n/a") == 1


def test_the_charts_have_one_point_per_version_oldest_first(staff_client, versions):
    old, served = versions
    charts = staff_client.get(reverse(MODELS_URL)).context["charts"]
    metrics = charts["metrics"]
    assert metrics.labels == [f"v{old.pk} 2026-03-01", f"v{served.pk} 2026-03-08"]
    assert metrics.series[0].name == "NDCG@10" and metrics.series[0].values == [0.0811, 0.1017]
    segments = {s.name: s.values for s in charts["segments"].series}
    assert segments["cold"] == [None, 0.1017]
    assert segments["new products"] == [None, 0.0508]
    baselines = {s.name: s.values for s in charts["baselines"].series}
    assert baselines["popularity"] == [0.0123, 0.0123]
    breadth = {s.name: s.values for s in charts["breadth"].series}
    assert breadth["top-10% share"] == [None, 0.25]


def test_a_chart_and_the_table_download_as_csv(staff_client, versions):
    old, served = versions
    chart = staff_client.get(reverse(MODELS_URL), {"csv": "segments"})
    assert chart["Content-Type"].startswith("text/csv")
    lines = chart.content.decode().splitlines()
    assert lines[0] == "version (created),cold,warm,hot,new products,known products"
    assert lines[1].startswith(f"v{old.pk} 2026-03-01,,0.0911,")
    table = staff_client.get(reverse(MODELS_URL), {"csv": "versions"})
    rows = list(csv.DictReader(io.StringIO(table.content.decode())))
    assert len(rows) == 8  # 2 candidates and 2 baselines per version
    old_served = next(r for r in rows if r["version"] == str(old.pk) and r["role"] == "served")
    assert old_served["NDCG@10"] == "0.0811" and old_served["top-10% share"] == ""
    assert old_served["cold NDCG@10"] == ""  # no cold shopper: not 0.0
    assert {r["active"] for r in rows if r["version"] == str(served.pk)} == {"yes"}


def test_the_table_shows_the_latest_twenty_versions_unless_asked_for_all(staff_client):
    for day in range(22):
        make_version(0.05 + day / 1000, days=day)
    page = staff_client.get(reverse(MODELS_URL))
    assert len(page.context["groups"]) == 20 and "Show all 22 versions" in page.content.decode()
    assert len(page.context["charts"]["metrics"].labels) == 22
    assert len(staff_client.get(reverse(MODELS_URL), {"all": "1"}).context["groups"]) == 22


def test_with_no_version_the_page_says_how_to_train_one(staff_client):
    page = staff_client.get(reverse(MODELS_URL))
    assert page.status_code == 200 and b"No model version yet" in page.content


def test_the_page_needs_the_view_permission_and_offers_changes_only_to_who_may(client, versions):
    old, _ = versions
    url = reverse(MODELS_URL)
    client.force_login(UserFactory(username="shopper"))
    assert client.get(url).status_code == 302  # not staff: to the admin's sign-in
    viewer = UserFactory(username="viewer", is_staff=True)
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    viewer = type(viewer).objects.get(pk=viewer.pk)  # permissions are cached per instance
    client.force_login(viewer)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("dashboards:models_activate", args=[old.pk]) not in html
    assert reverse("dashboards:models_rollback") not in html
    assert "Models" in [p.label for p, _ in dashboard_pages(viewer)]
