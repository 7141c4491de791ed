"""Django set-up for benchmarks: a throwaway database next to the one DATABASE_URL names.

Benchmarks never write into the configured database itself: on Postgres they create
(and drop first) ``<name>_bench_<suffix>`` on the same server; on SQLite they use a
fresh file under var/bench/. With REDIS_URL they cache under a key prefix of their own.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    import environ

    if os.environ.get("REDIS_URL"):
        # A fresh key space in the shared Redis: nothing cached by an earlier run (for
        # another database with the same ids) is read back, and nothing is flushed.
        os.environ["CACHE_KEY_PREFIX"] = f"bench-{suffix}-{int(time.time())}"
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        config = environ.Env.db_url_config(url)
        name = f"{config['NAME']}_bench_{suffix}"
        _recreate_postgres_database(config, name)
        head, _, _ = url.rpartition("/")
        os.environ["DATABASE_URL"] = f"{head}/{name}"
    else:
        path = ROOT / "var" / "bench" / f"{suffix}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{suffix}.sqlite3*"):
            stale.unlink()
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.db import connection

    return connection.vendor


def _recreate_postgres_database(config: dict, name: str) -> None:
    import psycopg

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
