"""Shared plumbing of the import commands: progress bar, error report, exit status."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm

from shop.importers import ImportReport, RowError, check_columns, read_rows


class ErrorReport:
    """Writes each row error to stderr (above the progress bar) and to an optional CSV."""

    def __init__(self, errors_path: str | None, *, stream, echo_limit: int = 200):
        self.count = 0
        self.stream = stream
        self.echo_limit = echo_limit
        self._file = None
        self._writer = None
        if errors_path:
            self._file = Path(errors_path).open("w", newline="", encoding="utf-8")  # noqa: SIM115 closed by close()
            self._writer = csv.writer(self._file)
            self._writer.writerow(["file", "line", "field", "reason"])

    def __call__(self, error: RowError) -> None:
        self.count += 1
        if self.count <= self.echo_limit:
            self._echo(f"error: {error}")
        elif self.count == self.echo_limit + 1:
            self._echo("error: ... further errors not shown (see --errors FILE)")
        if self._writer:
            self._writer.writerow([error.file, error.line, error.field, error.reason])

    def _echo(self, line: str) -> None:
        with tqdm.external_write_mode(file=sys.stderr):
            self.stream.write(line)

    def close(self) -> None:
        if self._file:
            self._file.close()


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(buf.count(b"\n") for buf in iter(lambda: handle.read(1 << 20), b""))


@contextmanager
def progress_rows(rows, *, total: int, desc: str, disable: bool):
    bar = tqdm(total=total, desc=desc, unit="rows", disable=disable, file=sys.stderr)

    def wrapped():
        for item in rows:
            bar.update(1)
            yield item

    try:
        yield wrapped()
    finally:
        bar.close()


def finish(command, report: ImportReport, errors: ErrorReport, what: str) -> None:
    errors.close()
    command.stdout.write(f"{what}: {report.summary()}")
    if report.failed:
        raise CommandError(f"{report.failed} row(s) failed; the valid rows were imported.")


def add_common_arguments(parser) -> None:
    parser.add_argument("file", help="CSV, TSV or JSON-lines file (by extension)")
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl"], help="override the format")
    parser.add_argument("--errors", metavar="FILE", help="also write each bad row to this CSV")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def checked_file(name: str, required: list[str], *, fmt: str | None) -> Path:
    """The file to import; CommandError when it is missing or lacks a required column."""
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    missing = check_columns(path, required, fmt=fmt)
    if missing:
        raise CommandError(f"{path.name}: missing required column(s): {', '.join(missing)}")
    return path


def import_file(
    command, options: dict, *, path: Path, what: str, importer: Callable[..., ImportReport]
) -> None:
    """Read the file with a progress bar, import its rows, report, exit non-zero on
    failed rows."""
    errors = ErrorReport(options["errors"], stream=command.stderr)
    with progress_rows(
        read_rows(path, fmt=options["format"]),
        total=count_lines(path),
        desc=what,
        disable=options["no_progress"],
    ) as rows:
        report = importer(rows, file_name=path.name, on_error=errors)
    finish(command, report, errors, what)
