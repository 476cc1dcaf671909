"""``trapscape demo``: the main job on the bundled Land of the Leopard example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import out_dir_opt
from .run import run_and_echo, run_opts


@click.command(name="demo")
@out_dir_opt
@run_opts
def cmd(out: Path, **flags: Any) -> None:
    """Run the main job on the bundled Land of the Leopard example.

    Real boundaries, simulated survey (about 200 stations).  Open
    OUT/map.html and OUT/report.html afterwards.

    Example: trapscape demo --out demo-output --overwrite
    """
    from ..datasets import get_path

    run_and_echo(Path(get_path("example")), out, **flags)
