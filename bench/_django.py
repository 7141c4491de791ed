"""Django set-up for benchmarks: a throwaway database next to the one DATABASE_URL names.

Benchmarks never write into the configured database itself: on Postgres they create
(and drop first) ``<name>_bench_<suffix>`` on the same server; on SQLite they use a
fresh file under var/bench/. With REDIS_URL they cache under a key prefix of their own.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

import django
import environ
import psycopg
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# Event rows written per statement by insert_event_rows.
EVENT_ROWS_CHUNK = 20_000


def setup(suffix: str) -> str:
    """Point Django at a fresh benchmark database, migrate it, and return its vendor."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault(
        "SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    )
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.get("REDIS_URL"):
        # A fresh key space in the shared Redis: nothing cached by an earlier run (for
        # another database with the same ids) is read back, and nothing is flushed.
        os.environ["CACHE_KEY_PREFIX"] = f"bench-{suffix}-{int(time.time())}"
    os.environ["DATABASE_URL"] = _bench_database_url(os.environ.get("DATABASE_URL", ""), suffix)
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # Production settings serve static files from collectstatic's manifest (pages fail
    # without it on a fresh checkout).
    call_command("collectstatic", verbosity=0, interactive=False)
    return connection.vendor


def _bench_database_url(url: str, suffix: str) -> str:
    """A fresh database for this benchmark: on the Postgres server ``url`` names, else a
    SQLite file under var/bench/."""
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        config = environ.Env.db_url_config(url)
        name = f"{config['NAME']}_bench_{suffix}"
        _recreate_postgres_database(config, name)
        head, _, _ = url.rpartition("/")
        return f"{head}/{name}"
    path = ROOT / "var" / "bench" / f"{suffix}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f"{suffix}.sqlite3*"):
        stale.unlink()
    return f"sqlite:///{path}"


def _recreate_postgres_database(config: dict, name: str) -> None:
    with psycopg.connect(
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def view_row(
    user_id: int,
    product_id: int,
    event_id: str,
    occurred_at: datetime,
    received_at: datetime,
    event_type: str = "view",
) -> tuple:
    """A synthetic event row (EVENT_COLUMNS_ORDER; a view unless ``event_type`` says
    otherwise), source "bench"."""
    return (
        user_id,
        "",  # session_id
        product_id,
        event_type,
        None,  # value
        "",  # query
        None,  # position
        {},  # context
        "bench",  # source
        event_id,
        occurred_at,
        received_at,
    )


def insert_event_rows(rows: list[tuple]) -> None:
    """Write event rows through the shop's bulk writer (COPY on Postgres), in chunks."""
    # Imported once setup() has loaded the apps: the writer needs the models.
    from shop.events.writer import event_rows_insert

    for start in range(0, len(rows), EVENT_ROWS_CHUNK):
        event_rows_insert(rows=rows[start : start + EVENT_ROWS_CHUNK])
