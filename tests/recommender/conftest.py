"""Shared fixtures: a small shop with a learnable pattern, and one model trained on it
once per session (copied for each test that needs an artifact)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from recommender.models import ModelVersion
from recommender.serving import model as serving
from recommender.training.pipeline import train_from_database
from shop.models import Event, Product
from tests.factories import CategoryFactory, ProductFactory, UserFactory

# Small enough to train in seconds on a CPU.
TINY_MODEL = {
    "dim": 16,
    "max_len": 8,
    "n_blocks": 1,
    "max_epochs": 3,
    "patience": 2,
    "batch_size": 32,
    "max_train_seconds": 60,
    "activate": "if_better",
}


PRODUCT_ID_BASE = 900_000
USER_ID_BASE = 800_000


def make_shop(n_products: int = 12, n_users: int = 30) -> list:
    """Products 0..n-1 and shoppers who view them in a cycle (p, p+1, p+2, ...)."""
    category = CategoryFactory(name="Things")
    # Fixed ids: the session's model (trained in a rolled-back transaction) knows
    # products by id, so every test must see the same ids.
    products = [
        ProductFactory(
            pk=PRODUCT_ID_BASE + i,
            sku=f"P{i:03d}",
            title=f"Thing number {i} widget",
            category=category,
        )
        for i in range(n_products)
    ]
    users = [UserFactory(pk=USER_ID_BASE + u, username=f"buyer{u}") for u in range(n_users)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    events = []
    for u, user in enumerate(users):
        for step in range(6):
            product = products[(u + step) % n_products]
            events.append(
                Event(
                    user=user,
                    product=product,
                    event_type="purchase" if step % 3 == 2 else "view",
                    client_event_id=f"{u}-{step}",
                    source="test",
                    occurred_at=start + timedelta(days=u, minutes=step),
                )
            )
    Event.objects.bulk_create(events)
    return users


@pytest.fixture(autouse=True)
def _fresh_serving_state(settings, tmp_path):
    settings.MODEL_ROOT = tmp_path / "models"
    serving.reset()
    yield
    serving.reset()


@pytest.fixture
def shop_data(db):
    return make_shop()


@pytest.fixture(scope="session")
def trained_artifact(django_db_setup, django_db_blocker, tmp_path_factory):
    """Train one tiny model on the shop data and keep its artifact directory."""
    with django_db_blocker.unblock(), transaction.atomic():
        make_shop()
        result = train_from_database(parameters=TINY_MODEL, log=lambda line: None)
        path = tmp_path_factory.mktemp("artifact") / "model"
        result.model.save(path)
        transaction.set_rollback(True)
    return path


@pytest.fixture
def active_version(shop_data, trained_artifact, tmp_path):
    """An active ModelVersion whose artifact is a copy of the session's tiny model."""
    path = tmp_path / "active-model"
    shutil.copytree(trained_artifact, path)
    version = ModelVersion.objects.create(
        artifact_path=str(path),
        holdout_ndcg=0.5,
        metrics={"model": {"ndcg@10": 0.5}},
        is_active=True,
        activated_at=timezone.now(),
    )
    serving.reset()
    return version


@pytest.fixture
def newer_version(active_version, tmp_path):
    """A second (inactive) version of the same model, with a better holdout score."""
    copy = tmp_path / "newer"
    shutil.copytree(active_version.artifact_path, copy)
    return ModelVersion.objects.create(artifact_path=str(copy), holdout_ndcg=0.7)


@pytest.fixture
def products(shop_data):
    return list(Product.objects.order_by("sku"))
