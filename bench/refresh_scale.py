"""Top-K refresh at catalogue scale: rate, memory, and the projection to 1M x 100k.

    DATABASE_URL=postgres://... python -m bench.refresh_scale --json OUT [--products 100000 --users 20000]

Builds a synthetic shop in its own database (bench/_django.py): P products with titles
and categories, U shoppers with ~10 events each (written through the importer's COPY
path), trains a small model briefly, then runs the same chunk task the Celery fan-out
runs (refresh_chunk over user-id ranges) in this process and measures shoppers per
second and peak memory. Each chunk holds one (chunk x items) score matrix, so memory
is bounded by the chunk size, not by the number of users; workers share nothing but
the database, so the rate adds up across workers. Writes {"users_per_second", ...,
"projection": {...}}.
"""

from __future__ import annotations

import random
import resource
import time
from datetime import UTC, datetime, timedelta

from bench import _django
from bench._common import report_write, synthetic_shop_parser

WORDS = [
    "serum",
    "cream",
    "lotion",
    "shampoo",
    "polish",
    "brush",
    "mascara",
    "gel",
    "oil",
    "mask",
    "cleanser",
    "toner",
    "balm",
    "spray",
    "powder",
    "liner",
]
COLORS = ["red", "blue", "rose", "nude", "black", "coral", "gold", "silver", "clear", "pink"]


def main() -> None:
    parser = synthetic_shop_parser(__doc__, products=100_000, users=20_000)
    parser.add_argument("--chunk-users", type=int, default=2000)
    parser.add_argument("--target-users", type=int, default=1_000_000)
    args = parser.parse_args()
    vendor = _django.setup("refresh")
    from django.contrib.auth import get_user_model

    from recommender import tasks
    from recommender.models import ModelVersion
    from recommender.serving import model as serving
    from recommender.serving.refresh import user_id_ranges
    from recommender.training.runs import training_run_create, training_run_execute
    from shop.models import Category, Product

    rng = random.Random(3)
    categories = [
        Category.objects.create(name=f"Category {i}", slug=f"category-{i}") for i in range(50)
    ]
    Product.objects.bulk_create(
        [
            Product(
                sku=f"S{i:07d}",
                title=f"{rng.choice(COLORS)} {rng.choice(WORDS)} {rng.choice(WORDS)} {i % 997}",
                category=categories[i % 50],
                stock=10,
            )
            for i in range(args.products)
        ],
        batch_size=5000,
    )
    product_ids = list(Product.objects.values_list("pk", flat=True))
    User = get_user_model()
    User.objects.bulk_create(
        [User(username=f"u{i}", password="!") for i in range(args.users)], batch_size=5000
    )
    user_ids = list(User.objects.values_list("pk", flat=True))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    rows = []
    for n, uid in enumerate(user_ids):
        base = rng.randrange(len(product_ids))
        for step in range(rng.randint(5, 15)):
            pid = product_ids[(base + step * 7 + rng.randrange(3)) % len(product_ids)]
            occurred_at = start + timedelta(minutes=n * 20 + step)
            rows.append(_django.view_row(uid, pid, f"{n}-{step}", occurred_at, now))
    _django.insert_event_rows(rows)
    print(
        f"{vendor}: {len(product_ids):,} products, {len(user_ids):,} shoppers, {len(rows):,} events"
    )

    run = training_run_create(
        parameters={"max_epochs": 1, "max_train_seconds": 120, "dim": 64, "activate": "never"}
    )
    t0 = time.perf_counter()
    version = training_run_execute(run_id=run.pk)
    train_seconds = time.perf_counter() - t0
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    serving.reset()
    loaded = serving.active_model()
    ranges = user_id_ranges(args.chunk_users)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    chunk_seconds = []
    written = 0
    t0 = time.perf_counter()
    for low, high in ranges:
        c0 = time.perf_counter()
        written += tasks.refresh_chunk(loaded.version_id, low, high)
        chunk_seconds.append(time.perf_counter() - c0)
    seconds = time.perf_counter() - t0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rate = written / seconds
    projection = {
        f"{workers}_workers_hours": round(args.target_users / (rate * workers) / 3600, 2)
        for workers in (1, 4, 16)
    }
    result = {
        "users_per_second": rate,
        "users": written,
        "products": len(product_ids),
        "seconds": seconds,
        "chunk_users": args.chunk_users,
        "chunk_seconds_median": sorted(chunk_seconds)[len(chunk_seconds) // 2],
        "peak_rss_mb": rss_after / 1024,
        "rss_growth_during_refresh_mb": (rss_after - rss_before) / 1024,
        "train_seconds": train_seconds,
        "database": vendor,
        "projection": {"target_users": args.target_users, "items": args.products, **projection},
    }
    print(
        f"refresh: {written:,} shoppers x {len(product_ids):,} items in {seconds:.1f} s = {rate:,.0f} shoppers/s per worker; "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (+{result['rss_growth_during_refresh_mb']:.0f} MB during the refresh)"
    )
    print(
        f"projection for {args.target_users:,} shoppers: "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in projection.items())
    )
    report_write(args.json, result)


if __name__ == "__main__":
    main()
