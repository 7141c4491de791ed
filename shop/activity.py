"""Daily activity rollups, what the overview dashboard reads: per day and event type the
events and their distinct shoppers; per day the distinct shoppers (exact, and a sketch
that merges over a range), searches and zero-result searches; per day and
recommendation list the impressions, clicks and conversions.

Definitions:
- A shopper is a user, else an anonymous session (or app device).
- A zero-result search is a ``search`` event whose context says ``"results": 0``.
- A recommendation impression is an ``impression`` event; a recommendation click is a
  ``click`` event whose context ``list`` names a recommendation list
  (shop.models.RecommendationList; the storefront's cards log both, shop/views.py).
- A conversion: a recommendation click converts when the same shopper buys the same
  product within 24 hours after it, and it is that shopper's latest recommendation click
  on the product before the purchase. So a purchase credits at most one click, a click
  converts at most once (conversions <= clicks), and the conversion counts on the
  click's day. A purchase can convert yesterday's click, so a refresh of a day also
  recomputes the day before.

Known limits: events joined to an account at sign-in (shop.accounts.shopper_claim_device)
or deleted keep or leave no new ids, so their days are recounted only when something
else touches them; ``manage.py rollups --full`` recounts everything.

The database aggregates: a day's refresh brings back a few rows per type, and at most
4,096 sketch registers (Postgres) and the day's recommendation clicks and purchases.
Plans (EXPLAIN ANALYZE, Postgres 15, 1,000,000 events over 90 days in random order;
every query of the refresh of a day, 0.4 s in all):
- per day and type, and per day (counts, distinct shoppers, searches, impressions):
  ``GroupAggregate -> Sort -> Bitmap Heap Scan on shop_event -> Bitmap Index Scan on
  event_time_idx (Index Cond: ((occurred_at >= $1) AND (occurred_at < $2)))``;
- the sketch: ``HashAggregate (Group Key: day, hashtextextended(shopper, 0) >> 52 &
  4095) -> Bitmap Heap Scan on shop_event -> Bitmap Index Scan on event_time_idx``;
- clicks and purchases of the days and the conversion window after them: ``Bitmap Heap
  Scan on shop_event (Filter: (context -> 'list') = ANY (...) AND event_type = 'click'
  OR event_type = 'purchase' ...) -> Bitmap Index Scan on event_time_idx``.
A full refresh of those 400 days took 23 s, an incremental one (today and yesterday)
0.4 s. The overview reads the rollup tables only (a row per day; ``day`` leads their
unique indexes): 7 queries, 70 ms for 30 days and 210 ms for 366 (on a shared host).
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils import timezone

from shop.models import (
    DailyActivity,
    DailyEventType,
    DailyRecommendations,
    Event,
    EventType,
    RecommendationList,
)
from shop.rollups import day_bounds, rollup

CONVERSION_WINDOW = timedelta(hours=24)
LISTS = frozenset(RecommendationList.values)
# Plain strings for the loops over many rows (an enum member's lookup costs more).
SEARCH, IMPRESSION, CLICK = (
    EventType.SEARCH.value,
    EventType.IMPRESSION.value,
    EventType.CLICK.value,
)
# A backfill recomputes this many days per round of queries (bounded memory).
WINDOW_DAYS = 7
STREAM_CHUNK = 10_000
# HyperLogLog: 2**12 one-byte registers a day (4 KB), a standard error of 1.04/64 = 1.6%.
SKETCH_PRECISION = 12
SKETCH_REGISTERS = 1 << SKETCH_PRECISION
_HASH_BITS = 64
_REST_BITS = _HASH_BITS - SKETCH_PRECISION


@rollup("activity")
def activity_refresh(first: date, last: date) -> None:
    """Recompute the rows of the days [first, last], and of the day before (a purchase
    on ``first`` may convert a click of the day before)."""
    for start, end in _windows(first - timedelta(days=1), last):
        days, by_type, recommendations = _activity_rows(start, end)
        _clicks_count(start, end, recommendations)
        DailyEventType.objects.filter(day__range=(start, end)).delete()
        DailyActivity.objects.filter(day__range=(start, end)).delete()
        DailyRecommendations.objects.filter(day__range=(start, end)).delete()
        DailyEventType.objects.bulk_create(by_type)
        DailyActivity.objects.bulk_create(days.values())
        DailyRecommendations.objects.bulk_create(recommendations.values())


def _windows(first: date, last: date) -> Iterable[tuple[date, date]]:
    while first <= last:
        end = min(last, first + timedelta(days=WINDOW_DAYS - 1))
        yield first, end
        first = end + timedelta(days=1)


def _shopper_key():
    """'u<user id>', else 's<session id>': one key per shopper."""
    return Case(
        When(user__isnull=False, then=Concat(Value("u"), Cast("user_id", CharField()))),
        default=Concat(Value("s"), F("session_id")),
        output_field=CharField(),
    )


def _events_between(first: date, last: date, *, extra: timedelta = timedelta(0)):
    start, end = day_bounds(first, last)
    return Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end + extra)


def _activity_rows(first: date, last: date):
    """The days' activity rows, their rows per type, and their recommendation rows (the
    impressions so far): aggregated by the database, a few rows a day come back."""
    events = _events_between(first, last).annotate(
        day=TruncDate("occurred_at"), shopper=_shopper_key()
    )
    by_type = [
        DailyEventType(**row)
        for row in events.values("day", "event_type")
        .annotate(events=Count("pk"), shoppers=Count("shopper", distinct=True))
        .order_by()
    ]
    impressions = {
        name: Count("pk", filter=Q(event_type=IMPRESSION, context__list=name)) for name in LISTS
    }
    per_day = (
        events.values("day")
        .annotate(
            shoppers=Count("shopper", distinct=True),
            searches=Count("pk", filter=Q(event_type=SEARCH)),
            zero_results=Count("pk", filter=Q(event_type=SEARCH, context__results=0)),
            **{f"impressions_{name}": count for name, count in impressions.items()},
        )
        .order_by()
    )
    days, recommendations = {}, {}
    for row in per_day:
        day = row["day"]
        days[day] = DailyActivity(
            day=day,
            shoppers=row["shoppers"],
            searches=row["searches"],
            zero_result_searches=row["zero_results"],
        )
        for name in LISTS:
            if row[f"impressions_{name}"]:
                recommendations[day, name] = DailyRecommendations(
                    day=day, list=name, impressions=row[f"impressions_{name}"]
                )
    for row in by_type:
        days[row.day].events += row.events
    for day, sketch in _sketches(events).items():
        days[day].shopper_sketch = sketch
    return days, by_type, recommendations


def _clicks_count(
    first: date, last: date, recommendations: dict[tuple[date, str], DailyRecommendations]
) -> None:
    """Add the days' recommendation clicks, and those that converted (see the module's
    definition), to their rows: from the days' recommendation clicks and purchases, and
    a conversion window after them (a later click takes a purchase's credit)."""
    events = (
        _events_between(first, last, extra=CONVERSION_WINDOW)
        .filter(
            Q(event_type=CLICK, context__list__in=list(LISTS))
            | Q(event_type=EventType.PURCHASE, product__isnull=False)
        )
        .values_list(
            "pk", "occurred_at", "event_type", _shopper_key(), "product_id", KT("context__list")
        )
        .order_by()
    )
    clicks: dict[tuple[str, int], list[tuple[datetime, int, str]]] = defaultdict(list)
    purchases = []
    for pk, at, event_type, shopper, product_id, list_name in events.iterator(
        chunk_size=STREAM_CHUNK
    ):
        if event_type == CLICK:
            clicks[shopper, product_id].append((at, pk, list_name))
        else:
            purchases.append((at, shopper, product_id))
    converted = set()
    for history in clicks.values():
        history.sort()
    for at, shopper, product_id in purchases:
        earlier = clicks.get((shopper, product_id), [])
        latest = bisect_right(earlier, (at, math.inf)) - 1
        if latest >= 0 and at - earlier[latest][0] <= CONVERSION_WINDOW:
            converted.add(earlier[latest][1])
    _, end = day_bounds(first, last)
    for history in clicks.values():
        for at, pk, list_name in history:
            if at >= end:
                continue
            key = (timezone.localdate(at), list_name)
            if key not in recommendations:
                recommendations[key] = DailyRecommendations(day=key[0], list=list_name)
            recommendations[key].clicks += 1
            recommendations[key].conversions += pk in converted


# --- HyperLogLog: distinct shoppers over a range from the days' sketches ---------------


def _sketches(events) -> dict[date, bytes]:
    """Each day's sketch of its shoppers (``events`` annotated with day and shopper).

    Postgres builds the registers itself (a register's rank per day: at most 4,096 rows
    a day come back) from ``hashtextextended``; elsewhere the day's distinct shoppers
    come back and Python hashes them (blake2b). Either way a database's sketches share
    one hash, so they merge."""
    sketches: dict[date, bytearray] = defaultdict(lambda: bytearray(SKETCH_REGISTERS))
    if connection.vendor != "postgresql":
        distinct = events.values_list("day", "shopper").distinct().order_by()
        for day, shopper in distinct.iterator(chunk_size=STREAM_CHUNK):
            sketch_add(sketches[day], shopper)
        return {day: bytes(registers) for day, registers in sketches.items()}
    hashed = Func(
        F("shopper"), Value(0), function="hashtextextended", output_field=BigIntegerField()
    )
    ranks = (
        events.annotate(hashed=hashed)
        .values(
            "day",
            register=F("hashed").bitrightshift(_REST_BITS).bitand(SKETCH_REGISTERS - 1),
        )
        .annotate(
            # 1 + the leading zeros of the hash's other 52 bits (as sketch_add counts).
            rank=Max(
                Func(
                    F("hashed").bitand((1 << _REST_BITS) - 1),
                    template=f"{_REST_BITS + 1} - length(ltrim((%(expressions)s)::bit(64)::text, '0'))",
                    output_field=IntegerField(),
                )
            )
        )
        .order_by()
    )
    for row in ranks:
        sketches[row["day"]][row["register"]] = row["rank"]
    return {day: bytes(registers) for day, registers in sketches.items()}


def sketch_add(registers: bytearray, key: str) -> None:
    value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    index = value >> _REST_BITS
    rank = _REST_BITS - (value & ((1 << _REST_BITS) - 1)).bit_length() + 1
    if rank > registers[index]:
        registers[index] = rank


def sketch_merge(sketches: Iterable[bytes]) -> bytes:
    """The sketch of the union: each register's maximum."""
    present = [bytes(s) for s in sketches if len(s) == SKETCH_REGISTERS]
    if len(present) < 2:
        return present[0] if present else bytes(SKETCH_REGISTERS)
    return bytes(map(max, *present))


def sketch_estimate(registers: bytes) -> int:
    """Distinct keys added (Flajolet et al. 2007; linear counting while registers are
    empty, which is near exact up to a few thousand keys)."""
    size = len(registers)
    zeros = registers.count(0)
    if zeros == size:
        return 0
    alpha = 0.7213 / (1 + 1.079 / size)
    raw = alpha * size * size / sum(2.0**-r for r in registers)
    if raw <= 2.5 * size and zeros:
        return round(size * math.log(size / zeros))
    return round(raw)


# --- What the overview reads -----------------------------------------------------------


@dataclass
class ActivityReport:
    """The rollups of ``days`` (every day present, zero where no row is): per-day lists."""

    days: list[date]
    events: list[int]
    shoppers: list[int]
    searches: list[int]
    zero_result_searches: list[int]
    # event type -> events per day (types with at least one event in the range)
    events_by_type: dict[str, list[int]]
    # recommendation list -> {"impressions" | "clicks" | "conversions": per day}
    recommendations: dict[str, dict[str, list[int]]]
    # distinct shoppers over the whole range (exact for a single day, else estimated)
    shoppers_in_range: int = 0
    shoppers_estimated: bool = field(default=False)

    def total(self, name: str, list_name: str | None = None) -> int:
        """The range's total of ``events``, ``searches``... or of a recommendation
        figure (``impressions``, ``clicks``, ``conversions``) over one or every list."""
        if name in ("impressions", "clicks", "conversions"):
            names = [list_name] if list_name else list(self.recommendations)
            return sum(sum(self.recommendations[n][name]) for n in names)
        return sum(getattr(self, name))


def activity_report(*, first: date, last: date) -> ActivityReport:
    """The days [first, last] from the rollup tables: three indexed range reads."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    position = {day: n for n, day in enumerate(days)}
    zeros = [0] * len(days)
    report = ActivityReport(
        days=days,
        events=list(zeros),
        shoppers=list(zeros),
        searches=list(zeros),
        zero_result_searches=list(zeros),
        events_by_type={},
        recommendations={
            name: {"impressions": list(zeros), "clicks": list(zeros), "conversions": list(zeros)}
            for name in RecommendationList.values
        },
    )
    sketches = []
    for row in DailyActivity.objects.filter(day__range=(first, last)):
        n = position[row.day]
        report.events[n], report.shoppers[n] = row.events, row.shoppers
        report.searches[n], report.zero_result_searches[n] = row.searches, row.zero_result_searches
        sketches.append(row.shopper_sketch)
    if len(sketches) == 1:
        report.shoppers_in_range = sum(report.shoppers)
    elif sketches:
        report.shoppers_in_range = sketch_estimate(sketch_merge(sketches))
        report.shoppers_estimated = True
    types = DailyEventType.objects.filter(day__range=(first, last)).values_list(
        "day", "event_type", "events"
    )
    for day, event_type, count in types:
        report.events_by_type.setdefault(event_type, list(zeros))[position[day]] = count
    order = {value: n for n, value in enumerate(EventType.values)}
    report.events_by_type = dict(
        sorted(report.events_by_type.items(), key=lambda kv: order.get(kv[0], len(order)))
    )
    lists = DailyRecommendations.objects.filter(day__range=(first, last))
    for row in lists:
        figures = report.recommendations.setdefault(
            row.list,
            {"impressions": list(zeros), "clicks": list(zeros), "conversions": list(zeros)},
        )
        n = position[row.day]
        figures["impressions"][n] = row.impressions
        figures["clicks"][n] = row.clicks
        figures["conversions"][n] = row.conversions
    return report


def rate(numerator: int, denominator: int) -> float | None:
    """A share, or None (shown as "n/a") when there is nothing to divide by."""
    return numerator / denominator if denominator else None
