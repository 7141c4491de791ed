"""The date range a dashboard shows: ``?since=YYYY-MM-DD&until=YYYY-MM-DD`` (both
inclusive), or ``?days=N`` back from today; a bad value is reported, not a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Max
from django.utils import timezone

from shop.models import DailyActivity

DEFAULT_DAYS = 30
MAX_DAYS = 366
QUICK_RANGES = (7, 30, 90)


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date
    errors: list[str] = field(default_factory=list, compare=False)
    note: str = field(default="", compare=False)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime:
        """The first day's midnight (aware, in the current time zone)."""
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        """The midnight after the last day (exclusive bound)."""
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    @property
    def labels(self) -> list[str]:
        return [d.isoformat() for d in self.days]

    @property
    def querystring(self) -> str:
        return f"since={self.first.isoformat()}&until={self.last.isoformat()}"

    @classmethod
    def last_days(cls, days: int, *, today: date | None = None) -> DateRange:
        today = today or timezone.localdate()
        return cls(first=today - timedelta(days=days - 1), last=today)

    @classmethod
    def from_query(
        cls,
        query,
        *,
        default_days: int = DEFAULT_DAYS,
        today: date | None = None,
        latest: date | None = None,
    ) -> DateRange:
        """From a request's GET: since/until, or days; the default range, with the
        reason, when they do not make a range. With nothing asked, the default range
        ends today, or on ``latest`` (the newest day with events, by default read from
        the activity rollup) when the shop has had no events for ``default_days``: an
        imported history still shows."""
        today = today or timezone.localdate()
        default = cls.last_days(default_days, today=today)
        if not any(query.get(key) for key in ("days", "since", "until")):
            latest = latest or _latest_active_day()
            if latest is not None and latest < default.first:
                return cls(
                    first=latest - timedelta(days=default_days - 1),
                    last=latest,
                    note=f"No events in the last {default_days} days: showing the "
                    f"{default_days} days up to the newest event ({latest.isoformat()}).",
                )
        errors: list[str] = []
        if query.get("days"):
            try:
                days = int(query["days"])
                if not 1 <= days <= MAX_DAYS:
                    raise ValueError
            except ValueError:
                errors.append(f"days: a whole number from 1 to {MAX_DAYS}, not {query['days']!r}")
            else:
                return cls.last_days(days, today=today)
        elif query.get("since") or query.get("until"):
            first = _parse(query.get("since"), "since", default.first, errors)
            last = _parse(query.get("until"), "until", today, errors)
            if not errors:
                if last > today + timedelta(days=MAX_DAYS):
                    errors.append("until: at most a year from today")
                elif first > last:
                    errors.append("since: must be on or before until")
                elif (last - first).days + 1 > MAX_DAYS:
                    errors.append(f"since: the range may span at most {MAX_DAYS} days")
                else:
                    return cls(first=first, last=last)
        return cls(first=default.first, last=default.last, errors=errors)


def _latest_active_day() -> date | None:
    """The newest day of the activity rollup (a unique index on day: one index probe)."""
    return DailyActivity.objects.aggregate(latest=Max("day"))["latest"]


def _parse(value: str | None, name: str, fallback: date, errors: list[str]) -> date:
    if not value:
        return fallback
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{name}: a date as YYYY-MM-DD, not {value[:40]!r}")
        return fallback
