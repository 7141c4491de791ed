"""API v1 events: the app's event batch (attribution, validation, dedupe, popularity,
notification, limits) and the shopper's own events.

Requests go through the real URLconf and middleware; the test client re-raises any
exception of a view, so a 500 fails the test.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.utils import timezone

from shop.api import events as api_events
from shop.events import batch as events_batch
from shop.models import Event, Product
from shop.signals import events_recorded
from shop.tasks import popularity_refresh_task
from tests.factories import ProductFactory, UserFactory
from tests.shop.api.helpers import EVENTS_URL, iso, post_events, valid_rows

pytestmark = pytest.mark.django_db


def test_anonymous_batch_is_attributed_to_a_new_session(client, catalogue):
    response = post_events(client, valid_rows())

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 4, "duplicates": 0, "errors": []}
    session_key = client.session.session_key
    assert session_key
    events = Event.objects.order_by("client_event_id")
    # A shopper's ids are stored scoped by the actor (here the anonymous session).
    assert [e.client_event_id for e in events] == [f"s{session_key}:e{n}" for n in range(1, 5)]
    assert {(e.user_id, e.session_id, e.source) for e in events} == {(None, session_key, "app")}
    e3 = events.get(client_event_id=f"s{session_key}:e3")
    assert e3.query == "口红 💄" and e3.product_id is None and e3.context == {"results": 2}
    assert events.get(client_event_id=f"s{session_key}:e4").value == 4.0


def test_anonymous_may_name_its_own_session_id_but_never_a_user(client, catalogue):
    user = UserFactory()
    rows = [
        {
            "event_id": "a1",
            "type": "view",
            "sku": "RED-1",
            "occurred_at": iso(timezone.now()),
            "session_id": "app-anon-42",
            "user": user.username,
            "source": "pos",
        }
    ]

    response = post_events(client, rows)

    assert response.status_code == 200
    event = Event.objects.get()
    assert event.session_id == "app-anon-42"
    assert event.user_id is None
    assert event.source == "app"


def test_logged_in_shopper_events_are_always_their_own(client, catalogue):
    me, other = UserFactory(), UserFactory()
    client.force_login(me)
    rows = valid_rows()
    for row in rows:
        row["user"] = other.username
        row["source"] = "backoffice"

    response = post_events(client, rows)

    assert response.status_code == 200
    assert response.json()["created"] == 4
    assert set(Event.objects.values_list("user_id", "source")) == {(me.pk, "app")}
    assert set(Event.objects.values_list("session_id", flat=True)) == {client.session.session_key}


@pytest.mark.parametrize("how", ["superuser", "permission"])
def test_privileged_callers_may_name_any_user_and_source(client, catalogue, how):
    caller = UserFactory(is_staff=True, is_superuser=how == "superuser")
    if how == "permission":
        caller.user_permissions.add(Permission.objects.get(codename="add_event"))
    existing = UserFactory(username="ext-7")
    client.force_login(caller)
    now = iso(timezone.now())
    rows = [
        {"event_id": "s1", "type": "view", "sku": "RED-1", "occurred_at": now, "user": "ext-7"},
        {"event_id": "s2", "type": "view", "sku": "RED-1", "occurred_at": now, "user": "new-9"},
        {"event_id": "s3", "type": "view", "sku": "RED-1", "occurred_at": now, "session_id": "x"},
        {"event_id": "s4", "type": "view", "sku": "RED-1", "occurred_at": now},
        {"event_id": "s5", "type": "view", "sku": "RED-1", "occurred_at": now, "source": "pos"},
    ]

    response = post_events(client, rows)

    assert response.status_code == 200, response.content
    events = {e.client_event_id: e for e in Event.objects.select_related("user")}
    assert events["s1"].user_id == existing.pk
    assert events["s2"].user.username == "new-9"
    assert not events["s2"].user.has_usable_password()
    assert events["s3"].user_id is None and events["s3"].session_id == "x"
    assert events["s4"].user_id == caller.pk
    assert events["s5"].source == "pos" and events["s1"].source == "app"


def test_a_batch_with_bad_rows_stores_the_good_ones_and_names_the_bad(client, catalogue):
    now = timezone.now()
    rows = valid_rows(now)
    rows[1:1] = [
        {"event_id": "b1", "type": "teleport", "sku": "RED-1", "occurred_at": iso(now)},
        {"event_id": "b2", "type": "view", "sku": "NOPE-404", "occurred_at": iso(now)},
        {
            "event_id": "b3",
            "type": "view",
            "sku": "RED-1",
            "occurred_at": iso(now + timedelta(days=30)),
        },
        {"event_id": "b4", "type": "rating", "sku": "RED-1", "value": 9, "occurred_at": iso(now)},
        "not an object",
        {"event_id": "b6", "type": "view", "sku": "RED-1"},
        {"event_id": "b7", "type": "search", "occurred_at": iso(now)},
        {"event_id": "b8", "type": "view", "sku": "RED-1", "occurred_at": "yesterday"},
        {"event_id": "x" * 101, "type": "view", "sku": "RED-1", "occurred_at": iso(now)},
        {
            "event_id": "b10",
            "type": "view",
            "sku": "RED-1",
            "occurred_at": iso(now),
            "value": "NaN",
        },
    ]

    response = post_events(client, rows)

    assert response.status_code == 207
    body = response.json()
    assert body["created"] == 4 and body["duplicates"] == 0
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "type"),
        (2, "sku"),
        (3, "occurred_at"),
        (4, "value"),
        (5, "(row)"),
        (6, "occurred_at"),
        (7, "query"),
        (8, "occurred_at"),
        (9, "event_id"),
        (10, "value"),
    ]
    assert "NOPE-404" in body["errors"][1]["reason"]
    assert "future" in body["errors"][2]["reason"]
    assert {
        i.split(":", 1)[1] for i in Event.objects.values_list("client_event_id", flat=True)
    } == {"e1", "e2", "e3", "e4"}


def test_reposting_a_batch_creates_nothing(client, catalogue):
    rows = valid_rows()
    assert post_events(client, rows).json()["created"] == 4

    response = post_events(client, rows)

    assert response.status_code == 200
    assert response.json() == {"created": 0, "duplicates": 4, "errors": []}
    assert Event.objects.count() == 4


def test_rows_without_event_id_are_identified_by_content(client, catalogue):
    now = iso(timezone.now())
    row = {"type": "view", "sku": "RED-1", "occurred_at": now, "session_id": "s-1"}

    first = post_events(client, [row, dict(row), {**row, "session_id": "s-2"}])
    again = post_events(client, [row])

    assert first.json() == {"created": 2, "duplicates": 1, "errors": []}
    assert again.json() == {"created": 0, "duplicates": 1, "errors": []}


def test_a_batch_counts_toward_popularity_once_per_shopper_at_the_next_refresh(client, catalogue):
    red, matte = catalogue["red"], catalogue["matte"]
    Product.objects.update(popularity=0)

    post_events(client, valid_rows())
    assert Product.objects.get(pk=red.pk).popularity == 0  # not in the request
    popularity_refresh_task()  # what the worker runs every 10 minutes
    after = Product.objects.get(pk=red.pk).popularity
    post_events(client, valid_rows())  # duplicates: nothing new
    popularity_refresh_task()

    # A view and a purchase by one shopper count as the purchase alone; a rating as 2.
    assert 4.5 < after <= 5
    assert Product.objects.get(pk=red.pk).popularity == after
    assert 1.8 < Product.objects.get(pk=matte.pk).popularity <= 2


def test_new_events_are_announced_to_listeners(client, catalogue, monkeypatch):
    announced = []
    monkeypatch.setattr(
        events_batch, "events_recorded_notify", lambda *, events: announced.append(list(events))
    )
    user = UserFactory()
    client.force_login(user)

    post_events(client, valid_rows())
    post_events(client, valid_rows())  # duplicates: nothing new to announce

    (events,) = announced
    assert sorted(e.event_type for e in events) == ["purchase", "rating", "search", "view"]
    assert {e.user_id for e in events} == {user.pk}
    assert {e.session_id for e in events} == {client.session.session_key}


def test_events_recorded_signal_fires_after_commit(
    client, catalogue, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    events_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post_events(
                client,
                [
                    {
                        "event_id": "q1",
                        "type": "search",
                        "query": "red",
                        "occurred_at": iso(timezone.now()),
                        "session_id": "app-1",
                    }
                ],
            )
    finally:
        events_recorded.disconnect(listener)

    (kwargs,) = heard
    assert kwargs["session_ids"] == {"app-1"}
    assert kwargs["user_ids"] == set()
    assert kwargs["event_types"] == {"search"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "(body)"),
        ('{"events": [NaN]}', "(body)"),
        ("[]", "(body)"),
        ('"events"', "(body)"),
        ("{}", "events"),
        ('{"events": {"type": "view"}}', "events"),
        ('{"events": "view"}', "events"),
        ('{"events": null}', "events"),
    ],
)
def test_malformed_bodies_are_400(client, catalogue, body, field):
    response = client.post(EVENTS_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["details"]) == {field}
    assert not Event.objects.exists()


def test_batch_size_limit(client, catalogue):
    now = iso(timezone.now())
    rows = [
        {"event_id": f"n{i}", "type": "view", "sku": "RED-1", "occurred_at": now}
        for i in range(501)
    ]

    too_many = post_events(client, rows)
    assert too_many.status_code == 400
    assert set(too_many.json()["details"]) == {"events"}
    assert not Event.objects.exists()

    just_right = post_events(client, rows[:500])
    assert just_right.status_code == 200
    assert just_right.json()["created"] == 500


def test_empty_batch_is_fine(client, catalogue):
    response = post_events(client, [])
    assert response.status_code == 200
    assert response.json() == {"created": 0, "duplicates": 0, "errors": []}


def test_oversized_or_non_json_bodies(client, catalogue, monkeypatch):
    monkeypatch.setattr(api_events, "MAX_BODY_BYTES", 1000)
    big = post_events(
        client,
        [
            {
                "type": "view",
                "sku": "RED-1",
                "occurred_at": "2024-01-01",
                "context": {"x": "y" * 2000},
            }
        ],
    )
    assert big.status_code == 413

    form = client.post(EVENTS_URL, {"events": "x"})
    assert form.status_code == 415


def test_a_shoppers_event_ids_cannot_be_taken_by_another_caller(client):
    """Ids are scoped by the actor: another caller's identical ids are separate events."""
    ProductFactory(sku="SCOPE-1")
    alice, mallory = UserFactory(), UserFactory()
    row = {"event_id": "e1", "type": "view", "sku": "SCOPE-1", "occurred_at": "2024-01-01"}
    client.force_login(mallory)
    first = post_events(client, [row])
    client.force_login(alice)
    second = post_events(client, [row])
    assert first.json()["created"] == 1 and second.json()["created"] == 1
    assert Event.objects.filter(user=alice).count() == 1


