"""One record per file, written as JSON lines, CSV or a table; the records are written in input order."""

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.table import Table

from digits.results import Failure, MultilabelResult, Result, Task

Format = Literal["table", "csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("table", "csv", "jsonl")
COLUMNS: dict[Task, tuple[str, ...]] = {
    "multiclass": ("path", "label", "probability", "is_digit", "top_k", "error"),
    "multilabel": ("path", "labels", "flags", "probabilities", "error"),
}


def record(result: Result, with_top_k: bool = False) -> dict[str, Any]:
    """What the command line prints for one file."""
    if isinstance(result, Failure):
        return {"path": result.source, "error": result.error}
    if isinstance(result, MultilabelResult):
        return {
            "path": result.source,
            "labels": list(result.labels),
            "flags": list(result.flags),
            "probabilities": list(result.probabilities),
        }
    fields: dict[str, Any] = {
        "path": result.source,
        "label": result.label,
        "probability": result.probability,
        "is_digit": result.is_digit,
    }
    if with_top_k:
        fields["top_k"] = [{"label": k.label, "probability": k.probability} for k in result.top_k]
    return fields


def _cell(value: Any, digits: int | None = None) -> str:
    """A record value as text: lists space-separated, top-k as label:probability, booleans lowercase."""
    if isinstance(value, list):
        return " ".join(_cell(item, digits) for item in value)
    if isinstance(value, dict):
        return f"{value['label']}:{_cell(value['probability'], digits)}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and digits is not None:
        return f"{value:.{digits}f}"
    return str(value)


@dataclass
class Writer:
    """Writes records in input order as results arrive in any order (a table: all at the end)."""

    stream: TextIO
    format: Format
    task: Task
    with_top_k: bool = False
    _waiting: dict[int, Result] = field(default_factory=dict)
    _next: int = 0
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _emit: Callable[[dict[str, Any]], None] = field(init=False)

    def __post_init__(self) -> None:
        columns = [c for c in COLUMNS[self.task] if c != "top_k" or self.with_top_k]
        if self.format == "csv":
            writer = csv.DictWriter(self.stream, columns, lineterminator="\n")
            writer.writeheader()
            self._emit = lambda row: writer.writerow({key: _cell(value) for key, value in row.items()})
        elif self.format == "jsonl":
            self._emit = self._write_json
        else:
            self._emit = self._rows.append

    def _write_json(self, row: dict[str, Any]) -> None:
        self.stream.write(json.dumps(row) + "\n")

    def add(self, index: int, result: Result) -> None:
        """Take the result of the index-th file; write every record now complete in order."""
        self._waiting[index] = result
        while self._next in self._waiting:
            self._emit(record(self._waiting.pop(self._next), self.with_top_k))
            self._next += 1
        self.stream.flush()

    def close(self) -> None:
        """Write the table, if this writer makes one."""
        if self.format != "table":
            return
        columns = [c for c in COLUMNS[self.task] if any(c in row for row in self._rows)]
        table = Table(*columns)
        for row in self._rows:
            table.add_row(*(_cell(row[c], digits=4) if c in row else "" for c in columns))
        Console(file=self.stream).print(table)
