"""Writes a catalogue twice the size of one in the amazon_beauty layout, for scale checks.

    python -m bench.double_catalogue --data ../shared/datasets/amazon_beauty --out var/data/beauty_x2

Every user, item and interaction is written twice: the copy's ids are offset by the
largest id, its ASINs and reviewer ids get a "~2" suffix, titles and attribute ids are
kept. The result has 2x the users, items and events in the same layout, so
`bench.offline_recs` can time training, tuning and scoring at that size and show that
nothing runs out of memory. Its quality figures say nothing about a real catalogue of
that size: each item has a twin with the same title, and the two halves never mix.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from pathlib import Path

SUFFIX = "~2"
FILES = ("items.tsv", "sequences.tsv", "interactions.tsv")


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    # Fields hold no tab or newline (they were read as such), so they are written as read.
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.writelines("\t".join(row) + "\n" for row in [header, *rows])


def _copies(path: Path, rows: list[list[str]], copy: Callable[[list[str]], list[str]]):
    """`copy` of every row; a row it cannot read stops the run, naming file and line."""
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            out.append(copy(row))
        except (ValueError, IndexError) as error:
            raise SystemExit(f"{path}, line {line}: cannot read {row!r} ({error})") from None
    return out


def double(source: Path, out: Path) -> dict[str, int]:
    """Writes the doubled catalogue to `out`; returns the row count of each file.

    Every file is read and copied before anything is written, so bad input leaves
    no half-written catalogue behind.
    """
    missing = [name for name in FILES[:2] if not (source / name).is_file()]
    if missing:
        raise SystemExit(f"{source}: not the amazon_beauty layout (no {', '.join(missing)})")
    tables = {name: _read(source / name) for name in FILES if (source / name).is_file()}
    shift = {
        name: max(_copies(source / name, tables[name][1], lambda r: int(r[0])), default=0)
        for name in FILES[:2]
    }
    items, users = shift["items.tsv"], shift["sequences.tsv"]

    def item_list(ids: str) -> str:
        return " ".join(str(int(i) + items) for i in ids.split())

    copy = {
        "items.tsv": lambda r: [str(int(r[0]) + items), r[1] + SUFFIX, *r[2:]],
        "sequences.tsv": lambda r: [str(int(r[0]) + users), r[1] + SUFFIX, item_list(r[2])],
        "interactions.tsv": lambda r: [
            str(int(r[0]) + users),
            str(int(r[1]) + items),
            r[2] + SUFFIX,
            *r[3:],
        ],
    }
    doubled = {
        name: rows + _copies(source / name, rows, copy[name]) for name, (_, rows) in tables.items()
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in doubled.items():
        _write(out / name, tables[name][0], rows)
    return {name: len(rows) for name, rows in doubled.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="a catalogue in the amazon_beauty layout")
    parser.add_argument("--out", required=True, help="folder to write the doubled catalogue to")
    args = parser.parse_args(argv)
    for name, rows in double(Path(args.data), Path(args.out)).items():
        print(f"{args.out}/{name}: {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
