"""``tailor serve``: migrate, make sure a token exists, start local workers and the HTTP server."""

from __future__ import annotations

import typer

from tailor.cli.main import app


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
    rt = build_runtime(settings, migrate=True)
    token = ensure_default_token(rt)
    url = f"http://{settings.host}:{settings.port}"
    typer.echo("")
    typer.echo(f"  Tailor API:      {url}   (docs: {url}/docs)")
    typer.echo(f"  Web console:     {url}/console")
    if token:
        typer.echo(f"  API token:       {token}")
        typer.echo(f"  (saved to {settings.token_file}; send it as the 'api_token' header)")
    elif settings.token_file.exists():
        typer.echo(
            f"  API token:       {settings.token_file.read_text().strip()}  (from {settings.token_file})"
        )
    else:
        typer.echo("  API token:       create one with `tailor token create --org NAME`")
    typer.echo(f"  Data directory:  {settings.home}")
    typer.echo("")
    api = create_app(settings, rt)
    uvicorn.run(api, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
