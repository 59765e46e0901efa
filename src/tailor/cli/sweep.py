"""``tailor sweep``: remove blobs that no record references, and writes that never finished."""

from __future__ import annotations

import typer

from tailor.cli.main import app


@app.command()
def sweep(
    grace_s: float | None = typer.Option(
        None,
        "--grace-s",
        min=0,
        help="Only blobs older than this many seconds (default TAILOR_SWEEP_GRACE_S).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be removed; remove nothing."),
) -> None:
    """Remove orphaned blobs (images, generated outputs, uploaded archives, deleted models' files)
    and unfinished writes older than the grace period, and print counts and sizes."""
    from tailor.bootstrap import build_runtime
    from tailor.config import load_settings
    from tailor.services.sweeper import sweep as run_sweep

    settings = load_settings()
    rt = build_runtime(settings, migrate=True)
    try:
        grace = settings.sweep_grace_s if grace_s is None else grace_s
        report = run_sweep(rt, grace_s=grace, dry_run=dry_run)
    finally:
        rt.close()
    typer.echo(f"grace period: {grace:g} s{' (dry run)' if dry_run else ''}")
    for line in report.lines():
        typer.echo(line)
    if report.errors:
        raise typer.Exit(1)
