"""Exceptions and warnings raised by trapscape.

Every exception derives from :class:`TrapscapeError`, so callers (and the CLI)
can catch one class.  Input errors carry the file, row and column they refer
to, and their message says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_LISTED",
    "ROWS_LISTED",
    "CRSError",
    "ComputationError",
    "GeometryError",
    "InputError",
    "MissingDependencyError",
    "Problem",
    "ProblemCollector",
    "ProblemKind",
    "SchemaError",
    "TrapscapeError",
    "TrapscapeWarning",
    "group_problems",
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


#: problems listed in one error message (all are kept in ``error.problems``)
MAX_LISTED = 200

#: what a problem concerns; decides the class of the error raised for it
ProblemKind = Literal["value", "schema", "geometry", "crs"]


#: rows named in one grouped line of an error message
ROWS_LISTED = 10


def group_problems(problems: Sequence[Problem]) -> list[str]:
    """One line per group of problems that differ only in their row.

    Groups keep the order of their first problem; a group's rows are listed
    up to :data:`ROWS_LISTED`, then counted ("rows 3, 8, ... and 120 more").
    """
    groups: dict[tuple[str | None, str | None, str], list[int]] = {}
    singles: dict[tuple[str | None, str | None, str], Problem] = {}
    for p in problems:
        key = (p.path, p.column, p.message)
        if key not in groups:
            groups[key] = []
            singles[key] = p
        if p.row is not None:
            groups[key].append(p.row)
    lines = []
    for key, all_rows in groups.items():
        path, column, message = key
        rows = list(dict.fromkeys(all_rows))  # a check repeated on one row
        if len(rows) <= 1:
            lines.append(str(singles[key]))
            continue
        shown = ", ".join(str(r) for r in rows[:ROWS_LISTED])
        if len(rows) > ROWS_LISTED:
            shown += f" and {len(rows) - ROWS_LISTED} more"
        where = [f"rows {shown}"] + ([f"column '{column}'"] if column else [])
        prefix = (f"{path} " if path else "") + ", ".join(where)
        lines.append(f"{prefix}: {message}")
    return lines


class ProblemCollector:
    """Collect problems and raise them all at once.

    Each problem has a kind ("value", "schema", "geometry" or "crs").
    Without an ``error_class`` the raised class fits the kinds: all "crs"
    gives :class:`CRSError`, all "schema" :class:`SchemaError`, all
    "geometry" :class:`GeometryError`, anything else :class:`InputError`.
    The message lists the first :data:`MAX_LISTED` problems; the error's
    ``problems`` keeps them all.

    Examples
    --------
    >>> pc = ProblemCollector()
    >>> pc.add("bad date", path="s.csv", row=3, column="setup")
    >>> len(pc)
    1
    """

    def __init__(self, error_class: type[InputError] | None = None) -> None:
        self.error_class = error_class
        self.problems: list[Problem] = []
        self.kinds: list[ProblemKind] = []

    def add(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        row: int | None = None,
        column: str | None = None,
        kind: ProblemKind = "value",
    ) -> None:
        """Record one problem (a message over 600 characters, e.g. quoting a
        5 MB cell, keeps its start and its fix and drops the middle)."""
        if len(message) > 600:
            message = f"{message[:300]} [...] {message[-250:]}"
        self.problems.append(
            Problem(
                message,
                os.fspath(path) if path is not None else None,
                int(row) if row is not None else None,
                column,
            )
        )
        self.kinds.append(kind)

    def extend(self, other: ProblemCollector) -> None:
        """Record every problem of ``other`` (with its kind)."""
        self.problems.extend(other.problems)
        self.kinds.extend(other.kinds)

    def has_kind(self, kind: ProblemKind, *, since: int = 0) -> bool:
        """Whether a problem of ``kind`` was recorded (from position ``since`` on)."""
        return kind in self.kinds[since:]

    def keep(self, predicate: Callable[[Problem], bool], *, since: int = 0) -> None:
        """Drop the problems from position ``since`` on for which ``predicate`` is false."""
        pairs = [
            (p, k)
            for i, (p, k) in enumerate(zip(self.problems, self.kinds, strict=True))
            if i < since or predicate(p)
        ]
        self.problems = [p for p, _ in pairs]
        self.kinds = [k for _, k in pairs]

    def drop_duplicates(self) -> None:
        """Keep the first of equal problems (a check repeated on the same rows)."""
        seen: set[Problem] = set()

        def first(p: Problem) -> bool:
            if p in seen:
                return False
            seen.add(p)
            return True

        self.keep(first)

    def __len__(self) -> int:
        return len(self.problems)

    def message(self) -> str:
        """All problems, one line per kind (the first MAX_LISTED lines).

        Problems that differ only in their row (same file, column and
        message) share one line naming their rows, so 10,000 rows with one
        mistake make one line, not 10,000.
        """
        probs = self.problems
        if len(probs) == 1:
            return str(probs[0])
        lines = [f"  - {line}" for line in group_problems(probs)]
        head = f"{len(probs)} problems found:\n"
        if len(lines) > MAX_LISTED:
            more = len(lines) - MAX_LISTED
            lines = lines[:MAX_LISTED]
            lines.append(
                f"  ... and {more} more (fix the above and run again, or see "
                "the error's .problems)."
            )
        return head + "\n".join(lines)

    def error(self) -> InputError | CRSError:
        """The error listing every recorded problem (call when there are some)."""
        kinds = set(self.kinds)
        cls = self.error_class
        if cls is None:
            if kinds == {"crs"}:
                return CRSError(self.message())
            if kinds == {"schema"}:
                cls = SchemaError
            elif kinds == {"geometry"}:
                cls = GeometryError
            else:
                cls = InputError
        first = self.problems[0]
        return cls(
            self.message(),
            path=first.path,
            row=first.row,
            column=first.column,
            problems=self.problems,
        )

    def raise_if_any(self) -> None:
        """Raise one error listing every recorded problem, if any."""
        if self.problems:
            raise self.error()
