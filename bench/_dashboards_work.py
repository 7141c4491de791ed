"""The Django side of bench.dashboards (imported once bench._django.setup() has
configured Django): generating the events, timing the pages, reading the plans."""

from __future__ import annotations

import statistics
import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver

from shop.dashboards.nav import dashboard_pages

DAYS = 90
PRODUCTS = 50_000
USERS = 200_000
CHUNK = 1_000_000


def generate(events: int) -> None:
    """Products, users and events, written by the database itself (generate_series)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_product (sku, title, description, price, currency, stock,"
            " is_active, attributes, image_url, popularity, trending, created_at, updated_at)"
            " SELECT 'B-' || n, 'Bench product ' || n, '', (n %% 200) + 0.99, 'EUR', 10,"
            " true, '{}', '', 0, 0, now() - interval '200 days', now()"
            " FROM generate_series(1, %s) n",
            [PRODUCTS],
        )
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined)"
            " SELECT '!', false, 'shopper-' || n, '', '', '', false, true,"
            " now() - interval '200 days' FROM generate_series(1, %s) n",
            [USERS],
        )
        cursor.execute("SELECT min(id) FROM shop_product")
        first_product = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM auth_user WHERE username LIKE 'shopper-%%'")
        first_user = cursor.fetchone()[0]
        for start in range(0, events, CHUNK):
            count = min(CHUNK, events - start)
            cursor.execute(EVENTS_SQL, event_params(start, count, first_product, first_user))
            print(f"  {start + count:,} events", flush=True)
        cursor.execute("ANALYZE")


# One row per n: a type by a uniform draw r (views 55%, clicks 15%, searches 10%,
# impressions 8%, carts 6%, purchases 3%, ratings 2%, removals 1%), a shopper (one in
# five anonymous), a product drawn with a heavy head, a time over the last DAYS days.
EVENTS_SQL = """
INSERT INTO shop_event (user_id, session_id, product_id, event_type, value, query, position,
                        context, source, client_event_id, occurred_at, received_at)
SELECT
  CASE WHEN anon THEN NULL ELSE %(first_user)s + (shopper %% %(users)s) END,
  CASE WHEN anon THEN 'bench-session-' || shopper ELSE '' END,
  CASE WHEN kind IN ('search', 'impression') THEN NULL ELSE product END,
  kind,
  CASE WHEN kind = 'purchase' THEN 1 + (n %% 3) WHEN kind = 'rating' THEN 1 + (n %% 5) END,
  CASE WHEN kind = 'search' OR (kind = 'click' AND n %% 2 = 0) THEN 'query ' || (product %% 500)
       ELSE '' END,
  CASE WHEN kind = 'click' AND n %% 2 = 0 THEN 1 + (n %% 20) END,
  CASE
    WHEN kind = 'search' THEN jsonb_build_object(
      'results', CASE WHEN n %% 20 = 0 THEN 0 ELSE 24 END,
      'shown', CASE WHEN n %% 20 = 0 THEN '[]'::jsonb
                    ELSE to_jsonb(ARRAY[product, product + 1, product + 2]) END,
      'personalized', n %% 2 = 0)
    WHEN kind = 'impression' THEN jsonb_build_object(
      'list', 'recommendations', 'shown', to_jsonb(ARRAY[product, product + 1]))
    WHEN kind = 'purchase' THEN jsonb_build_object('price', (product %% 200) + 0.99)
    ELSE '{}'::jsonb END,
  'bench',
  'e' || n,
  now() - (random() * %(days)s) * interval '1 day',
  now()
FROM (
  SELECT n, r, anon, shopper,
         %(first_product)s + least(floor(pow(random(), 3) * %(products)s)::int,
                                   %(products)s - 3) AS product,
         CASE WHEN r < 0.55 THEN 'view' WHEN r < 0.70 THEN 'click' WHEN r < 0.80 THEN 'search'
              WHEN r < 0.88 THEN 'impression' WHEN r < 0.94 THEN 'add_to_cart'
              WHEN r < 0.97 THEN 'purchase' WHEN r < 0.99 THEN 'rating'
              ELSE 'remove_from_cart' END AS kind
  FROM (SELECT n, random() AS r, random() < 0.2 AS anon,
               floor(random() * %(users)s)::int AS shopper
        FROM generate_series(%(start)s, %(end)s) n) drawn
) typed
"""


def event_params(start: int, count: int, first_product: int, first_user: int) -> dict:
    return {
        "start": start + 1,
        "end": start + count,
        "users": USERS,
        "products": PRODUCTS,
        "first_product": first_product,
        "first_user": first_user,
        "days": DAYS,
    }


def _pages() -> list[tuple[str, str]]:
    """(name, URL) of every dashboard page a superuser sees, plus detail pages."""
    staff = get_user_model().objects.get(username="bench-staff")
    _ = get_resolver().url_patterns  # the pages register themselves as the URL conf loads
    pages = [(page.url_name, url) for page, url in dashboard_pages(staff)]
    return pages + _detail_pages(dict(pages))


def _detail_pages(urls: dict[str, str]) -> list[tuple[str, str]]:
    """Pages that need a subject: a busy shopper in the inspector, a year's range."""
    extra = []
    if "inspector" in urls:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT user_id FROM shop_event WHERE user_id IS NOT NULL"
                " AND occurred_at > now() - interval '1 day' LIMIT 1"
            )
            user_id = cursor.fetchone()[0]
        extra.append(("inspector-shopper", f"{urls['inspector']}?user={user_id}&q=query+1"))
    for name in ("overview", "search"):
        if name in urls:
            extra.append((f"{name}-90-days", f"{urls[name]}?days=90"))
    return extra


def _event_seq_scans(queries: list[dict]) -> int:
    """How many of the captured SELECTs the planner would answer with a sequential scan
    of the event table."""
    scans = 0
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or "shop_event" not in sql:
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            scans += _seq_scans_of(cursor.fetchone()[0])
    return scans


def _seq_scans_of(plan) -> int:
    def walk(node) -> int:
        found = 0
        if isinstance(node, dict):
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == "shop_event":
                found += 1
            for value in node.values():
                found += walk(value)
        elif isinstance(node, list):
            found += sum(walk(value) for value in node)
        return found

    return walk(plan)


def time_pages(repeat: int) -> dict:
    staff = get_user_model().objects.create_superuser("bench-staff", "", "bench-password-1")
    client = Client()
    client.force_login(staff)
    results = {}
    for name, url in _pages():
        timings = []
        status = None
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            status = response.status_code
        scans = _event_seq_scans(captured.captured_queries)
        results[name] = {
            "url": url,
            "status": status,
            "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
            "queries": len(captured.captured_queries),
            "event_seq_scans": scans,
        }
        print(
            f"  {name:24} {status} median {results[name]['median_ms']:8.1f} ms"
            f"  max {results[name]['max_ms']:8.1f} ms  {len(captured.captured_queries):3d}"
            f" queries  {scans} event seq scans",
            flush=True,
        )
    return results
