"""Optional dask.distributed helpers for chunked grid work (``trapscape[dask]``).

Analyses that are embarrassingly parallel over a grid (the resistance
surface, the pdot surface) split the grid into row bands; each band is a
task that computes its cells only.  :func:`wants_dask` says whether the user
asked for a cluster, :func:`dask_client` opens one (a ``LocalCluster`` of
``workers`` processes, or the scheduler at ``scheduler``), and
:func:`row_bands` cuts a grid into bands of about ``cells`` cells.  Without
dask installed nothing here is imported unless a cluster was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .errors import ComputationError, MissingDependencyError

__all__ = [
    "BAND_CELLS",
    "close_client",
    "cluster_options",
    "dask_client",
    "gather_in_order",
    "open_client",
    "row_bands",
    "wants_dask",
]

#: Cells per band of a chunked grid (about 8 MB per float64 band).
BAND_CELLS = 1 << 20


def wants_dask(workers: int | None, scheduler: str | None) -> bool:
    """``True`` when a cluster was asked for (``workers > 1`` or a scheduler)."""
    return scheduler is not None or (workers is not None and int(workers) > 1)


def cluster_options(workers: int = 1, scheduler: str | None = None) -> dict[str, Any]:
    """The keys of a project's ``[dask]`` section (every step that can use it).

    ``workers``: processes of a local dask cluster (1: no cluster);
    ``scheduler``: address of a running dask.distributed scheduler.  They
    apply to the steps that build grids in chunks (resistance, pdot) or
    solve Omniscape windows, unless the step's own section sets them.
    """
    return {"workers": workers, "scheduler": scheduler}


def row_bands(nrows: int, ncols: int, cells: int = BAND_CELLS) -> list[tuple[int, int]]:
    """``(row0, row1)`` bands of whole rows holding about ``cells`` cells each."""
    step = max(1, int(cells) // max(int(ncols), 1))
    return [(r, min(r + step, nrows)) for r in range(0, nrows, step)]


def band_cells_for(workers: int, nrows: int, ncols: int) -> int:
    """Band size: at most :data:`BAND_CELLS`, at least two bands per worker."""
    per = -(-nrows * ncols // max(2 * int(workers), 1))
    return max(ncols, min(BAND_CELLS, per))


def open_client(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    """A dask.distributed client and its ``LocalCluster`` (``None`` at ``scheduler``).

    A new ``LocalCluster`` of ``workers`` single-threaded processes (its
    dashboard on a free port: the default 8787 may be held by another
    cluster, and ``dashboard_address=None`` still binds it), or a client of
    the running scheduler at ``scheduler``.  The caller closes both.

    Raises
    ------
    MissingDependencyError
        If dask/distributed are not installed.
    ComputationError
        If the scheduler at ``scheduler`` cannot be reached.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise MissingDependencyError(
            "Computing on a dask cluster (--workers > 1 or --scheduler) needs dask "
            "and distributed: pip install 'trapscape[dask]'."
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
        n_workers=max(1, int(workers or 1)),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def close_client(client: Any, cluster: Any) -> None:
    """Close a client of :func:`open_client` and its ``LocalCluster`` if any."""
    client.close()
    if cluster is not None:
        cluster.close()


@contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A dask.distributed client (:func:`open_client`), closed with its cluster on exit."""
    client, cluster = open_client(workers, scheduler)
    try:
        yield client
    finally:
        close_client(client, cluster)


def gather_in_order(
    client: Any,
    func: Callable[..., Any],
    args: Sequence[tuple[Any, ...]],
    *,
    progress: bool = False,
    desc: str = "chunks",
) -> Iterator[Any]:
    """Submit ``func(*a)`` for every ``a``; yield the results in input order.

    Results are released as soon as they are yielded, so the client holds
    one chunk at a time beyond what the caller keeps.
    """
    futures = [client.submit(func, *a, pure=False) for a in args]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(futures), desc=f"{desc} (dask)", unit="chunk")
    try:
        for fut in futures:
            out = fut.result()
            fut.release()
            if bar is not None:
                bar.update(1)
            yield out
    finally:
        if bar is not None:
            bar.close()
        for fut in futures:
            fut.release()
