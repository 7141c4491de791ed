"""What bench.api_load's clients send: GETs of the timed shoppers (a Bearer token, or
the storefront's session cookie), event batches of the others."""

from __future__ import annotations

import json
import random
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench._load import MakeRequest, Phase, ReadResponse, drive, read_ok
from bench.search_load import ADJECTIVES, MATERIALS, NOUNS

BARE_PATH = "/api/v1/bench/bare/"
SEARCH_PAGE_SIZE = 24
INGEST_TYPES = ["view"] * 8 + ["click", "add_to_cart"]
GET_KINDS = ("bare", "recommendations", "search", "storefront_search")
KINDS = (*GET_KINDS, "ingest")
SEARCH_KINDS = ("search", "storefront_search")
# What templates/shop/search.html says above a personalized order.
STOREFRONT_PERSONALIZED = b"ordered for you"


def search_queries() -> list[str]:
    return (
        NOUNS
        + [f"{a} {n}" for a in ADJECTIVES[:8] for n in NOUNS[:12]]
        + [f"{m} {n}" for m in MATERIALS for n in NOUNS[:10]]
    )


def get_requests(base: str, tokens: list[str], cookies: list[str]) -> dict[str, MakeRequest]:
    """A request maker per GET kind. Search and the storefront draw the same queries
    and shoppers from the same seeds."""
    queries = search_queries()

    def bearer(path: str) -> MakeRequest:
        def make(rng: random.Random, client: int, n: int) -> urllib.request.Request:
            return urllib.request.Request(
                base + path,
                headers={
                    "Authorization": f"Bearer {rng.choice(tokens)}",
                    "Accept": "application/json",
                },
            )

        return make

    def search(prefix: str, auth: Callable[[random.Random], dict]) -> MakeRequest:
        def make(rng: random.Random, client: int, n: int) -> urllib.request.Request:
            headers = auth(rng)  # the shopper first, then the query (both kinds alike)
            query = urllib.request.quote(rng.choice(queries))
            url = f"{base}{prefix}?q={query}&page_size={SEARCH_PAGE_SIZE}"
            return urllib.request.Request(url, headers=headers)

        return make

    return {
        "bare": bearer(BARE_PATH),
        "recommendations": bearer("/api/v1/recommendations/"),
        "search": search(
            "/api/v1/search/",
            lambda rng: {
                "Authorization": f"Bearer {rng.choice(tokens)}",
                "Accept": "application/json",
            },
        ),
        "storefront_search": search(
            "/search/", lambda rng: {"Cookie": f"sessionid={rng.choice(cookies)}"}
        ),
    }


