"""Search under concurrent load: lexical-only against personalized, in the same run.

    python -m bench.search_load --json OUT [--products 100000] [--clients 8]
        [--requests 150] [--workers 2] [--rounds 2]

Builds a synthetic catalogue (100,000 products with brand / adjective / material / noun /
size titles in a two-level category tree) and shoppers with histories of views that
stay near their favourite categories, trains a small model on them and activates it,
then serves the project with gunicorn on 127.0.0.1 and drives GET /api/v1/search/ with
``--clients`` concurrent clients, each logged in as a shopper (a real session cookie).
Lexical-only requests come from shoppers who opted out of personalization (the same
code path, minus the re-ranking); personalized ones from the others. The two kinds run
in alternating phases (lexical, personalized, lexical, ...) so that both see the same
machine state; every client makes a bounded number of requests per phase.

Before the phases, each server's first search is timed as soon as the server answers
HTTP (one personalized shopper, a query no warm-up searched): "first_request_ms" for a
server that warms up at start (config/warmup.py), and "first_request_cold_ms" for this
code served once more with WARMUP_ON_START=0 (the model loaded by that first request).

Writes {"lexical": {"rps", "p50_ms", "p95_ms", "p99_ms", "errors"}, "personalized": {...},
"first_request_ms", "first_request_cold_ms", ...}. Uses its own database (bench/_django.py): Postgres when DATABASE_URL names one.

With ``--baseline DIR`` (a checkout of another commit, e.g. ``git worktree add DIR
COMMIT``), that code serves the same catalogue, database and cache too, and every phase
runs against this code and then against the baseline: the JSON adds "baseline" (the
same figures) and "vs_baseline" (this code's / the baseline's, e.g.
"personalized_p95_ms"), a comparison that the machine's own drift does not bias.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import _django
from bench._common import command_line, report_write, synthetic_shop_parser

BRANDS_PREFIX = ["Acu", "Bolt", "Core", "Dyna", "Evo", "Flex", "Gear", "Hexa", "Ion", "Jet"]
BRANDS_SUFFIX = ["tech", "pro", "works", "line", "max", "craft", "lab", "forge", "tool", "gen"]
ADJECTIVES = (  # noqa: SIM905 (a word list reads better as text)
    "heavy duty compact portable cordless industrial precision digital magnetic "
    "adjustable waterproof stainless reinforced lightweight ergonomic insulated high "
    "temperature"
).split()
MATERIALS = (  # noqa: SIM905 (a word list reads better as text)
    "steel aluminum nylon brass rubber silicone ceramic carbon titanium copper"
).split()
NOUNS = (  # noqa: SIM905 (a word list reads better as text)
    "drill wrench clamp gloves tape sander saw hammer pliers multimeter caliper "
    "respirator filament nozzle bearing hose valve fitting cable connector switch "
    "relay battery charger lamp goggles scale thermometer funnel beaker pipette "
    "microscope"
).split()
SIZES = ["1/4 inch", "1/2 inch", "3 mm", "5 mm", "10 pack", "25 ft", "2 lb", "XL", "M", "set of 6"]
CATEGORY_TOPS = [
    "Power Tools",
    "Hand Tools",
    "Safety",
    "Electrical",
    "Plumbing",
    "Lab Supplies",
    "3D Printing",
    "Fasteners",
    "Abrasives",
    "Adhesives",
    "Measuring",
    "Lighting",
    "Hydraulics",
    "Welding",
    "Janitorial",
    "Material Handling",
    "Filtration",
    "Motors",
    "Packaging",
    "Test Equipment",
]


def build_data(*, products: int, users: int, rng: random.Random) -> dict:
    from django.contrib.auth import get_user_model

    from shop.models import Brand, Category, Product, ShopperProfile

    leaves = []
    for top in CATEGORY_TOPS:
        parent = Category.objects.create(name=top)
        for n in range(15):
            leaves.append(
                Category.objects.create(name=f"{top} {NOUNS[n * 2 % len(NOUNS)]}", parent=parent)
            )
    brands = Brand.objects.bulk_create(
        [
            Brand(name=f"{p}{s}{n or ''}", slug=f"{p}{s}{n}".lower())
            for n in range(8)
            for p in BRANDS_PREFIX
            for s in BRANDS_SUFFIX
        ]
    )
    batch = []
    for i in range(products):
        leaf = leaves[i % len(leaves)]
        noun = NOUNS[(i // len(leaves) + leaves.index(leaf)) % len(NOUNS)]
        brand = brands[rng.randrange(len(brands))]
        title = (
            f"{brand.name} {rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {noun} "
            f"{rng.choice(SIZES)}"
        )
        batch.append(
            Product(
                sku=f"L{i:07d}",
                title=title,
                category=leaf,
                brand=brand,
                stock=0 if rng.random() < 0.1 else 10,
                popularity=int(rng.paretovariate(1.5)),
                description=f"{title}. For {leaf.path.lower()} work.",
            )
        )
        if len(batch) == 5000:
            Product.objects.bulk_create(batch)
            batch = []
    if batch:
        Product.objects.bulk_create(batch)
    by_leaf: dict[int, list[int]] = {}
    for pk, category_id in Product.objects.values_list("pk", "category_id"):
        by_leaf.setdefault(category_id, []).append(pk)
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"shopper{i}", password="!") for i in range(users)], batch_size=5000
    )
    user_ids = list(user_model.objects.order_by("pk").values_list("pk", flat=True))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    rows = []
    leaf_ids = list(by_leaf)
    for n, uid in enumerate(user_ids):
        favourites = rng.sample(leaf_ids, 2)
        for step in range(rng.randint(8, 20)):
            pool = by_leaf[rng.choice(favourites) if rng.random() < 0.8 else rng.choice(leaf_ids)]
            occurred_at = start + timedelta(minutes=n * 30 + step)
            rows.append(_django.view_row(uid, rng.choice(pool), f"{n}-{step}", occurred_at, now))
    _django.insert_event_rows(rows)
    # Half of the shoppers opted out: they get the lexical-only order.
    opted_out = user_ids[1::2]
    ShopperProfile.objects.bulk_create(
        [ShopperProfile(user_id=uid, personalization_opt_out=True) for uid in opted_out]
    )
    return {"user_ids": user_ids, "opted_out": set(opted_out), "events": len(rows)}


def train_and_activate() -> dict:
    from recommender.models import ModelVersion
    from recommender.training.runs import training_run_create, training_run_execute

    run = training_run_create(
        parameters={
            "max_epochs": 1,
            "max_train_seconds": 90,
            "dim": 32,
            "max_len": 20,
            "activate": "never",
        }
    )
    t0 = time.perf_counter()
    version = training_run_execute(run_id=run.pk)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    train_seconds = time.perf_counter() - t0
    # As activation does in production (there through the worker): every shopper's
    # top-K, vector and latest products are stored before traffic arrives.
    from django.contrib.auth import get_user_model

    from recommender.tasks import refresh_chunk

    t0 = time.perf_counter()
    ids = get_user_model().objects.order_by("pk").values_list("pk", flat=True)
    refreshed = refresh_chunk(version.pk, ids.first(), ids.last())
    return {
        "train_seconds": round(train_seconds, 1),
        "version": version.pk,
        "refreshed_shoppers": refreshed,
        "refresh_seconds": round(time.perf_counter() - t0, 1),
    }


def session_cookies(user_ids: list[int], cache_prefixes: tuple[str, ...] = ()) -> dict[int, str]:
    """A logged-in session per shopper, stored as a login stores it: through the
    configured session engine (the database, and the cache in front of it), and in the
    cache under each of ``cache_prefixes`` too (a second server of the run, whose
    logins would have filled its own cache)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.utils.module_loading import import_string

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # noqa: N806
    config = settings.CACHES[settings.SESSION_CACHE_ALIAS]
    others = [
        import_string(config["BACKEND"])(config.get("LOCATION", ""), {**config, "KEY_PREFIX": p})
        for p in cache_prefixes
    ]
    cookies = {}
    for user in get_user_model().objects.filter(pk__in=user_ids):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies[user.pk] = store.session_key
        for cache in others:
            cache.set(store.cache_key, store._session, store.get_expiry_age())
    return cookies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer {url} within {seconds:.0f}s")


