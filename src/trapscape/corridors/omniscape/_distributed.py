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
from typing import Any

import numpy as np

from ...errors import ComputationError, MissingDependencyError
from ._engine import Context, Partial, solve_batch

__all__ = ["DistributedSolve", "solve_distributed"]

logger = logging.getLogger(__name__)


def _client(workers: int, scheduler: str | None) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise MissingDependencyError(
            "Solving on a dask cluster (--workers > 1 or --scheduler) needs dask and "
            "distributed: pip install 'trapscape[dask]'."
        ) from None
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        # distributed sets its loggers to INFO; follow the caller's verbosity
        logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler is not None:
        try:
            return Client(scheduler, timeout="5s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise ComputationError(
                f"Cannot reach the dask scheduler at {scheduler!r} ({exc}). Check the "
                "address (e.g. tcp://host:8786) and that the scheduler is running; "
                "nothing was written."
            ) from None
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: 8787 may be taken
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


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
        self.client, self.cluster = _client(workers, scheduler)
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
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


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