def every_query(base: str, token: str) -> MakeRequest:
    """Each search query once, through the API (their matches are cached per query and
    filters, for every shopper): neither search kind meets a cold query first."""
    queries = search_queries()

    def make(rng: random.Random, client: int, n: int) -> urllib.request.Request:
        query = urllib.request.quote(queries[(n * 2 + client) % len(queries)])
        return urllib.request.Request(
            f"{base}/api/v1/search/?q={query}&page_size={SEARCH_PAGE_SIZE}",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    return make


def first_asks(base: str, tokens: list[str], clients: int) -> MakeRequest:
    """Each timed shopper's recommendations once: the first ask renders the page that
    their later asks are answered from (shop.recommendations keeps it), as the search
    warm-up asks every query once."""

    def make(rng: random.Random, client: int, n: int) -> urllib.request.Request:
        token = tokens[(n * clients + client) % len(tokens)]
        return urllib.request.Request(
            f"{base}/api/v1/recommendations/",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    return make


def ingest_request(
    base: str, tokens: list[str], skus: list[str], *, batch_size: int, label: str
) -> MakeRequest:
    """Batches of ``batch_size`` new events (views mostly, some clicks and carts), each
    from the next shopper in turn: no shopper comes near the 600/min batch throttle."""

    def make(rng: random.Random, client: int, n: int) -> urllib.request.Request:
        now = datetime.now(UTC)
        events = []
        for i in range(batch_size):
            kind = rng.choice(INGEST_TYPES)
            row = {
                "event_id": f"{label}-{client}-{n}-{i}",
                "sku": rng.choice(skus),
                "type": kind,
                "occurred_at": (now - timedelta(milliseconds=batch_size - i)).isoformat(),
            }
            if kind == "add_to_cart":
                row["value"] = 1
            events.append(row)
        token = tokens[(client * 7919 + n) % len(tokens)]
        return urllib.request.Request(
            f"{base}/api/v1/events/",
            data=json.dumps({"events": events}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )

    return make


def ingest_read(batch_size: int) -> ReadResponse:
    """A batch stores its ``created`` events; the rest of it (refused rows, duplicates,
    or the whole batch when the request failed) are errors."""

    def read(status: int, body: bytes) -> tuple[int, int]:
        if status not in (200, 207):
            return 0, batch_size
        try:
            created = int(json.loads(body)["created"])
        except (ValueError, KeyError, TypeError):
            return 0, batch_size
        return created, batch_size - created

    return read


def personalized(kind: str, body: bytes) -> bool:
    """Whether a search answer is ordered for its shopper: the API says so in its JSON,
    the storefront's page in its text."""
    if kind == "search":
        try:
            return json.loads(body).get("personalized") is True
        except (ValueError, AttributeError):
            return False
    return STOREFRONT_PERSONALIZED in body


@dataclass
class Traffic:
    """What the clients send: the GET kinds as the timed shoppers (``readers``), event
    batches as the others (``senders``)."""

    base: str
    reader_tokens: list[str]
    reader_cookies: list[str]
    sender_tokens: list[str]
    skus: list[str]
    clients: int
    batch_size: int
    # Search answers ordered for their shopper, per kind (both kinds must be, or they
    # would not compare like with like).
    personalized: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Every timed shopper's first ask for recommendations (warm_up), reported apart.
    first_ask: Phase = field(default_factory=Phase)

    def phase(self, kind: str, seed: int, n: int, label: str) -> Phase:
        """``n`` requests (or batches) per client of ``kind``."""
        if kind == "ingest":
            make = ingest_request(
                self.base, self.sender_tokens, self.skus, batch_size=self.batch_size, label=label
            )
            read = ingest_read(self.batch_size)
        else:
            make = get_requests(self.base, self.reader_tokens, self.reader_cookies)[kind]
            read = self._counting(kind) if kind in SEARCH_KINDS else read_ok
        return drive(make, read, clients=self.clients, requests=n, seed=seed)

    def warm_up(self) -> None:
        """Every search query once, every timed shopper's recommendations once, then a
        few requests of every kind (the worker loads the model and fills its caches on
        every path)."""
        queries = len(search_queries())
        make = every_query(self.base, self.reader_tokens[0])
        warm = drive(make, read_ok, clients=2, requests=queries // 2 + 1, seed=0)
        self.first_ask = drive(
            first_asks(self.base, self.reader_tokens, self.clients),
            read_ok,
            clients=self.clients,
            requests=-(-len(self.reader_tokens) // self.clients),
            seed=0,
        )
        warm.add(self.first_ask)
        for kind in KINDS:
            warm.add(self.phase(kind, 99, 2 if kind == "ingest" else 10, "warm"))
        if warm.errors:
            raise SystemExit(f"{warm.errors} errors while warming up")
        unordered = [kind for kind in SEARCH_KINDS if not self.personalized[kind]]
        if unordered:
            raise SystemExit(f"no personalized answer while warming up: {unordered}")
        self.personalized.clear()

    def _counting(self, kind: str) -> ReadResponse:
        def read(status: int, body: bytes) -> tuple[int, int]:
            if status == 200 and personalized(kind, body):
                with self.lock:
                    self.personalized[kind] += 1
            return read_ok(status, body)

        return read
