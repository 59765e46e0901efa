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
    typer.echo(f"  Local workers:   {settings.workers}")
    typer.echo("")
    api = create_app(settings, rt)
    supervisor = start_local_workers(settings)
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


def start_local_workers(settings: Settings) -> WorkerSupervisor | None:
    """Start ``settings.workers`` supervised worker processes (None when it is 0)."""
    from tailor.worker.supervisor import WorkerSupervisor, parse_devices

    if settings.workers <= 0:
        return None
    supervisor = WorkerSupervisor(
        settings.workers, env=worker_env(settings), devices=parse_devices(settings.devices)
    )
    supervisor.start()
    return supervisor


def start_sweeper(rt: Runtime) -> PeriodicSweeper | None:
    """Sweep orphaned blobs every ``TAILOR_SWEEP_INTERVAL_S`` (None when it is 0)."""
    from tailor.services.sweeper import PeriodicSweeper

    st = rt.settings
    if st.sweep_interval_s <= 0:
        return None
    return PeriodicSweeper(rt, interval_s=st.sweep_interval_s, grace_s=st.sweep_grace_s).start()
