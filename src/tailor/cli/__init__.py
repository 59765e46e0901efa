"""The ``tailor`` command line (Typer)."""