def wait_answering(base: str, seconds: float = 120) -> None:
    """Until the server answers any HTTP request (a 404 of a path that runs no search):
    a worker is up, and whatever it warms up at start is done."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/not-a-page/", timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {base} within {seconds:.0f}s")


# The first request's query: two words, so that it is no start-up warm-up's one-word query.
FIRST_QUERY = "cordless drill"


def first_request_ms(base: str, cookie: str) -> float:
    """The latency of a server's first search (a shopper's, personalized) once it
    answers HTTP."""
    wait_answering(base)
    url = f"{base}/api/v1/search/?q={urllib.request.quote(FIRST_QUERY)}&page_size=24"
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return round((time.perf_counter() - t0) * 1000, 1)


def drive(
    base: str, cookies: list[str], queries: list[str], *, clients: int, requests: int, rng_seed: int
):
    """``clients`` threads, ``requests`` each; returns (latencies in ms, errors, seconds)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        rng = random.Random(rng_seed * 1000 + n)
        mine = []
        for _ in range(requests):
            q = rng.choice(queries)
            url = f"{base}/api/v1/search/?q={urllib.request.quote(q)}&page_size=24"
            request = urllib.request.Request(
                url, headers={"Cookie": f"sessionid={rng.choice(cookies)}"}
            )
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    ok = response.status == 200
            except Exception:
                ok = False
            mine.append((time.perf_counter() - t0) * 1000)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - t0


