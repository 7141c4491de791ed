"""Staff's page of a shopper's cached top-K shows every product with its score and the
product of their history that led to it (it showed "-": format_html had turned the
score into a string before "{:.4f}" could format it)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recommender.models import ModelVersion, UserRecommendation
from shop.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(shop_data):
    version = ModelVersion.objects.create(artifact_path="/nowhere")
    first, second, reason = Product.objects.order_by("pk")[:3]
    items = [[first.pk, 0.91234, reason.pk], [second.pk, 0.5, None], [123456789, 0.25, None]]
    return UserRecommendation.objects.create(user=shop_data[0], model_version=version, items=items)


def test_the_top_k_lists_titles_scores_and_reasons(admin_client, cached):
    response = admin_client.get(
        reverse("admin:recommender_userrecommendation_change", args=[cached.pk])
    )

    page = response.content.decode()
    first, second, reason = Product.objects.order_by("pk")[:3]
    first_url = reverse("admin:shop_product_change", args=[first.pk])
    reason_url = reverse("admin:shop_product_change", args=[reason.pk])
    assert (
        f'<li><a href="{first_url}">{first.title}</a> <small>(0.9123; because of: '
        f'<a href="{reason_url}">{reason.title}</a>)</small></li>'
    ) in page
    assert f"{second.title}</a> <small>(0.5000; because of: -)</small>" in page
    assert "product 123456789 (gone) <small>(0.2500; because of: -)</small>" in page
    inspector = reverse("dashboards:inspector")
    assert f'<a href="{inspector}?user={cached.user_id}">Inspect this shopper</a>' in page


def test_titles_are_escaped(admin_client, cached):
    Product.objects.filter(pk=cached.items[0][0]).update(title="<b>bold</b> lamp")

    page = admin_client.get(
        reverse("admin:recommender_userrecommendation_change", args=[cached.pk])
    ).content.decode()

    assert "&lt;b&gt;bold&lt;/b&gt; lamp" in page and "<b>bold</b>" not in page
