"""The shared up-front memory check (trapscape._memory)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trapscape._memory import check_budget, coarser, grid_cells
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
