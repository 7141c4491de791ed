"""What the benchmarks share: their command-line options, their JSON report, and reading a
dataset directory in the layout of ../shared/datasets/amazon_beauty or in the UniSRec
layout of ../shared/datasets/amazon_scientific."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

csv.field_size_limit(sys.maxsize)

# The layouts `load_dataset` reads ("auto" picks one by the files present).
DATASET_FORMATS = ("auto", "amazon_beauty", "unisrec")
BEAUTY_FILES = "sequences.tsv (items.tsv and interactions.tsv optional)"
UNISREC_FILES = "NAME.text and NAME.test.inter (NAME.item2index optional)"
SECONDS_PER_DAY = 86400


class DatasetLayoutError(ValueError):
    """A dataset directory whose files match no layout `load_dataset` reads."""


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


def load_dataset(directory: str | Path, fmt: str = "auto") -> RawDataset:
    """Reads a dataset directory into flat, ordered event rows and catalogue features.

    Args:
        directory: The dataset's folder.
        fmt: "amazon_beauty" (items.tsv, interactions.tsv, sequences.tsv), "unisrec"
            (NAME.text, NAME.{train,valid,test}.inter) or "auto": the layout whose
            files are present.

    Raises:
        DatasetLayoutError: The folder lacks the files of the layout asked for (or of
            both, with "auto"); the message names the files expected.
    """
    path = Path(directory)
    if fmt not in DATASET_FORMATS:
        raise ValueError(f"dataset format must be one of {', '.join(DATASET_FORMATS)}, not {fmt!r}")
    beauty = (path / "sequences.tsv").is_file() and fmt in ("auto", "amazon_beauty")
    if beauty:
        return _load_beauty(path)
    unisrec = _unisrec_name(path) if fmt in ("auto", "unisrec") else None
    if unisrec:
        return _load_unisrec(path, unisrec)
    raise DatasetLayoutError(_layout_expected(path, fmt))


def _layout_expected(path: Path, fmt: str) -> str:
    """Why `path` cannot be read as `fmt`: the files that layout needs."""
    where = f"{path}: no such folder" if not path.is_dir() else f"{path}: not a dataset folder"
    if fmt == "amazon_beauty":
        return f"{where}: expected {BEAUTY_FILES}"
    if fmt == "unisrec":
        return f"{where}: expected {UNISREC_FILES}"
    return f"{where}: expected {BEAUTY_FILES} (amazon_beauty), or {UNISREC_FILES} (UniSRec)"


def _unisrec_name(path: Path) -> str | None:
    """NAME of the one NAME.text with a NAME.test.inter beside it, if any."""
    names = sorted(t.stem for t in path.glob("*.text") if (path / f"{t.stem}.test.inter").is_file())
    if len(names) > 1:
        raise DatasetLayoutError(f"{path}: several UniSRec datasets ({', '.join(names)}): keep one")
    return names[0] if names else None


def _load_beauty(path: Path) -> RawDataset:
    """Loads items.tsv, sequences.tsv and (if present) interactions.tsv.

    The order of sequences.tsv is the order of the split, so events come from it;
    interactions.tsv only contributes timestamps, matched to each user's sequence in
    order (timestamps are dropped for a user whose rows do not match).
    """
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


def _load_unisrec(path: Path, name: str) -> RawDataset:
    """Loads NAME.text and NAME.test.inter (UniSRec's layout, as in CoWPiRec's Scientific).

    A user's test row holds their whole sequence (history, then the target), so the
    train and valid files add nothing. The format caps histories (Scientific's at 50
    items), so a longer sequence arrives with its earliest items cut, as every
    benchmark on these files reads it. There are no timestamps: each event gets one
    day after the previous one, so time gaps say nothing and the order is kept.
    """
    catalogue, titles, attributes = _unisrec_items(
        path / f"{name}.text", path / f"{name}.item2index"
    )
    user_ids, item_ids, timestamps = [], [], []
    for user, sequence in _unisrec_sequences(path / f"{name}.test.inter").items():
        user_ids.extend([user] * len(sequence))
        item_ids.extend(sequence)
        timestamps.extend(float(position * SECONDS_PER_DAY) for position in range(len(sequence)))
    return RawDataset(
        name=path.name,
        user_ids=user_ids,
        item_ids=item_ids,
        timestamps=timestamps,
        catalogue=catalogue,
        titles=titles,
        attributes=attributes,
    )


def _unisrec_items(
    text_path: Path, index_path: Path
) -> tuple[list[Any], dict[Any, str], dict[Any, list[str]]]:
    """The catalogue in text-file order, its titles and [category path, brand] attributes.

    The text file names items by ASIN while the .inter files use their index: with
    NAME.item2index present, items are named by that index.
    """
    index = {}
    if index_path.is_file():
        with index_path.open(encoding="utf-8") as fh:
            index = dict(line.rstrip("\n").split("\t")[:2] for line in fh if "\t" in line)
    catalogue, titles, attributes = [], {}, {}
    for row in _unisrec_rows(text_path):
        key, text = row.get("item_id", ""), row.get("text") or ""
        item = _id(index.get(key.strip(), key))
        catalogue.append(item)
        titles[item], attributes[item] = split_unisrec_text(text)
    return catalogue, titles, attributes


def split_unisrec_text(text: str) -> tuple[str, list[str]]:
    """ "title. category path. brand. " -> (title, [category path, brand]), empty parts dropped.

    Titles may hold ". " themselves ("24 Oz. Sprayer"), so the last two parts are cut
    from the right; a text with fewer parts is all title.
    """
    body = text.strip()
    body = body[:-1] if body.endswith(".") else body
    parts = body.rsplit(". ", 2)
    if len(parts) < 3:
        return body.strip(), []
    title, category, brand = (part.strip() for part in parts)
    return title, [part for part in (category, brand) if part]


def _unisrec_sequences(path: Path) -> dict[Any, list[Any]]:
    """User -> item history + target, users in file order."""
    sequences: dict[Any, list[Any]] = {}
    for row in _unisrec_rows(path):
        history = [_id(x) for x in (row.get("item_id_list") or "").split()]
        sequences[_id(row["user_id"])] = [*history, _id(row["item_id"])]
    return sequences


def _unisrec_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a RecBole atomic file, its "name:type" headers cut to the name."""
    return [
        {key.partition(":")[0]: value for key, value in row.items() if key is not None}
        for row in _rows(path)
    ]


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
