"""``tailor worker``: run job workers on this machine against a shared database and blob store."""

from __future__ import annotations

import os
import signal
import time

import typer

from tailor.cli.main import app


@app.command()
def worker(
    processes: int = typer.Option(1, "--processes", "-n", min=1, help="Worker processes to run here."),
    kinds: str | None = typer.Option(
        None, help="Comma-separated job kinds to take (default: every kind this install knows)."
    ),
) -> None:
    """Run workers with the settings from the environment (TAILOR_DATABASE_URL, TAILOR_BLOB_URL...).

    Each worker takes one job at a time; SIGTERM lets running jobs finish (or requeues them after
    TAILOR_WORKER_SHUTDOWN_GRACE_S).
    """
    from tailor.cli.server import start_placed
    from tailor.config import load_settings
    from tailor.worker.supervisor import WorkerSupervisor, parse_devices, run_worker

    settings = load_settings()
    os.umask(0o077)  # files this worker creates (blobs, caches) are private
    if settings.database_url is None:
        typer.echo(
            "note: TAILOR_DATABASE_URL is not set; using the SQLite database under TAILOR_HOME "
            f"({settings.resolved_database_url}), which only works on this machine",
            err=True,
        )
    if settings.secret_key is None:
        typer.echo(
            "note: TAILOR_SECRET_KEY is not set; set it to the API's value so that links in webhook "
            "bodies are valid and webhooks can be signed",
            err=True,
        )
    if kinds:
        os.environ["TAILOR_WORKER_KINDS"] = kinds
    kind_list = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    if processes == 1:
        raise typer.Exit(run_worker(kinds=kind_list))
    supervisor = WorkerSupervisor(processes, env=dict(os.environ), devices=parse_devices(settings.devices))
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    start_placed(settings, supervisor)
    typer.echo(f"running {processes} worker processes; SIGTERM or Ctrl-C stops them")
    while not stopping:
        time.sleep(0.5)
    supervisor.stop(timeout_s=settings.worker_shutdown_grace_s + 15)
