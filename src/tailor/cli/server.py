"""``tailor serve``: migrate, make sure a token exists, start local workers and the HTTP server."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

import typer

from tailor.cli.main import app

if TYPE_CHECKING:
    from tailor.bootstrap import Runtime
    from tailor.config import Settings
    from tailor.services.sweeper import PeriodicSweeper
    from tailor.worker.supervisor import WorkerSupervisor


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default TAILOR_HOST or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default TAILOR_PORT or 8000)."),
    workers: int | None = typer.Option(None, help="Local worker processes (default TAILOR_WORKERS)."),
) -> None:
    """Run the API (and local workers) with the settings from the environment."""
    import uvicorn

    from tailor.api.app import create_app
    from tailor.bootstrap import build_runtime, ensure_default_token
    from tailor.config import load_settings

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if workers is not None:
        overrides["workers"] = workers
    settings = load_settings(**overrides)
    os.umask(0o077)  # whatever this process and its workers create is theirs alone
    rt = build_runtime(settings, migrate=True)
    token = ensure_default_token(rt)
    url = f"http://{settings.host}:{settings.port}"
    typer.echo("")
    typer.echo(f"  Tailor API:      {url}   (docs: {url}/docs)")
    typer.echo(f"  Web console:     {url}/console")
    if token:  # shown once, when it is created; later starts only say where it is
        typer.echo(f"  API token:       {token}")
        typer.echo(f"  (saved to {settings.token_file}; send it as the 'api_token' header)")
    elif settings.token_file.exists():
        typer.echo(f"  API token:       in {settings.token_file} (send it as the 'api_token' header)")
    else:
        typer.echo("  API token:       create one with `tailor token create --org NAME`")
    typer.echo(f"  Data directory:  {settings.home}")
    extra = (
        f" (+{settings.long_job_workers} for training)"
        if settings.workers and settings.long_job_workers
        else ""
    )
    typer.echo(f"  Local workers:   {settings.workers}{extra}")
    typer.echo("")
    api = create_app(settings, rt)
    supervisor = start_local_workers(settings, rt)
    sweeper = start_sweeper(rt)
    # uvicorn restores the previous SIGTERM handler and re-raises the signal after its own graceful
    # shutdown: a no-op handler here lets us stop the workers before the process exits.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server = uvicorn.Server(
            uvicorn.Config(api, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
        )
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sweeper is not None:
            sweeper.stop()
        if supervisor is not None:
            typer.echo("stopping local workers (running jobs finish or go back to the queue)...")
            supervisor.stop(timeout_s=settings.worker_shutdown_grace_s + 15)
        rt.close()


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of worker processes: ours, with the resolved locations made explicit."""
    env = dict(os.environ)
    env["TAILOR_HOME"] = str(settings.home)
    env["TAILOR_DATABASE_URL"] = settings.resolved_database_url
    env["TAILOR_BLOB_URL"] = settings.resolved_blob_url
    env["TAILOR_SECRET_KEY"] = settings.resolved_secret_key()
    return env


def start_local_workers(settings: Settings, rt: Runtime) -> WorkerSupervisor | None:
    """Start ``settings.workers`` supervised worker processes for short work and
    ``settings.long_job_workers`` for long work (None when there are none), each on its device of
    ``settings.devices`` when that is set (training workers on their ``TAILOR_TRAINING_DEVICES``
    group, the others on the devices no group uses)."""
    from tailor.domain.jobs import Priority
    from tailor.worker.supervisor import WorkerSupervisor, parse_devices, plan_lanes

    kinds = [(name, rt.registry.kind(name).priority >= Priority.LONG) for name in rt.registry.names]
    lanes = plan_lanes(settings.workers, settings.long_job_workers, kinds)
    if not lanes:
        return None
    supervisor = WorkerSupervisor(
        len(lanes), env=worker_env(settings), kinds=lanes, devices=parse_devices(settings.devices)
    )
    start_placed(settings, supervisor)
    return supervisor


def start_placed(settings: Settings, supervisor: WorkerSupervisor) -> None:
    """Start the workers once their device layout is checked against the memory plan (a refused
    layout stops here, naming the device and what to change)."""
    from tailor.worker.supervisor import check_layout

    try:
        notes = check_layout(settings, supervisor.placements)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    for line in notes:
        typer.echo(f"note: {line}", err=True)
    supervisor.start()


def start_sweeper(rt: Runtime) -> PeriodicSweeper | None:
    """Sweep orphaned blobs every ``TAILOR_SWEEP_INTERVAL_S`` (None when it is 0)."""
    from tailor.services.sweeper import PeriodicSweeper

    st = rt.settings
    if st.sweep_interval_s <= 0:
        return None
    return PeriodicSweeper(rt, interval_s=st.sweep_interval_s, grace_s=st.sweep_grace_s).start()
