"""Moving-window solves on a dask.distributed cluster (``trapscape[dask]``).

Each task receives only the part of the grids (conductance, sources,
conditions) that its batch of windows reads, plus the artifact correction,
so no worker holds a full grid; it solves the batch and returns only the
current on the batch's bounding box
(:class:`~._engine.Partial`), never a full grid.  The client adds the
partials into the output in batch order, the order of the single-process
run, so both give bit-identical maps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from ..._dask import close_client, open_client
from ._engine import Context, Partial, solve_batch

__all__ = ["DistributedSolve", "solve_distributed"]

logger = logging.getLogger(__name__)


class DistributedSolve:
    """Batches submitted to a cluster; iterate to get the partials in order."""

    def __init__(
        self,
        ctx: Context,
        groups: list[np.ndarray],
        *,
        workers: int,
        scheduler: str | None,
        progress: bool,
    ) -> None:
        self.client, self.cluster = open_client(workers, scheduler)
        self.n_workers = len(self.client.scheduler_info().get("workers", {})) or workers
        self.progress = progress
        self.n_targets = len(ctx.targets)
        # each task gets only the part of the grids its windows read
        self.futures = [
            self.client.submit(
                solve_batch,
                ctx.window(ctx.targets[idx]),
                np.arange(len(idx)),
                pure=False,
            )
            for idx in groups
        ]
        logger.info(
            "omniscape: %d batches on %d dask workers", len(groups), self.n_workers
        )

    def __iter__(self) -> Iterator[Partial]:
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.n_targets, desc="omniscape targets (dask)")
        try:
            for fut in self.futures:
                part = fut.result()
                fut.release()
                if bar is not None:
                    bar.update(part.n_targets)
                yield part
        finally:
            if bar is not None:
                bar.close()
            self.close()

    def close(self) -> None:
        close_client(self.client, self.cluster)


def solve_distributed(
    ctx: Context,
    groups: list[np.ndarray],
    *,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> tuple[DistributedSolve, int]:
    """Submit the batches; return the ordered partials and the worker count."""
    run = DistributedSolve(
        ctx, groups, workers=workers, scheduler=scheduler, progress=progress
    )
    return run, run.n_workers
