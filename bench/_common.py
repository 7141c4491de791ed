"""What the benchmarks share: their command-line options, their JSON report, and reading a
dataset directory in the format of ../shared/datasets/amazon_beauty."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

csv.field_size_limit(sys.maxsize)


@dataclass
class RawDataset:
    """Flat, ordered event rows plus catalogue features, as the Django layer would pass them."""

    name: str
    user_ids: list[Any]
    item_ids: list[Any]
    timestamps: list[float] | None
    catalogue: list[Any]
    titles: dict[Any, str]
    attributes: dict[Any, list[str]]


def command_line(module: str, argv: list[str] | None) -> str:
    """The command that produced a report, as its JSON records it."""
    return f"python -m {module} " + " ".join(sys.argv[1:] if argv is None else argv)


def report_write(path: str | Path, report: dict) -> None:
    """Write a benchmark's JSON report, creating its folder (a fresh clone has no var/)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float))


def synthetic_shop_parser(
    description: str, *, products: int, users: int
) -> argparse.ArgumentParser:
    """The options of every benchmark on a synthetic shop: ``--json`` (where the report
    goes), ``--products`` and ``--users`` (the shop's size, with these defaults)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", required=True)
    parser.add_argument("--products", type=int, default=products)
    parser.add_argument("--users", type=int, default=users)
    return parser


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE``, repeatable: a ModelConfig field overridden (see config_overrides)."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a ModelConfig field of the transformer (JSON value), e.g. --set dim=128",
    )


def config_overrides(items: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` arguments as ModelConfig overrides (JSON values, else strings)."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _id(value: str) -> Any:
    value = value.strip()
    return int(value) if value.lstrip("-").isdigit() else value


def load_dataset(directory: str | Path) -> RawDataset:
    """Loads items.tsv, sequences.tsv and (if present) interactions.tsv.

    The order of sequences.tsv is the order of the split, so events come from it;
    interactions.tsv only contributes timestamps, matched to each user's sequence in
    order (timestamps are dropped for a user whose rows do not match).
    """
    path = Path(directory)
    catalogue, titles, attributes = _items(path / "items.tsv")
    per_user_times = _interactions_by_user(path / "interactions.tsv")
    user_ids, item_ids, timestamps = [], [], []
    for row in _rows(path / "sequences.tsv"):
        user = _id(row["user_id"])
        sequence = [_id(x) for x in (row.get("item_ids_chronological") or "").split()]
        user_ids.extend([user] * len(sequence))
        item_ids.extend(sequence)
        timestamps.extend(_sequence_times(sequence, per_user_times.get(user, [])))
    return RawDataset(
        name=path.name,
        user_ids=user_ids,
        item_ids=item_ids,
        timestamps=timestamps if per_user_times else None,
        catalogue=catalogue,
        titles=titles,
        attributes=attributes,
    )


def _items(path: Path) -> tuple[list[Any], dict[Any, str], dict[Any, list[str]]]:
    """The catalogue's item ids in file order, their titles and attribute ids."""
    catalogue, titles, attributes = [], {}, {}
    if path.exists():
        for row in _rows(path):
            item = _id(row["item_id"])
            catalogue.append(item)
            titles[item] = (row.get("title") or "").strip()
            attributes[item] = (row.get("attribute_ids") or "").split()
    return catalogue, titles, attributes


def _interactions_by_user(path: Path) -> dict[Any, list[tuple[Any, float]]]:
    """Each user's (item, timestamp) rows in file order (NaN for a missing timestamp)."""
    per_user: dict[Any, list[tuple[Any, float]]] = {}
    if path.exists():
        for row in _rows(path):
            ts = row.get("timestamp")
            per_user.setdefault(_id(row["user_id"]), []).append(
                (_id(row["item_id"]), float(ts) if ts not in (None, "") else float("nan"))
            )
    return per_user


def _sequence_times(sequence: list[Any], interactions: list[tuple[Any, float]]) -> list[float]:
    """The timestamps of a user's sequence when their interactions match it item for
    item, else NaN for each event."""
    if len(interactions) == len(sequence) and all(
        a == b for (a, _), b in zip(interactions, sequence, strict=True)
    ):
        return [t for _, t in interactions]
    return [float("nan")] * len(sequence)