def cpu_snapshot(server_pgid: int) -> dict[str, float]:
    """CPU seconds used so far by the web server's processes, Postgres, Redis and this
    client (Linux /proc; empty elsewhere): where a request's time goes. A process's
    reaped children count too (a Postgres backend that exits moves its time to the
    postmaster, ``.../bin/postgres``; backends name themselves ``postgres: ...``), so a
    connection closed between two snapshots takes nothing away."""
    out = {"web": 0.0, "postgres": 0.0, "redis": 0.0, "client": sum(os.times()[:2])}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    proc = Path("/proc")
    if not proc.exists():
        return {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # utime, stime, and cutime, cstime of the children it reaped
        seconds = sum(int(f) for f in fields[11:15]) / tick
        if int(fields[2]) == server_pgid:
            out["web"] += seconds
        elif cmdline.startswith(b"postgres") or cmdline.split(b"\0")[0].endswith(b"/postgres"):
            out["postgres"] += seconds
        elif b"redis-server" in cmdline[:64]:
            out["redis"] += seconds
    return out


def summary(latencies: list[float], errors: int, seconds: float) -> dict:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else 0.0

    return {
        "rps": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
        "requests": len(latencies),
    }


def start_server(
    root: Path, port: int, workers: int, cache_prefix: str, *, warm_up: bool = True
) -> subprocess.Popen:
    """gunicorn serving the project checked out at ``root`` (its own code and settings),
    caching under ``cache_prefix`` (two servers of one run share no cached state);
    ``warm_up`` False starts it with WARMUP_ON_START=0."""
    env = {
        **os.environ,
        "WARMUP_ON_START": "1" if warm_up else "0",
        "CACHE_KEY_PREFIX": cache_prefix,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
    }
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=root,
        env=env,
        start_new_session=True,
    )


