"""``python -m trapscape`` runs the command-line interface."""

from trapscape.cli.main import cli

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess test
    cli(prog_name="trapscape")
