"""Charts of the staff dashboards: the numbers a page draws (Chart.js, vendored under
static/vendor/chartjs), shows as a table and offers as CSV, from one object."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

KINDS = ("line", "bar")
FORMATS = ("number", "percent", "decimal")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | int | None]


@dataclass
class Chart:
    """One chart: x ``labels`` (days, positions, versions...) and a value per label for
    each series. ``key`` names it on its page (``?csv=<key>`` downloads its numbers)."""

    key: str
    title: str
    labels: list[str]
    series: list[Series]
    kind: str = "line"
    y_format: str = "number"  # how the table and the axis show values
    x_title: str = ""
    stacked: bool = False
    csv_query: str = field(default="", compare=False)  # set by the page, for its link

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"chart {self.key}: kind {self.kind!r} is not one of {KINDS}")
        if self.y_format not in FORMATS:
            raise ValueError(
                f"chart {self.key}: y_format {self.y_format!r} is not one of {FORMATS}"
            )
        for series in self.series:
            if len(series.values) != len(self.labels):
                raise ValueError(
                    f"chart {self.key}: series {series.name!r} has {len(series.values)} "
                    f"values for {len(self.labels)} labels"
                )

    @property
    def dom_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def data_id(self) -> str:
        return f"chart-{self.key}-data"

    @property
    def is_empty(self) -> bool:
        return not self.labels or all(v in (None, 0) for s in self.series for v in s.values)

    @property
    def spec(self) -> dict:
        """What static/dashboards/charts.js draws."""
        return {
            "kind": self.kind,
            "labels": self.labels,
            "series": [{"name": s.name, "values": s.values} for s in self.series],
            "yFormat": self.y_format,
            "xTitle": self.x_title,
            "stacked": self.stacked,
        }

    def rows(self) -> list[tuple[str, list[str]]]:
        """(label, formatted values) per label: the table under the chart."""
        return [
            (label, [format_value(s.values[i], self.y_format) for s in self.series])
            for i, label in enumerate(self.labels)
        ]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writerow([self.x_title or "label", *(s.name for s in self.series)])
        for i, label in enumerate(self.labels):
            writer.writerow(
                [label, *("" if s.values[i] is None else s.values[i] for s in self.series)]
            )
        return out.getvalue()


def format_value(value, y_format: str = "number") -> str:
    """A figure as the dashboards print it: "n/a" when there is none."""
    if value is None:
        return "n/a"
    if y_format == "percent":
        return f"{value * 100:.1f}%"
    if y_format == "decimal":
        return f"{value:.4f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


# A cell a spreadsheet would run as a formula (shoppers type search queries: staff open
# the CSV in Excel).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """``value`` as a CSV cell: text that a spreadsheet would take for a formula gets a
    leading apostrophe (OWASP's advice on CSV injection); numbers are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, out) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row) -> None:
        self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out) -> _SafeWriter:
    """``csv.writer`` whose text cells cannot run as spreadsheet formulas: every
    dashboard CSV is written through it."""
    return _SafeWriter(out)