def first_request_cold_ms(workers: int, cache_prefix: str, cookie: str) -> float:
    """``first_request_ms`` of this code served without the start-up warm-up (stopped
    after that request)."""
    port = free_port()
    server = start_server(Path(_django.ROOT), port, workers, cache_prefix, warm_up=False)
    try:
        return first_request_ms(f"http://127.0.0.1:{port}", cookie)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = synthetic_shop_parser(__doc__, products=100_000, users=2_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=150, help="per client and phase")
    parser.add_argument("--rounds", type=int, default=2, help="lexical + personalized phases")
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn worker processes (2 per core here)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another commit (git worktree add DIR COMMIT) to serve the same "
        "catalogue, database and cache in the same run: each phase runs against this "
        "code, then against the baseline; its figures and the ratios go in the JSON",
    )
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "config" / "wsgi.py").is_file():
        raise SystemExit(f"--baseline {args.baseline}: not a checkout of this project")
    t0 = time.perf_counter()
    vendor = _django.setup("search_load")
    rng = random.Random(7)
    data = build_data(products=args.products, users=args.users, rng=rng)
    print(
        f"{vendor}: {args.products:,} products, {len(data['user_ids']):,} shoppers, "
        f"{data['events']:,} events ({time.perf_counter() - t0:.0f}s)",
        flush=True,
    )
    trained = train_and_activate()
    print(f"model trained and active ({trained['train_seconds']}s)", flush=True)
    personal = [u for u in data["user_ids"] if u not in data["opted_out"]][:400]
    lexical = sorted(data["opted_out"])[:400]
    prefix = os.environ.get("CACHE_KEY_PREFIX", "")
    cookies = session_cookies(
        personal + lexical, cache_prefixes=(f"{prefix}-baseline",) if args.baseline else ()
    )
    queries = (
        NOUNS
        + [f"{a} {n}" for a in ADJECTIVES[:8] for n in NOUNS[:12]]
        + [f"{m} {n}" for m in MATERIALS for n in NOUNS[:10]]
        + [f"{b}{s} {n}" for b in BRANDS_PREFIX[:4] for s in BRANDS_SUFFIX[:3] for n in NOUNS[:5]]
    )
    targets = {"current": Path(_django.ROOT)}
    if args.baseline is not None:
        targets["baseline"] = args.baseline.resolve()
    first_cookie = cookies[personal[0]]
    first_cold_ms = first_request_cold_ms(args.workers, f"{prefix}-cold", first_cookie)
    print(f"first request without warm-up: {first_cold_ms} ms", flush=True)
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    first_ms: dict[str, float] = {}
    try:
        # One at a time: a server's start-up does not slow another's first request.
        for name, root in targets.items():
            port = free_port()
            servers[name] = (
                start_server(
                    root, port, args.workers, prefix if name == "current" else f"{prefix}-{name}"
                ),
                f"http://127.0.0.1:{port}",
            )
            first_ms[name] = first_request_ms(servers[name][1], first_cookie)
            print(f"first request ({name}): {first_ms[name]} ms", flush=True)
        for _, base in servers.values():
            wait_up(f"{base}/api/v1/search/?q=drill")
            # Warm-up: every worker loads the model and fills its caches.
            for users, seed in ((personal, 99), (lexical, 98)):
                drive(
                    base,
                    [cookies[u] for u in users],
                    queries,
                    clients=args.clients,
                    requests=10,
                    rng_seed=seed,
                )
        results = {
            name: {"lexical": [[], 0, 0.0], "personalized": [[], 0, 0.0]} for name in servers
        }
        cpu: dict[str, dict[str, dict[str, float]]] = {
            name: {"lexical": {}, "personalized": {}} for name in servers
        }
        for round_ in range(args.rounds):
            for kind, users in (("lexical", lexical), ("personalized", personal)):
                for name, (server, base) in servers.items():
                    before = cpu_snapshot(server.pid)
                    lat, err, sec = drive(
                        base,
                        [cookies[u] for u in users],
                        queries,
                        clients=args.clients,
                        requests=args.requests,
                        rng_seed=round_,
                    )
                    after = cpu_snapshot(server.pid)
                    used = cpu[name][kind]
                    for key in after:
                        used[key] = used.get(key, 0.0) + after[key] - before[key]
                    results[name][kind][0] += lat
                    results[name][kind][1] += err
                    results[name][kind][2] += sec
                    label = "" if name == "current" else f" ({name})"
                    print(
                        f"round {round_ + 1} {kind}{label}: {len(lat) / sec:.1f} req/s, "
                        f"errors {err}",
                        flush=True,
                    )
    finally:
        for server, _ in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
        for server, _ in servers.values():
            server.wait(timeout=30)
    reports = {}
    for name in servers:
        reports[name] = {kind: summary(*values) for kind, values in results[name].items()}
        for kind, used in cpu[name].items():
            n = max(reports[name][kind]["requests"], 1)
            reports[name][kind]["cpu_ms_per_request"] = {
                k: round(v * 1000 / n, 2) for k, v in used.items()
            }
    for name in servers:
        reports[name]["first_request_ms"] = first_ms[name]
    report = reports["current"]
    report["first_request_cold_ms"] = first_cold_ms
    report["throughput_ratio"] = round(
        report["personalized"]["rps"] / max(report["lexical"]["rps"], 1e-9), 3
    )
    if "baseline" in reports:
        baseline = reports["baseline"]
        report["baseline"] = {**baseline, "checkout": str(targets["baseline"])}
        report["vs_baseline"] = {
            f"{kind}_{key}": round(report[kind][key] / max(baseline[kind][key], 1e-9), 3)
            for kind in ("lexical", "personalized")
            for key in ("rps", "p50_ms", "p95_ms", "p99_ms")
        }
    report.update(
        {
            "database": vendor,
            "products": args.products,
            "shoppers": len(data["user_ids"]),
            "clients": args.clients,
            "gunicorn_workers": args.workers,
            "requests_per_client_per_phase": args.requests,
            "rounds": args.rounds,
            "cpu_count": os.cpu_count(),
            "model": trained,
            "seconds": round(time.perf_counter() - t0, 1),
            "command": command_line("bench.search_load", argv),
        }
    )
    for name in servers:
        for kind in ("lexical", "personalized"):
            m = reports[name][kind]
            label = kind if name == "current" else f"{kind} ({name})"
            print(
                f"{label:24s} {m['rps']:7.1f} req/s  p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms"
                f"  p99 {m['p99_ms']} ms  errors {m['errors']}"
                f"  CPU ms/request {m['cpu_ms_per_request']}"
            )
    print(f"personalized / lexical throughput = {report['throughput_ratio']}")
    print(
        f"first request: {report['first_request_ms']} ms (warmed up at start), "
        f"{report['first_request_cold_ms']} ms without the warm-up"
    )
    if "vs_baseline" in report:
        print("against the baseline (current / baseline):", report["vs_baseline"])
    report_write(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
