"""Records of one run: per-step outcomes, the run result and the shared state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..products import RunProducts

if TYPE_CHECKING:
    from ..survey import Survey


__all__ = ["RunResult", "StepRecord"]

logger = logging.getLogger("trapscape.pipeline")


@dataclass
class StepRecord:
    """Outcome of one step.

    Attributes
    ----------
    status
        ``"ok"``, ``"skipped"`` (switched off), ``"not available"`` (module
        not installed), ``"failed"`` (could not be computed on this data).
    seconds
        Wall-clock time.
    message
        Reason for a skip or failure, or a short summary.
    outputs
        Output files, relative to the output directory.
    """

    status: str
    seconds: float = 0.0
    message: str = ""
    outputs: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_project` produced.

    Attributes
    ----------
    out_dir
        The output directory.
    steps
        Per-step records, in execution order.
    manifest
        The content of ``manifest.json``.
    """

    out_dir: Path
    steps: dict[str, StepRecord]
    manifest: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        """Every file written, sorted."""
        return sorted(p for p in self.out_dir.rglob("*") if p.is_file())


@dataclass
class _Context:
    """Mutable state shared by the steps of one run (internal)."""

    survey: Survey
    public_survey: Survey | None
    params: dict[str, dict[str, Any]]
    stage: Path
    seed: int
    public: bool
    public_cell: float
    offline: bool
    inputs: dict[str, Path]
    progress: bool
    products: RunProducts = field(default_factory=RunProducts)
    records: dict[str, StepRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    project_dir: Path | None = None
    lang: str = "en"

    @property
    def shown_survey(self) -> Survey:
        """The survey whose locations may appear in outputs."""
        return self.public_survey if self.public_survey is not None else self.survey

    def path(self, name: str) -> Path:
        p = self.stage / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


class _NotAvailable(Exception):
    """An optional dependency of a step is not installed."""


class _Skip(Exception):
    """The step has nothing to do on this data (recorded as skipped)."""
