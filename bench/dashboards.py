"""Dashboards at scale: every staff dashboard page against millions of events.

    python -m bench.dashboards --json OUT [--events 10000000] [--repeat 5]

On Postgres (DATABASE_URL; a throwaway database beside it), generates a catalogue,
shoppers and ``--events`` events over 90 days with SQL (every event type the shop logs,
searches with their result lists, clicks with query and position, recommendation
impressions, purchases with a price), then:
- times the rollups' first (full) refresh and an incremental one after 10,000 new
  events (``shop.rollups.rollups_refresh``, what the Celery task runs), and the same
  for products' popularity (``shop.popularity.popularity_refresh``);
- opens each dashboard page as staff ``--repeat`` times through Django's test client
  (the same views the admin serves) and reports the median and worst time, the number
  of SQL queries, and every sequential scan of the event table the planner would do for
  those queries (EXPLAIN of each captured SELECT): the pages read rollups and indexed
  ranges, never the whole log.
Writes {"events", "rollup_full_seconds", "rollup_incremental_seconds",
"popularity_full_seconds", "popularity_incremental_seconds", "pages": {name:
{"url", "status", "median_ms", "max_ms", "queries", "event_seq_scans"}}, "max_median_ms",
"event_seq_scans"}.
"""

from __future__ import annotations

import argparse
import json
import time

from bench import _django
from bench._common import command_line, report_write


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    vendor = _django.setup("dashboards")
    if vendor != "postgresql":
        parser.error("needs Postgres: set DATABASE_URL=postgres://...")
    # Here, not at the top: Django is configured by setup() above.
    from bench import _dashboards_work as work
    from shop.popularity import popularity_refresh
    from shop.rollups import rollups_refresh

    print(f"generating {args.events:,} events over {work.DAYS} days ...", flush=True)
    started = time.perf_counter()
    work.generate(args.events)
    generate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    full = rollups_refresh(full=True)
    full_seconds = time.perf_counter() - started
    print(f"rollups, first refresh: {full_seconds:.1f} s ({full['days']} days)", flush=True)
    popularity_full = popularity_refresh(full=True)
    print(f"popularity, every product: {popularity_full['seconds']:.1f} s", flush=True)
    with work.connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM shop_product")
        first_product = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM auth_user WHERE username LIKE 'shopper-%%'")
        first_user = cursor.fetchone()[0]
        params = work.event_params(args.events, 10_000, first_product, first_user)
        params["days"] = 0.5  # new events: the last twelve hours
        cursor.execute(work.EVENTS_SQL, params)
    started = time.perf_counter()
    incremental = rollups_refresh()
    incremental_seconds = time.perf_counter() - started
    print(f"rollups, after 10,000 new events: {incremental_seconds:.2f} s", flush=True)
    popularity_incremental = popularity_refresh()
    print(
        f"popularity, after 10,000 new events: {popularity_incremental['seconds']:.2f} s"
        f" ({popularity_incremental['products']:,} products)",
        flush=True,
    )
    pages = work.time_pages(args.repeat)
    report = {
        "command": command_line("bench.dashboards", argv),
        "events": args.events,
        "generate_seconds": round(generate_seconds, 1),
        "rollup_full_seconds": round(full_seconds, 2),
        "rollup_incremental_seconds": round(incremental_seconds, 3),
        "rollup_incremental_days": incremental["days"],
        # shop.popularity: every product (the first run, and daily), then the products
        # of the 10,000 new events (what the 10-minute task does within a day).
        "popularity_full_seconds": popularity_full["seconds"],
        "popularity_full_written": popularity_full["written"],
        "popularity_incremental_seconds": popularity_incremental["seconds"],
        "popularity_incremental_products": popularity_incremental["products"],
        "pages": pages,
        "max_median_ms": max((p["median_ms"] for p in pages.values()), default=None),
        "event_seq_scans": sum(p["event_seq_scans"] for p in pages.values()),
        "all_pages_ok": all(p["status"] == 200 for p in pages.values()),
    }
    report_write(args.json, report)
    print(json.dumps({k: v for k, v in report.items() if k != "pages"}, indent=2))
    return report


if __name__ == "__main__":
    main()