def test_an_anonymous_devices_rows_are_attributed_to_the_device(client, catalogue):
    rows = valid_rows()[:2]
    rows[1]["session_id"] = "app-anon-42"  # a row naming its own session keeps it

    response = post_events(client, rows, HTTP_X_DEVICE_ID="phone-1234")

    assert response.status_code == 200, response.content
    events = {e.client_event_id: e for e in Event.objects.all()}
    device_row = events["sdevice:phone-1234:e1"]
    assert (device_row.user_id, device_row.session_id) == (None, "device:phone-1234")
    assert events["sapp-anon-42:e2"].session_id == "app-anon-42"
    assert not Session.objects.exists()  # no Django session for the device


def test_a_signed_in_shoppers_rows_stay_theirs_with_a_device_id(client, catalogue):
    me = UserFactory()
    client.force_login(me)

    response = post_events(client, valid_rows()[:1], HTTP_X_DEVICE_ID="phone-1234")

    assert response.status_code == 200
    event = Event.objects.get()
    assert (event.user_id, event.session_id) == (me.pk, client.session.session_key)


@pytest.mark.parametrize("device", ["short", "with space!", "d" * 58])
def test_a_malformed_device_id_refuses_the_batch(client, catalogue, device):
    response = post_events(client, valid_rows(), HTTP_X_DEVICE_ID=device)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["details"]) == ["X-Device-Id"]
    assert not Event.objects.exists()
    assert not Session.objects.exists()


def test_staff_without_the_permission_are_shoppers_like_any_other(client, catalogue):
    """Staff status is not a permission: without shop.add_event a staff member's rows
    are their own, whatever ``user`` they name."""
    victim, staff = UserFactory(username="victim-1"), UserFactory(is_staff=True)
    client.force_login(staff)
    row = {"event_id": "x1", "type": "view", "sku": "RED-1", "occurred_at": "2024-01-01"}

    response = post_events(client, [{**row, "user": "victim-1"}])

    assert response.status_code == 200
    assert not Event.objects.filter(user=victim).exists()
    assert Event.objects.filter(user=staff).count() == 1
