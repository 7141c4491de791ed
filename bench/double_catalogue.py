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


def _max_id(rows: list[list[str]]) -> int:
    return max(int(row[0]) for row in rows)


def double(source: Path, out: Path) -> dict[str, int]:
    """Writes the doubled catalogue to `out`; returns the row count of each file."""
    missing = [name for name in FILES[:2] if not (source / name).is_file()]
    if missing:
        raise SystemExit(f"{source}: not the amazon_beauty layout (no {', '.join(missing)})")
    out.mkdir(parents=True, exist_ok=True)
    header, items = _read(source / "items.tsv")
    item_shift = _max_id(items)
    copies = [[str(int(r[0]) + item_shift), r[1] + SUFFIX, *r[2:]] for r in items]
    _write(out / "items.tsv", header, items + copies)
    counts = {"items.tsv": 2 * len(items)}

    def shifted_items(ids: str) -> str:
        return " ".join(str(int(i) + item_shift) for i in ids.split())

    header, sequences = _read(source / "sequences.tsv")
    user_shift = _max_id(sequences)
    copies = [[str(int(r[0]) + user_shift), r[1] + SUFFIX, shifted_items(r[2])] for r in sequences]
    _write(out / "sequences.tsv", header, sequences + copies)
    counts["sequences.tsv"] = 2 * len(sequences)
    if (source / "interactions.tsv").is_file():
        header, events = _read(source / "interactions.tsv")
        copies = [
            [str(int(r[0]) + user_shift), str(int(r[1]) + item_shift), r[2] + SUFFIX, *r[3:]]
            for r in events
        ]
        _write(out / "interactions.tsv", header, events + copies)
        counts["interactions.tsv"] = 2 * len(events)
    return counts


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
