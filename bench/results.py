"""What a benchmark returns: its figures as a dataclass that declares its own table rows (with the
targets) and its section of BENCHMARKS.md; bench/report.py only lays them out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

KIB = 1024
KB = 1000
MB = 1000 * 1000


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a measure, its value, and the target it is held against (if any)."""

    benchmark: str
    measure: str
    value: str
    target: str = ''
    met: bool | None = None  # None: no target, or not measured

    @property
    def status(self) -> str:
        if self.met is None:
            return 'not measured' if self.value == 'not measured' else ''
        return 'met' if self.met else 'MISSED'


class Outcome(Protocol):
    """A benchmark's result, or its failure."""

    def rows(self) -> list[Row]: ...

    def details(self) -> list[str]: ...

    def figures(self) -> dict[str, Any]: ...


class Result:
    """The base of every benchmark's result dataclass: ``title`` names it in the table."""

    title: ClassVar[str]

    def rows(self) -> list[Row]:
        raise NotImplementedError

    def details(self) -> list[str]:
        """Lines of Markdown under the table: how the figures came about (none by default)."""
        return []

    def figures(self) -> dict[str, Any]:
        """Every figure, for bench/results/*.json."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass
class Failed:
    """A benchmark that raised: one row says why it was not measured."""

    title: str
    error: str

    def rows(self) -> list[Row]:
        return [Row(self.title, f'not measured: {self.error}'[:100], 'not measured')]

    def details(self) -> list[str]:
        return []

    def figures(self) -> dict[str, Any]:
        return {'error': self.error}


def ok(part: Any) -> bool:
    """A part of a result measured on its own (a calibration, the run across workers) that did not fail."""
    return isinstance(part, dict) and 'error' not in part


def ms(summary: dict[str, float]) -> str:
    """p50 and p95 of a summary, as two table cells."""
    return f'{summary["p50"]:.0f} | {summary["p95"]:.0f}'
