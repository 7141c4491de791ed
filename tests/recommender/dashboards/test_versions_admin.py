"""A version's admin page: its run's figures as a table ("n/a" where never measured or
no shopper), the served model by segment with how many shoppers, its config as a table
of settings; the links to the confirmation pages and the models dashboard."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.recommender.dashboards.test_versions import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def _page(client, version) -> str:
    url = reverse("admin:recommender_modelversion_change", args=[version.pk])
    return client.get(url).content.decode()


def test_the_metric_table_says_n_a_for_figures_never_measured_and_empty_segments(staff_client):
    old = make_version(0.0811, cold_users=0, measured_now=False)
    html = _page(staff_client, old)
    served = re.search(r"<tr><td>ensemble</td>.*?</tr>", html, re.S)[0]
    assert "<td>served</td>" in served and "0.0811" in served
    assert served.count(">n/a<") == 4  # top-10% share, cold, new, known
    segments = re.search(r'<table id="version-segments".*?</table>', html, re.S)[0]
    cold = re.search(r"<th scope=\"row\">cold</th>(.*?)</tr>", segments, re.S)[1]
    assert cold.count(">n/a<") == 3 and '<td class="num">0</td>' in cold  # 0 shoppers
    assert "0.0000" not in html


def test_the_config_is_a_table_of_settings_with_their_defaults(staff_client):
    version = make_version(0.1)
    html = _page(staff_client, version)
    config = re.search(r'<table id="version-config">.*?</table>', html, re.S)[0]
    dim = re.search(r"<code>dim</code></th>(.*?)</tr>", config, re.S)[1]
    assert "<strong>16</strong>" in dim and "<td>128</td>" in dim  # differs from the default
    assert "Width of item vectors" in dim
    assert '{"dim"' not in html  # not the JSON blob


def test_the_page_links_to_the_activation_confirmation_and_the_dashboard(staff_client):
    served = make_version(0.1, active=True)
    other = make_version(0.12, days=1)
    activate = reverse("dashboards:models_activate", args=[other.pk])
    assert activate in _page(staff_client, other)
    assert "Activate this version" not in _page(staff_client, served)
    listing = staff_client.get(reverse("admin:recommender_modelversion_changelist"))
    html = listing.content.decode()
    assert reverse("dashboards:models_rollback") in html and reverse("dashboards:models") in html
    assert '<form method="post" action="/admin/recommender/modelversion/rollback/' not in html
