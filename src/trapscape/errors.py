"""Exceptions and warnings raised by trapscape.

Every exception derives from :class:`TrapscapeError`, so callers (and the CLI)
can catch one class.  Input errors carry the file, row and column they refer
to, and their message says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CRSError",
    "ComputationError",
    "GeometryError",
    "InputError",
    "MissingDependencyError",
    "Problem",
    "ProblemCollector",
    "SchemaError",
    "TrapscapeError",
    "TrapscapeWarning",
]


class TrapscapeError(Exception):
    """Root of all trapscape errors."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: what, where and the fix.

    ``row`` is the 1-based data row as a spreadsheet user counts it (the
    header is not counted), or ``None`` when the problem concerns the whole
    file or a column.
    """

    message: str
    path: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(os.fspath(self.path))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        if where and self.path and len(where) > 1:
            prefix = f"{where[0]} " + ", ".join(where[1:])
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(TrapscapeError, ValueError):
    """Bad file content or argument.

    Parameters
    ----------
    message
        Full message (what, where, fix).
    path, row, column
        Location of the (first) problem, when known.
    problems
        All problems found, when a validator collected several.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        row: int | None = None,
        column: str | None = None,
        problems: Sequence[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.path = os.fspath(path) if path is not None else None
        self.row = row
        self.column = column
        self.problems: tuple[Problem, ...] = tuple(problems or ())

    @classmethod
    def from_problems(cls, problems: Iterable[Problem]) -> InputError:
        """Build one error listing every problem (one per line)."""
        problems = tuple(problems)
        first = problems[0]
        if len(problems) == 1:
            msg = str(first)
        else:
            msg = f"{len(problems)} problems found:\n" + "\n".join(
                f"  - {p}" for p in problems
            )
        return cls(
            msg, path=first.path, row=first.row, column=first.column, problems=problems
        )


class SchemaError(InputError):
    """A required column is missing or has the wrong type."""


class GeometryError(InputError):
    """A geometry is invalid, empty or of the wrong type."""


class CRSError(TrapscapeError, ValueError):
    """A CRS is missing, geographic where metres are needed, or mismatched."""


class MissingDependencyError(TrapscapeError, ImportError):
    """An optional dependency is not installed."""


class ComputationError(TrapscapeError, RuntimeError):
    """A computation cannot proceed (no data, no convergence, too large)."""


class TrapscapeWarning(UserWarning):
    """Warning about questionable input or a fallback that was applied."""


class ProblemCollector:
    """Collect problems and raise them all at once.

    Examples
    --------
    >>> pc = ProblemCollector()
    >>> pc.add("bad date", path="s.csv", row=3, column="setup")
    >>> len(pc)
    1
    """

    def __init__(self, error_class: type[InputError] = InputError) -> None:
        self.error_class = error_class
        self.problems: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        """Record one problem."""
        self.problems.append(
            Problem(message, os.fspath(path) if path is not None else None, row, column)
        )

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_any(self) -> None:
        """Raise one error listing every recorded problem, if any."""
        if self.problems:
            raise self.error_class.from_problems(self.problems)
