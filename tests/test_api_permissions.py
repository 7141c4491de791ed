"""Who may call what: every endpoint of API v1, found from the URL conf (a new endpoint
without a rule here fails ``test_every_endpoint_has_a_rule``), called by each of five
callers with a valid request:

- ``anonymous``: no credentials;
- ``shopper``: the owner of the data the request touches, signed in with a token;
- ``other``: another shopper, signed in;
- ``staff``: staff without the endpoint's permission;
- ``permitted``: staff holding exactly the endpoint's permission.

Public endpoints answer everybody. Shopper endpoints answer 401 to anonymous callers,
and every shopper sees only their own data: what the owner stored never appears in
another caller's answer, and another caller sending the owner's credentials (refresh
token, password) is refused. Staff endpoints answer 401 to anonymous callers and 403 to
shoppers and to staff without the permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework_simplejwt.tokens import RefreshToken

from recommender.models import ModelVersion, TrainingRun
from shop.orders import cart_line_add
from shop.shoppers import Shopper
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-9"
OTHER_PASSWORD = "Other-Battery-7"
# Strings stored for the owner that must never reach another shopper.
SECRET_QUERY = "owner-secret-query"
SECRET_EMAIL = "owner-secret@example.com"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class World:
    """What a request may need: the owner and a product."""

    owner: object
    product: object


@dataclass(frozen=True)
class Rule:
    audience: str  # "public", "shopper" or "staff"
    permission: str = ""  # "app.codename" for staff endpoints
    # (world) -> (url kwargs, JSON body); defaults to no kwargs, no body.
    request: Callable[[World], tuple[dict, dict | None]] | None = None
    ok: tuple[int, ...] = (200,)
    # The request names the owner's own credentials (a refresh token, a password): any
    # other signed-in caller sending it is refused.
    owned: bool = False


def _product(world: World):
    return {"pk": world.product.pk}, None


def _events_body(world: World):
    row = {"event_id": "m1", "type": "view", "sku": world.product.sku, "occurred_at": "2024-01-01"}
    return {}, {"events": [row]}


def _sign_in(world: World):
    return {}, {"username": world.owner.username, "password": PASSWORD}


def _refresh(world: World):
    return {}, {"refresh": str(RefreshToken.for_user(world.owner))}


def _password(world: World):
    return {}, {"old_password": PASSWORD, "new_password": "An0ther-Secret-Pass"}


def _delete_me(world: World):
    return {}, {"password": PASSWORD}


def _owner_id(world: World):
    return {"user_id": world.owner.pk}, None


def _owner_cart(world: World):
    cart_line_add(shopper=Shopper(user_id=world.owner.pk), product_id=world.product.pk)
    return {}, None


def _owner_cart_line(world: World):
    _owner_cart(world)
    return {"product_id": world.product.pk}, None


def _model_version(world: World):
    version = ModelVersion.objects.create(run=None, metrics={"ndcg@10": 0.05}, artifact_path="")
    return {"pk": version.pk}, None


def _training_run(world: World):
    run = TrainingRun.objects.create(status=TrainingRun.Status.RUNNING)
    return {"pk": run.pk}, None


RULES: dict[tuple[str, str], Rule] = {
    # catalogue, search, recommendations
    ("get", "product-list"): Rule("public"),
    ("get", "product-detail"): Rule("public", request=_product),
    ("get", "product-similar"): Rule("public", request=_product),
    ("get", "category-list"): Rule("public"),
    ("get", "search"): Rule("public"),
    ("get", "search-autocomplete"): Rule("public"),
    ("get", "recommendations"): Rule("public"),
    ("post", "events"): Rule("public", request=_events_body),
    # sign-in
    ("post", "auth-sign-up"): Rule(
        "public",
        request=lambda w: (
            {},
            {"username": "newbie", "email": "n@example.com", "password": PASSWORD},
        ),
        ok=(201,),
    ),
    ("post", "auth-token"): Rule("public", request=_sign_in),
    ("post", "auth-token-refresh"): Rule("public", request=_refresh),
    ("post", "auth-sign-out"): Rule("shopper", request=_refresh, ok=(204,), owned=True),
    ("post", "auth-password"): Rule("shopper", request=_password, owned=True),
    # the shopper's own data
    ("get", "me"): Rule("shopper"),
    ("patch", "me"): Rule("shopper", request=lambda w: ({}, {"first_name": "Ada"})),
    ("post", "me-personalization"): Rule("shopper", request=lambda w: ({}, {"enabled": False})),
    ("get", "me-recently-viewed"): Rule("shopper"),
    ("get", "my-events"): Rule("shopper"),
    ("get", "me-export"): Rule("shopper"),
    ("post", "me-delete"): Rule("shopper", request=_delete_me, owned=True),
    # the shopper's cart and orders
    ("get", "cart"): Rule("shopper", request=_owner_cart),
    ("post", "cart-lines"): Rule(
        "shopper", request=lambda w: ({}, {"product": w.product.pk}), ok=(201,)
    ),
    ("patch", "cart-line"): Rule(
        "shopper", request=lambda w: ({"product_id": w.product.pk}, {"quantity": 2})
    ),
    ("delete", "cart-line"): Rule("shopper", request=_owner_cart_line),
    ("get", "orders"): Rule("shopper"),
    # 409: another shopper's cart is empty.
    ("post", "orders"): Rule("shopper", request=_owner_cart, ok=(201, 409)),
    # staff
    ("get", "staff-search-analytics"): Rule("staff", "shop.view_event"),
    ("get", "staff-shopper-history"): Rule("staff", "shop.view_event", request=_owner_id),
    ("get", "staff-shopper-recommendations"): Rule("staff", "shop.view_event", request=_owner_id),
    ("get", "staff-model-version-list"): Rule("staff", "recommender.view_modelversion"),
    ("get", "staff-model-version-detail"): Rule(
        "staff", "recommender.view_modelversion", request=_model_version
    ),
    # 409: permitted, and refused by the service (this version has no artifact to load).
    ("post", "staff-model-version-activate"): Rule(
        "staff", "recommender.change_modelversion", request=_model_version, ok=(200, 409)
    ),
    ("post", "staff-model-version-rollback"): Rule(
        "staff", "recommender.change_modelversion", ok=(200, 409)
    ),
    ("get", "staff-training-run-list"): Rule("staff", "recommender.view_trainingrun"),
    ("post", "staff-training-run-list"): Rule(
        "staff",
        "recommender.add_trainingrun",
        request=lambda w: ({}, {"max_epochs": 1}),
        ok=(202,),
    ),
    ("get", "staff-training-run-detail"): Rule(
        "staff", "recommender.view_trainingrun", request=_training_run
    ),
    ("post", "staff-training-run-cancel"): Rule(
        "staff", "recommender.change_trainingrun", request=_training_run, ok=(202,)
    ),
}


def _v1_endpoints() -> set[tuple[str, str]]:
    """(method, url name) of every v1 route, from the URL conf."""
    found: set[tuple[str, str]] = set()

    def walk(patterns, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace == "v1":
                view = getattr(pattern.callback, "cls", None) or getattr(
                    pattern.callback, "view_class", None
                )
                for method in METHODS:
                    if view is not None and hasattr(view, method):
                        found.add((method, pattern.name))

    walk(get_resolver().url_patterns, None)
    return found


def test_every_endpoint_has_a_rule():
    endpoints = _v1_endpoints()
    assert endpoints, "no v1 routes found"
    assert endpoints - set(RULES) == set(), "endpoints without a permission rule"
    assert set(RULES) - endpoints == set(), "rules for endpoints that do not exist"


def _world(rule: Rule) -> World:
    owner = UserFactory(username="owner", email=SECRET_EMAIL, password=PASSWORD)
    product = ProductFactory(sku="PERM-1", title="Permission lipstick")
    EventFactory(user=owner, product=None, event_type="search", query=SECRET_QUERY)
    EventFactory(user=owner, product=product)
    return World(owner=owner, product=product)


def _caller(role: str, rule: Rule, world: World) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if role == "shopper":
        user = world.owner
    elif role == "other":
        user = UserFactory(username="other", password=OTHER_PASSWORD)
    else:
        user = UserFactory(username=role, is_staff=True, password=OTHER_PASSWORD)
        if role == "permitted" and rule.permission:
            app_label, codename = rule.permission.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    token = RefreshToken.for_user(user).access_token
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _expected(rule: Rule, role: str) -> tuple[int, ...]:
    if rule.audience == "public":
        return rule.ok
    if role == "anonymous":
        return (401,)
    if rule.audience == "shopper":
        return (400, 403) if rule.owned and role != "shopper" else rule.ok
    return rule.ok if role == "permitted" else (403,)


ROLES = ("anonymous", "shopper", "other", "staff", "permitted")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(RULES), ids=lambda e: f"{e[0].upper()} {e[1]}")
def test_permission_matrix(endpoint, role):
    method, name = endpoint
    if (method, name) not in _v1_endpoints():
        pytest.fail(f"{method.upper()} v1:{name} is not routed")
    rule = RULES[endpoint]
    world = _world(rule)
    kwargs, body = rule.request(world) if rule.request else ({}, None)
    client = _caller(role, rule, world)
    url = reverse(f"v1:{name}", kwargs=kwargs)
    send = getattr(client, method)
    response = (
        send(url, data=body, content_type="application/json") if body is not None else send(url)
    )

    assert response.status_code in _expected(rule, role), (
        f"{method.upper()} {url} as {role}: {response.status_code} "
        f"{getattr(response, 'content', b'')[:300]!r}"
    )
    if role != "shopper" and rule.audience == "shopper" and response.status_code < 300:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET_QUERY.encode() not in content and SECRET_EMAIL.encode() not in content
