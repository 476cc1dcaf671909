"""The shared up-front memory check (trapscape._memory)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trapscape._memory import check_budget, coarser, finest_fitting, grid_cells, nice_up
from trapscape.corridors import _solver
from trapscape.corridors._grid import (
    RESISTANCE_BYTES_PER_CELL,
    check_grid_memory,
    check_step_memory,
    corridor_stage_bytes,
    snapped_cells,
)
from trapscape.corridors.circuit_theory import _check_circuit_memory
from trapscape.errors import ComputationError


def test_grid_cells_counts_a_covering_lattice() -> None:
    assert grid_cells((0, 0, 1000, 500), 100) == 10 * 5
    assert grid_cells((0, 0, 1001, 500), 100) == 11 * 5
    assert grid_cells((0, 0, 0, 0), 100) == 1


def test_under_budget_returns_the_estimate() -> None:
    assert check_budget(1000, 8, what="x", budget_gb=1.0) == 8000
    # None disables the check however large the request
    assert check_budget(10**12, 100, what="x", budget_gb=None) == 1e14


def test_over_budget_message_names_size_estimate_budget_and_fix() -> None:
    with pytest.raises(ComputationError) as err:
        check_budget(
            3_000_000,
            1000,
            what="the test grid at 10 m",
            budget_gb=1.0,
            suggest=lambda f: f"Shrink by {f:.1f}.",
        )
    msg = str(err.value)
    assert "The test grid at 10 m" in msg
    assert "3,000,000 cells" in msg
    assert "2.8 GiB" in msg  # 3e9 bytes
    assert "1 GiB" in msg
    assert "Shrink by 2.8." in msg
    assert "max_memory_gb" in msg


def test_non_positive_budget_is_refused() -> None:
    with pytest.raises(ComputationError, match="positive"):
        check_budget(1, 1, what="x", budget_gb=0)


@given(
    extent=st.floats(1_000, 200_000),
    cell=st.floats(1, 500),
    per_cell=st.floats(8, 1000),
    budget_mb=st.floats(1, 4000),
)
def test_the_suggested_cell_size_fits(extent, cell, per_cell, budget_mb) -> None:
    bounds = (0.0, 0.0, extent, 0.7 * extent)
    budget = budget_mb / 1024
    n = grid_cells(bounds, cell)
    need = n * per_cell
    if need <= budget * 2**30:
        return
    suggested = coarser(cell, need / (budget * 2**30))
    assert suggested > cell
    assert grid_cells(bounds, suggested) * per_cell <= budget * 2**30


# --- whole-step estimates and the advice solved from them (issue 13) -------

# about the bundled example's corridor extent (survey, parks, 5 km buffer)
_BOUNDS = (400_000.0, 4_700_000.0, 556_000.0, 4_856_000.0)


class _Grid:
    """The fields of a GridSpec that the circuit check reads."""

    width = height = 3000
    cell = 10.0


def _advice(msg: str) -> int:
    found = re.search(r"(?:resolution of|raster to) (\d+) m", msg)
    assert found, msg
    return int(found.group(1))


def _step_need(n_cores: int):
    return lambda n: max(corridor_stage_bytes(n, n_cores).values())


def test_nice_up_rounds_up_to_round_metres() -> None:
    assert [nice_up(v) for v in (7, 7.2, 19.5, 21, 99, 101, 230)] == [
        7,
        8,
        20,
        25,
        100,
        110,
        230,
    ]


def test_finest_fitting_is_the_boundary_of_a_monotone_need() -> None:
    def need(cell: float) -> float:
        return 1e12 / cell**2

    cell = finest_fitting(need, 5, 1e8)
    assert cell is not None and need(cell) <= 1e8
    assert need(cell - 1) > 1e8  # 100 m fits, 99 m does not
    # a fixed part over the budget: nothing fits
    assert finest_fitting(lambda c: 2e8 + need(c), 5, 1e8) is None


def test_whole_step_estimate_is_its_largest_stage_and_never_falls() -> None:
    prev = 0.0
    for n in (10_000, 149_999, 150_000, 150_001, 400_000, 4_000_000):
        stages = corridor_stage_bytes(n, 2)
        assert set(stages) == {"resistance", "least_cost", "circuit"}
        # the circuit stage dominates: the solve alone is more than the
        # calibrated 500 B per cell of the first stages
        assert stages["circuit"] >= _solver.estimate_memory_bytes(
            n, 2, solver=_solver.choose_solver(n, "auto")
        )
        assert max(stages.values()) >= prev
        prev = max(stages.values())
    assert set(corridor_stage_bytes(1000, 2, run_circuit=False)) == {
        "resistance",
        "least_cost",
    }


@pytest.mark.parametrize("budget_gb", [0.25, 0.5, 1.0, 4.0])
def test_advised_resolution_passes_every_stage(budget_gb: float) -> None:
    """The advice passes the step, resistance and circuit checks at once."""
    n_cores = 2
    with pytest.raises(ComputationError) as err:
        check_step_memory(
            lambda c: snapped_cells(_BOUNDS, c),
            5.0,
            _step_need(n_cores),
            what="the corridor grid at 5 m",
            max_memory_gb=budget_gb,
        )
    cell = _advice(str(err.value))
    n = snapped_cells(_BOUNDS, cell)
    # 1. the whole-step check itself
    check_step_memory(
        lambda c: snapped_cells(_BOUNDS, c),
        cell,
        _step_need(n_cores),
        what="x",
        max_memory_gb=budget_gb,
    )
    # 2. the resistance stage
    check_grid_memory(
        n, cell, RESISTANCE_BYTES_PER_CELL, what="x", max_memory_gb=budget_gb
    )
    # 3. the circuit, whatever share of the cells is valid (solver chosen
    #    as circuit() chooses it; the auto switch at 150,000 cells included)
    grid = _Grid()
    for n_valid in {1, n // 3, min(n, _solver.DIRECT_MAX_CELLS), n}:
        method = _solver.choose_solver(n_valid, "auto")
        _check_circuit_memory(n_valid, n_cores, method, grid, budget_gb)  # type: ignore[arg-type]
    # and it is the finest round value that fits
    finer = cell - (10 if cell > 100 else 5 if cell > 20 else 1)
    assert max(corridor_stage_bytes(snapped_cells(_BOUNDS, finer), 2).values()) > (
        budget_gb * 2**30
    )


def test_circuit_refusal_advises_a_resolution_that_the_solve_accepts() -> None:
    n_valid = 9_000_000
    with pytest.raises(ComputationError) as err:
        _check_circuit_memory(n_valid, 2, "cg_amg", _Grid(), 1.0)  # type: ignore[arg-type]
    cell = _advice(str(err.value))
    side = int(np.ceil(30_000 / cell))
    _check_circuit_memory(side * side, 2, "cg_amg", _Grid(), 1.0)  # type: ignore[arg-type]
