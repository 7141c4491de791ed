"""Training runs, model versions, serving and their faults (eager Celery)."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from recommender import selectors, services, serving
from recommender.models import ModelVersion, RefreshRun, TrainingRun, UserRecommendation
from recommender.personalizer import RecommenderPersonalizer
from shop.shoppers import Shopper
from tests.recommender.conftest import TINY_MODEL

pytestmark = pytest.mark.django_db


def test_training_run_registers_activates_and_caches_everyones_top_k(
    shop_data, django_capture_on_commit_callbacks
):
    run = services.training_run_create(parameters=TINY_MODEL)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    version.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED and run.finished_at and run.device
    assert run.epoch >= 1 and run.log_tail
    assert version.is_active and version.event_count == 30 * 6 and version.user_count == 30
    assert set(version.metrics["baselines"]) == {"popularity", "item_transitions"}
    assert 0 <= version.metrics["model"]["ndcg@10"] <= 1
    # Activation refreshed every shopper's cached top-K.
    assert UserRecommendation.objects.filter(model_version=version).count() == 30
    refresh = RefreshRun.objects.get()
    assert refresh.users == 30 and refresh.users_per_second > 0


def test_recommendations_never_include_what_the_shopper_already_has(active_version, shop_data):
    user = shop_data[0]
    recs = selectors.recommendations_for_user(user_id=user.pk, limit=5)
    assert len(recs) == 5
    owned = set(user.events.values_list("product_id", flat=True))
    assert not owned & {r.product_id for r in recs}
    assert all(r.reason_product_id in owned for r in recs)  # each reason is a history item


def test_inactive_and_out_of_stock_products_are_not_recommended(
    active_version, shop_data, products
):
    user = shop_data[0]
    first = selectors.recommendations_for_user(user_id=user.pk, limit=3)
    banned = {first[0].product_id, first[1].product_id}
    from shop.models import Product

    Product.objects.filter(pk=first[0].product_id).update(is_active=False)
    Product.objects.filter(pk=first[1].product_id).update(stock=0)
    again = selectors.recommendations_for_user(user_id=user.pk, limit=3)
    assert not banned & {r.product_id for r in again}


def test_cached_list_is_served_from_redis_then_postgres(active_version, shop_data, settings):
    user = shop_data[1]
    call_command("refresh_recommendations")
    assert selectors.recommendations_for_user(user_id=user.pk, limit=5)[0].source in (
        "cache",
        "database",
    )
    from django.core.cache import cache

    cache.clear()  # as if Redis lost everything (or is down: see the next test)
    assert selectors.recommendations_for_user(user_id=user.pk, limit=5)[0].source == "database"


def test_redis_down_serving_reads_the_postgres_cache(active_version, shop_data, settings):
    call_command("refresh_recommendations")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    serving.reset()
    recs = selectors.recommendations_for_user(user_id=shop_data[2].pk, limit=5)
    assert recs and recs[0].source == "database"


def test_new_shopper_gets_the_fallback_and_no_model_means_fallback(shop_data, client):
    personalizer = RecommenderPersonalizer()
    items = personalizer.recommend(shopper=Shopper(user_id=shop_data[0].pk), limit=4)
    assert len(items) == 4 and all(i.reason == "Popular right now" for i in items)
    assert client.get("/").status_code == 200


def test_model_recommendations_carry_a_readable_reason(active_version, shop_data):
    items = RecommenderPersonalizer().recommend(shopper=Shopper(user_id=shop_data[0].pk), limit=4)
    assert items and items[0].reason.startswith("Because you")


def test_similar_items_come_from_the_item_vectors(active_version, products):
    similar = selectors.similar_items(product_id=products[0].pk, limit=4)
    assert len(similar) == 4 and products[0].pk not in {s.product_id for s in similar}


def test_a_second_run_is_refused_while_one_runs(shop_data):
    running = TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    queued = services.training_run_create(parameters=TINY_MODEL)
    with pytest.raises(services.TrainingBusy, match=str(running.pk)):
        services.training_run_execute(run_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == TrainingRun.Status.QUEUED  # it waits; the task retries


def test_a_worker_killed_mid_training_ends_failed_and_keeps_the_active_version(
    active_version, shop_data
):
    dead = TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert services.training_runs_reap_stale() == 1
    dead.refresh_from_db()
    assert dead.status == TrainingRun.Status.FAILED and "stopped reporting" in dead.error
    assert ModelVersion.objects.get(is_active=True) == active_version
    # The slot is free again: a new run can train.
    run = services.training_run_create(parameters={**TINY_MODEL, "activate": "never"})
    assert services.training_run_execute(run_id=run.pk) is not None


def test_a_corrupted_artifact_is_refused_and_serving_keeps_the_previous_version(
    active_version, shop_data, tmp_path
):
    assert serving.active_model().version_id == active_version.pk
    broken_dir = tmp_path / "broken"
    shutil.copytree(active_version.artifact_path, broken_dir)
    for file in broken_dir.iterdir():
        if file.is_file():
            file.write_bytes(b"not a model")
    broken = ModelVersion.objects.create(artifact_path=str(broken_dir), holdout_ndcg=0.9)
    with pytest.raises(serving.ArtifactError, match="cannot be loaded"):
        services.model_version_activate(version=broken)
    broken.refresh_from_db()
    assert "cannot be loaded" in broken.refused_reason
    assert ModelVersion.objects.get(is_active=True) == active_version
    assert selectors.recommendations_for_user(user_id=shop_data[0].pk, limit=3)


def test_a_missing_artifact_is_refused(active_version, shop_data):
    missing = ModelVersion.objects.create(artifact_path="/nonexistent/model", holdout_ndcg=0.9)
    with pytest.raises(serving.ArtifactError, match="does not exist"):
        services.model_version_activate(version=missing)
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_an_artifact_lost_after_activation_elsewhere_keeps_this_process_on_its_model(
    active_version, shop_data
):
    """Another process activated a version whose files this machine cannot read."""
    assert serving.active_model().version_id == active_version.pk
    lost = ModelVersion.objects.create(artifact_path="/nonexistent/lost-model", holdout_ndcg=0.6)
    ModelVersion.objects.filter(pk=active_version.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=lost.pk).update(is_active=True)
    serving.announce_active(lost.pk)
    loaded = serving.active_model()
    assert loaded is not None and loaded.version_id == active_version.pk
    assert selectors.recommendations_for_user(user_id=shop_data[0].pk, limit=3)


def test_activation_and_rollback_reach_the_serving_process_without_restart(
    active_version, shop_data, tmp_path, django_capture_on_commit_callbacks
):
    assert serving.active_model().version_id == active_version.pk
    copy = tmp_path / "newer"
    shutil.copytree(active_version.artifact_path, copy)
    newer = ModelVersion.objects.create(artifact_path=str(copy), holdout_ndcg=0.7)
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_activate(version=newer)
    assert serving.active_model().version_id == newer.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert services.model_version_rollback() == active_version
    assert serving.active_model().version_id == active_version.pk


def test_retrain_activates_only_if_it_beats_the_active_version(active_version, shop_data):
    active_version.holdout_ndcg = 0.99
    active_version.save()
    run = services.training_run_create(parameters=TINY_MODEL)
    version = services.training_run_execute(run_id=run.pk)
    version.refresh_from_db()
    assert not version.is_active
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_cancelling_a_running_run_stops_it_without_a_version(shop_data, monkeypatch):
    run = services.training_run_create(parameters={**TINY_MODEL, "max_epochs": 50, "patience": 50})
    original = services._Progress.__call__

    def cancel_on_first_report(progress, report):
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        progress.saved_at = 0.0
        return original(progress, report)

    monkeypatch.setattr(services._Progress, "__call__", cancel_on_first_report)
    assert services.training_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
    assert not ModelVersion.objects.exists()


def test_a_failing_run_ends_failed_with_its_error():
    run = services.training_run_create(parameters=TINY_MODEL)  # no events at all
    with pytest.raises(Exception, match="events to learn from"):
        services.training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED and "events to learn from" in run.error


def test_unknown_training_parameters_are_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown training parameter"):
        call_command("train", "--set", "dimm=3")


def test_a_new_view_re_scores_that_shopper(
    active_version, shop_data, products, client, django_capture_on_commit_callbacks
):
    user = shop_data[0]
    call_command("refresh_recommendations")
    before = UserRecommendation.objects.get(user=user)
    target = before.items[0][0]
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/products/{target}/").status_code == 200
    after = UserRecommendation.objects.get(user=user)
    assert after.computed_at > before.computed_at
    assert target not in [row[0] for row in after.items]  # now in the history


def test_recommendations_command_prints_rank_product_title_score_reason(
    active_version, shop_data, capsys
):
    call_command("recommendations", str(shop_data[0].pk), "--limit", "3")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    rank, product_id, title, score, reason = lines[0].split("\t")
    assert rank == "1" and product_id.isdigit() and "widget" in title and float(score) and reason


def test_train_command_in_process(shop_data, capsys):
    call_command(
        "train",
        "--set",
        "max_epochs=2",
        "--set",
        "dim=16",
        "--set",
        "max_len=8",
        "--set",
        "n_blocks=1",
    )
    assert "holdout NDCG@10" in capsys.readouterr().out
    assert ModelVersion.objects.filter(is_active=True).exists()


def _count_model_calls(monkeypatch, loaded):
    calls = []
    original = loaded.model.user_vectors

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "user_vectors", counting)
    return calls


def test_search_reads_the_vector_the_refresh_stored(active_version, shop_data, monkeypatch):
    import numpy as np

    from recommender import pipeline

    user = shop_data[0]
    call_command("refresh_recommendations")
    row = UserRecommendation.objects.get(user=user)
    history = pipeline.histories_for_users([user.pk], max_len=50)[user.pk]
    assert row.last_event_id == pipeline.latest_event_id(user.pk)
    assert row.recent[0] == history[0][-1]  # newest first
    loaded = serving.active_model()
    live = loaded.model.user_vectors([history[0]], [history[1]], [history[2]])[0]
    np.testing.assert_allclose(np.frombuffer(bytes(row.vector), np.float32), live, atol=1e-5)

    bought = [p for p, t in zip(history[0], history[2], strict=True) if t == "purchase"]
    assert bought and sorted(row.purchased) == sorted(set(bought))

    calls = _count_model_calls(monkeypatch, loaded)
    state = selectors.shopper_state(loaded, user_id=user.pk, session_id="")
    assert calls == []  # no forward pass on the request path
    np.testing.assert_allclose(state.vector, live, atol=1e-5)
    assert state.purchased == frozenset(bought)

    signals = selectors.search_signals(
        user_id=user.pk, session_id="", product_ids=[bought[0], history[0][0]]
    )
    assert signals["bought"][bought[0]] == 1.0


def test_a_stored_vector_behind_the_history_is_not_used(active_version, shop_data, monkeypatch):
    from recommender import pipeline
    from shop.models import Event

    user = shop_data[0]
    call_command("refresh_recommendations")
    # An event the refresh has not seen (its worker is down, say).
    newest = Event.objects.filter(user=user).order_by("-occurred_at").first()
    Event.objects.create(
        user=user,
        product_id=newest.product_id,
        event_type="purchase",
        source="test",
        client_event_id="behind-1",
        occurred_at=timezone.now(),
    )
    loaded = serving.active_model()
    calls = _count_model_calls(monkeypatch, loaded)
    state = selectors.shopper_state(loaded, user_id=user.pk, session_id="")
    assert calls == [1]  # computed from the live history instead
    assert state.recent[0] == newest.product_id
    assert (
        pipeline.latest_event_id(user.pk) > UserRecommendation.objects.get(user=user).last_event_id
    )


def test_deleting_a_shopper_leaves_nothing_cached(active_version, shop_data):
    from django.core.cache import cache

    from recommender.selectors import shopper_state_key
    from recommender.services import recs_cache_key

    user = shop_data[0]
    call_command("refresh_recommendations")
    loaded = serving.active_model()
    selectors.shopper_state(loaded, user_id=user.pk, session_id="")
    keys = [recs_cache_key(user.pk), shopper_state_key(user_id=user.pk, session_id="")]
    assert all(cache.get(k) is not None for k in keys)
    user.delete()
    assert all(cache.get(k) is None for k in keys)
    assert not UserRecommendation.objects.filter(user_id=user.pk).exists()


def test_loading_a_model_freezes_the_heap_of_a_web_process(active_version, monkeypatch):
    calls = []
    monkeypatch.setattr(serving, "heap_freeze", lambda: calls.append(1))
    serving.reset()
    assert serving.active_model().version_id == active_version.pk
    assert serving.active_model().version_id == active_version.pk
    assert calls == [1]  # once per load, not per request


def test_a_replaced_model_is_freed_when_the_new_one_is_frozen(
    active_version, shop_data, tmp_path, django_capture_on_commit_callbacks
):
    import weakref

    from shop import heap

    old = weakref.ref(serving.active_model().model)  # the model: cycles only gc frees
    heap.heap_freeze_enable()
    try:
        copy = tmp_path / "newer"
        shutil.copytree(active_version.artifact_path, copy)
        newer = ModelVersion.objects.create(artifact_path=str(copy), holdout_ndcg=0.7)
        with django_capture_on_commit_callbacks(execute=True):
            services.model_version_activate(version=newer)
        assert serving.active_model().version_id == newer.pk
        assert old() is None  # not kept alive (frozen) with the new model
    finally:
        heap.heap_freeze_disable()
