"""``trapscape demo``: the main job on the bundled Land of the Leopard example."""

from __future__ import annotations

from pathlib import Path

import click

from .options import out_dir_opt, overwrite_opt
from .run import offline_opt, public_opt, run_and_echo, seed_opt


@click.command(name="demo")
@out_dir_opt
@overwrite_opt
@public_opt
@offline_opt
@seed_opt
def cmd(
    out: Path, overwrite: bool, public: bool, offline: bool, seed: int | None
) -> None:
    """Run the main job on the bundled Land of the Leopard example.

    Real boundaries, simulated survey (about 200 stations).  Open
    OUT/map.html and OUT/report.html afterwards.

    Example: trapscape demo --out demo-output --overwrite
    """
    from ..datasets import get_path

    run_and_echo(
        Path(get_path("example")),
        out,
        overwrite=overwrite,
        public=public,
        offline=offline,
        seed=seed,
    )
