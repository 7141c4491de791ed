"""Activating a version and rolling back through the confirmation page: GET shows what
changes and changes nothing, POST does it (with recommender.change_modelversion only),
a stale or impossible confirmation does nothing; the admin's action and rollback URL
lead to the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recommender.models import ModelVersion, UserRecommendation
from recommender.training.versions import model_version_activate
from tests.factories import UserFactory
from tests.recommender.dashboards.test_versions import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def _activate_url(version: ModelVersion) -> str:
    return reverse("dashboards:models_activate", args=[version.pk])


def _form(current: ModelVersion | None, target: ModelVersion | None, **extra) -> dict:
    return {"current": getattr(current, "pk", ""), "target": getattr(target, "pk", ""), **extra}


def _table(html: str, table_id: str) -> dict[str, list[str]]:
    """A table's body rows as {row header: [cell texts]}."""
    table = re.search(rf'<table id="{table_id}">.*?</table>', html, re.S)[0]
    body = re.search(r"<tbody>.*?</tbody>", table, re.S)[0]
    rows = {}
    for row in re.findall(r"<tr>.*?</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        texts = [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]
        rows[texts[0]] = texts[1:]
    return rows


def test_the_confirmation_page_shows_what_changes_and_changes_nothing(staff_client, shop_data):
    current = make_version(0.08, active=True, cold_users=0, measured_now=False)
    target = make_version(0.1, days=3)
    target.config = {"dim": 32, "max_len": 8, "seed": 7}
    target.item_count, target.event_count = 14, 240
    target.save()
    for user in shop_data[:3]:
        UserRecommendation.objects.create(user=user, model_version=current, items=[])
    page = staff_client.get(_activate_url(target))
    html = page.content.decode()
    metrics = _table(html, "metric-changes")
    assert metrics["NDCG@10"] == ["0.0800", "0.1000", "+0.0200 (+25.0%)"]
    assert metrics["coverage@10"] == ["30.0%", "30.0%", "0"]
    assert 'class="num dash-better" title="better">+0.0200' in html
    assert metrics["top-10% share"] == ["n/a", "25.0%", "n/a"]  # never measured by v-current
    assert metrics["cold NDCG@10"] == ["n/a (0)", "0.1000 (4)", "n/a"]  # no cold shopper then
    facts = _table(html, "fact-changes")
    assert facts["products"] == ["12", "14", "+2"]
    assert facts["events trained on"] == ["180", "240", "+60"]
    assert facts["data cutoff (newest event used)"] == ["2026-03-01 12:00", "2026-03-04 12:00", ""]
    settings = _table(html, "setting-changes")
    assert settings == {"dim": ["16", "32", "+16"], "seed": ["-", "7", ""]}
    assert "1 other setting is the same" in html
    assert re.search(r"3 shoppers’ cached top-K\s*</strong>\s*are recomputed", html)
    assert "Yes, activate v" in html
    assert ModelVersion.objects.get(is_active=True) == current  # a GET changes nothing


def test_activation_happens_on_post_and_says_so(
    staff_client, active_version, newer_version, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = staff_client.post(
            _activate_url(newer_version), _form(active_version, newer_version), follow=True
        )
    assert response.redirect_chain[-1][0] == reverse("dashboards:models")
    assert ModelVersion.objects.get(is_active=True) == newer_version
    assert f"Activated model v{newer_version.pk}: it is now served." in response.content.decode()


def test_rollback_shows_the_earlier_version_and_rolls_back_on_post(
    staff_client, active_version, newer_version, django_capture_on_commit_callbacks
):
    newer_version.created_at = active_version.created_at + timedelta(hours=1)
    newer_version.save()
    with django_capture_on_commit_callbacks(execute=False):
        model_version_activate(version=newer_version)
    url = reverse("dashboards:models_rollback")
    page = staff_client.get(url).content.decode()
    assert f"Roll back to model v{active_version.pk}?" in page
    assert ModelVersion.objects.get(is_active=True) == newer_version
    with django_capture_on_commit_callbacks(execute=False):
        response = staff_client.post(url, _form(newer_version, active_version), follow=True)
    assert ModelVersion.objects.get(is_active=True) == active_version
    assert f"Rolled back to model v{active_version.pk}" in response.content.decode()


def test_staff_without_the_change_permission_are_refused(client, shop_data):
    current = make_version(0.08, active=True)
    target = make_version(0.1, days=3)
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(viewer)
    for url in (_activate_url(target), reverse("dashboards:models_rollback")):
        assert client.get(url).status_code == 403
        assert client.post(url, _form(current, target)).status_code == 403
    assert ModelVersion.objects.get(is_active=True) == current


def test_a_confirmation_shown_before_the_served_version_changed_does_nothing(
    staff_client, active_version, newer_version
):
    other = make_version(0.2, days=1)
    response = staff_client.post(_activate_url(newer_version), _form(other, newer_version))
    assert response.status_code == 200  # the page again, with the comparison of now
    assert b"changed since this page was shown" in response.content
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_a_broken_version_is_flagged_and_its_activation_refused(staff_client, active_version):
    broken = make_version(0.9, days=1)  # its artifact directory does not exist
    page = staff_client.get(_activate_url(broken)).content.decode()
    assert "is missing: activation would be refused" in page
    response = staff_client.post(_activate_url(broken), _form(active_version, broken), follow=True)
    assert f"Model v{broken.pk} refused" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_with_nothing_to_roll_back_to_the_page_says_so_and_offers_no_button(staff_client):
    only = make_version(0.1, active=True)
    url = reverse("dashboards:models_rollback")
    page = staff_client.get(url).content.decode()
    assert "no earlier version to roll back to" in page and "Yes, roll back" not in page
    response = staff_client.post(url, _form(only, None), follow=True)
    assert b"no earlier version to roll back to" in response.content
    assert ModelVersion.objects.get(is_active=True) == only


def test_the_admins_action_and_rollback_url_lead_to_the_confirmation(staff_client):
    make_version(0.1, active=True)
    target = make_version(0.12, days=1)
    listing = reverse("admin:recommender_modelversion_changelist")
    response = staff_client.post(
        listing, {"action": "activate_version", "_selected_action": [target.pk]}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(_activate_url(target) + "?next=")
    rollback = staff_client.post(reverse("admin:recommender_modelversion_rollback"))
    assert rollback["Location"].startswith(reverse("dashboards:models_rollback"))
    # The confirmation goes back to the list it came from.
    page = staff_client.get(response["Location"]).content.decode()
    assert f'name="next" value="{listing}"' in page
    assert not ModelVersion.objects.get(pk=target.pk).is_active


def test_a_next_address_off_the_site_is_ignored(staff_client):
    target = make_version(0.12)
    page = staff_client.get(_activate_url(target), {"next": "https://evil.example/"})
    assert f'name="next" value="{reverse("dashboards:models")}"' in page.content.decode()


def test_a_lower_popularity_share_reads_as_better_and_a_lower_ndcg_as_worse(staff_client):
    make_version(0.1, active=True)
    target = make_version(0.09, days=1)
    target.metrics["model"]["popular_share@10"] = 0.2
    target.save()
    html = staff_client.get(_activate_url(target)).content.decode()
    assert 'class="num dash-better" title="better">-5.0 pp' in html
    assert 'class="num dash-worse" title="worse">-0.0100 (-10.0%)' in html
