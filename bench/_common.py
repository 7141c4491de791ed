"""Reading a dataset directory in the format of ../shared/datasets/amazon_beauty."""

from __future__ import annotations

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
    catalogue, titles, attributes = [], {}, {}
    if (path / "items.tsv").exists():
        for row in _rows(path / "items.tsv"):
            item = _id(row["item_id"])
            catalogue.append(item)
            titles[item] = (row.get("title") or "").strip()
            attributes[item] = (row.get("attribute_ids") or "").split()
    per_user_times: dict[Any, list[tuple[Any, float]]] = {}
    if (path / "interactions.tsv").exists():
        for row in _rows(path / "interactions.tsv"):
            ts = row.get("timestamp")
            per_user_times.setdefault(_id(row["user_id"]), []).append(
                (_id(row["item_id"]), float(ts) if ts not in (None, "") else float("nan"))
            )
    user_ids, item_ids, timestamps = [], [], []
    have_times = bool(per_user_times)
    for row in _rows(path / "sequences.tsv"):
        user = _id(row["user_id"])
        seq = [_id(x) for x in (row.get("item_ids_chronological") or "").split()]
        rows = per_user_times.get(user, [])
        if len(rows) == len(seq) and all(a == b for (a, _), b in zip(rows, seq, strict=True)):
            times = [t for _, t in rows]
        else:
            times = [float("nan")] * len(seq)
        user_ids.extend([user] * len(seq))
        item_ids.extend(seq)
        timestamps.extend(times)
    return RawDataset(
        name=path.name,
        user_ids=user_ids,
        item_ids=item_ids,
        timestamps=timestamps if have_times else None,
        catalogue=catalogue,
        titles=titles,
        attributes=attributes,
    )
