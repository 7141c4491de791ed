"""Ingest benchmark: load a generated batch of events through the import_events path.

    python -m bench.ingest --json OUT [--events 500000]

Generates products, then a CSV of events (several types, users and anonymous sessions,
90 days of timestamps), and loads it with the same functions as `manage.py
import_events` (read_rows -> import_event_rows -> shop.events: validation, SKU/user
resolution, batched idempotent writes, then the popularity refresh). Then loads the same
file again to time the idempotent re-run. Loads it --repeat times (3) into emptied
tables and reports the median.
Writes {"events_per_second", "events", "median_of", "runs", ...}.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import _django
from bench._common import report_write

TYPES = ["view"] * 60 + ["click"] * 20 + ["add_to_cart"] * 10 + ["purchase"] * 5 + ["search"] * 5


def generate(
    path: Path, *, columns: tuple[str, ...], events: int, products: int, users: int, seed: int = 1
) -> None:
    """A CSV of ``events`` rows with the given importer ``columns``."""
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        for n in range(events):
            kind = rng.choice(TYPES)
            anonymous = rng.random() < 0.2
            sku = "" if kind == "search" else f"BENCH-{int(rng.paretovariate(1.2)) % products:06d}"
            writer.writerow(
                {
                    "event_id": f"b{n}",
                    "user": "" if anonymous else f"bench-user-{rng.randrange(users)}",
                    "session_id": f"sess-{rng.randrange(users * 2)}" if anonymous else "",
                    "sku": sku,
                    "type": kind,
                    "value": rng.randint(1, 3) if kind in ("add_to_cart", "purchase") else "",
                    "query": "red nail polish" if kind == "search" else "",
                    "position": rng.randint(1, 24) if kind == "click" else "",
                    "occurred_at": (start + timedelta(seconds=n * 15)).isoformat(),
                }
            )


def _reset() -> None:
    """Empty the event table and drop the shoppers the import created."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from shop.models import Event

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Event._meta.db_table}")
    else:
        Event.objects.all().delete()
    get_user_model().objects.filter(username__startswith="bench-user-").delete()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", required=True, help="write the figures here")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="loads to take the median of")
    args = parser.parse_args()

    vendor = _django.setup("ingest")
    from shop.events.validation import EVENT_COLUMNS
    from shop.importers import import_event_rows, read_rows
    from shop.models import Event, Product

    Product.objects.bulk_create(
        [Product(sku=f"BENCH-{i:06d}", title=f"Bench product {i}") for i in range(args.products)],
        batch_size=5000,
    )
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        generate(
            path,
            # The columns the generated rows fill (context and source stay the defaults).
            columns=tuple(c for c in EVENT_COLUMNS if c not in ("context", "source")),
            events=args.events,
            products=args.products,
            users=args.users,
        )
        for repeat in range(args.repeat):
            if repeat:
                _reset()  # the next load starts from the same empty tables
            errors: list = []
            started = time.perf_counter()
            report = import_event_rows(read_rows(path), file_name=path.name, on_error=errors.append)
            seconds = time.perf_counter() - started
            rerun_started = time.perf_counter()
            rerun = import_event_rows(read_rows(path), file_name=path.name, on_error=errors.append)
            rerun_seconds = time.perf_counter() - rerun_started
            stored = Event.objects.count()
            assert stored == report.created == args.events and rerun.created == 0, (
                stored,
                report.created,
                rerun.created,
            )
            runs.append(
                {
                    "seconds": seconds,
                    "events_per_second": report.created / seconds,
                    "rerun_seconds": rerun_seconds,
                    "failed_rows": report.failed,
                }
            )
            print(
                f"  run {repeat + 1}: {report.created:,} events in {seconds:.1f} s"
                f" = {report.created / seconds:,.0f} events/s; re-run {rerun_seconds:.1f} s"
            )
    seconds = statistics.median(r["seconds"] for r in runs)
    rerun_seconds = statistics.median(r["rerun_seconds"] for r in runs)
    result = {
        "events_per_second": args.events / seconds,
        "events": args.events,
        "seconds": seconds,
        "failed_rows": runs[-1]["failed_rows"],
        "stored_events": stored,
        "rerun_seconds": rerun_seconds,
        "rerun_created": rerun.created,
        "rerun_events_per_second": args.events / rerun_seconds,
        "database": vendor,
        "median_of": len(runs),
        "runs": runs,
        "batch_size": 5000,
        "cpu_count": os.cpu_count(),
    }
    print(
        f"ingest ({vendor}): {args.events:,} events in {seconds:.1f} s ="
        f" {result['events_per_second']:,.0f} events/s (median of {len(runs)} loads)"
    )
    print(f"re-run (all duplicates): {rerun_seconds:.1f} s, {rerun.created} created")
    report_write(args.json, result)


if __name__ == "__main__":
    main()
