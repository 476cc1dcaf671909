"""The ``trapscape`` command-line interface (click)."""
