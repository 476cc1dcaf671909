"""Options of an omnidirectional run, checked in one place."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ...errors import InputError

__all__ = ["Conditions", "OmniscapeOptions"]

Comparison = Literal["within", "equal"]


@dataclass(frozen=True)
class Conditions:
    """Conditional connectivity (Omniscape.jl's "climate connectivity").

    A source only sends current to a target when its present condition
    matches the target's: with ``"within"`` the source's present value minus
    the median of the target block's value lies in ``[lower, upper]``; with
    ``"equal"`` the source's value equals the most common value of the target
    block.  The target's value is read from the future layer for the
    conditions named by ``compare_to_future`` ("none", "1", "2" or "both"),
    otherwise from the present layer.
    """

    comparisons: tuple[Comparison, ...] = ("within",)
    lower: tuple[float, ...] = (0.0,)
    upper: tuple[float, ...] = (0.0,)
    compare_to_future: Literal["none", "1", "2", "both"] = "none"

    def __post_init__(self) -> None:
        n = len(self.comparisons)
        if n not in (1, 2):
            raise InputError(
                f"Conditional connectivity takes 1 or 2 conditions, got {n}."
            )
        if len(self.lower) != n or len(self.upper) != n:
            raise InputError(
                "Conditional connectivity needs one lower and one upper bound per "
                f"condition ({n}); got {len(self.lower)} and {len(self.upper)}."
            )
        for k, comp in enumerate(self.comparisons, start=1):
            if comp not in ("within", "equal"):
                raise InputError(
                    f"comparison{k} = {comp!r} is not allowed; use 'within' or 'equal'."
                )
        if self.compare_to_future not in ("none", "1", "2", "both"):
            raise InputError(
                f"compare_to_future = {self.compare_to_future!r} is not allowed; use "
                "'none', '1', '2' or 'both'."
            )
        if self.compare_to_future in ("2", "both") and n < 2:
            raise InputError(
                f"compare_to_future = {self.compare_to_future!r} needs two conditions "
                "(n_conditions = 2)."
            )

    def uses_future(self, k: int) -> bool:
        """Whether condition ``k`` (0-based) is read from its future layer."""
        return self.compare_to_future == "both" or self.compare_to_future == str(k + 1)


@dataclass(frozen=True)
class OmniscapeOptions:
    """The options of Omniscape.jl's moving-window algorithm.

    ``radius``, ``buffer`` and ``block_size`` are in cells; an even block
    size is raised to the next odd one, as Omniscape.jl does.

    ``solver`` is Omniscape.jl's: ``"cg+amg"`` (its default) solves each
    window as Circuitscape does, by conjugate gradients with an algebraic
    multigrid preconditioner stopped at a relative residual of 1e-6, and so
    reproduces Omniscape.jl's outputs; ``"cholmod"`` solves each window
    exactly (a direct factorisation; faster on windows up to 121 cells
    across, and up to about 2e-5 per cell above the iterative currents).
    """

    radius: int
    block_size: int = 1
    buffer: int = 0
    source_threshold: float = 0.0
    r_cutoff: float = math.inf
    source_from_resistance: bool = False
    resistance_is_conductance: bool = False
    calc_flow_potential: bool = False
    calc_normalized_current: bool = False
    correct_artifacts: bool = True
    connect_four_neighbors_only: bool = False
    mask_nodata: bool = True
    precision: Literal["double", "single"] = "double"
    solver: Literal["cg+amg", "cholmod"] = "cg+amg"
    conditions: Conditions | None = field(default=None)

    def __post_init__(self) -> None:
        for name in ("radius", "block_size", "buffer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not float(value).is_integer():
                raise InputError(
                    f"Omniscape {name} must be a whole number of cells, got {value!r}."
                )
            object.__setattr__(self, name, int(value))
        if self.radius < 1:
            raise InputError(
                f"Omniscape radius is {self.radius} cells; it must be at least one "
                "cell. Give the radius in cells (distance / cell size)."
            )
        if self.block_size < 1:
            raise InputError(
                f"Omniscape block_size must be >= 1, got {self.block_size}."
            )
        if self.buffer < 0:
            raise InputError(f"Omniscape buffer must be >= 0, got {self.buffer}.")
        if self.block_size % 2 == 0:
            object.__setattr__(self, "block_size", self.block_size + 1)
        if self.precision not in ("double", "single"):
            raise InputError(
                f"Omniscape precision must be 'double' or 'single', got "
                f"{self.precision!r}."
            )
        if self.solver not in ("cg+amg", "cholmod"):
            raise InputError(
                f"Omniscape solver must be 'cg+amg' or 'cholmod', got {self.solver!r}."
            )
        if not self.r_cutoff >= 0:
            raise InputError(f"Omniscape r_cutoff must be >= 0, got {self.r_cutoff}.")

    @property
    def block_radius(self) -> int:
        return (self.block_size - 1) // 2

    @property
    def reach(self) -> int:
        """Half-width of a window: radius plus buffer."""
        return self.radius + self.buffer

    @property
    def needs_flow_potential(self) -> bool:
        return self.calc_flow_potential or self.calc_normalized_current

    @property
    def corrects(self) -> bool:
        return self.correct_artifacts and self.block_size > 1
