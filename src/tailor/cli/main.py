"""Entry point of the ``tailor`` command: server/admin commands here, user commands in sibling modules."""

from __future__ import annotations

import importlib
import logging

import typer

app = typer.Typer(help="Tailor: tailored image generation on FIBO.", no_args_is_help=True)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")

# Modules that add commands to ``app`` (imported lazily by ``main``).
COMMAND_MODULES: list[str] = [
    "tailor.cli.server",
    "tailor.cli.worker",
    "tailor.cli.sweep",
    "tailor.cli.projects",
    "tailor.cli.datasets",
    "tailor.cli.models",
    "tailor.cli.generate",
]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the newest."""
    from tailor.config import load_settings
    from tailor.store.migrate import upgrade

    settings = load_settings()
    upgrade(settings.resolved_database_url)
    typer.echo(f"database at head: {settings.resolved_database_url}")


@token_app.command("create")
def token_create(
    org: str = typer.Option(..., "--org", help="Organization name (created if new)."),
    name: str | None = typer.Option(None, help="A label for the token."),
) -> None:
    """Create an API token for an organization and print it (it is shown only once)."""
    from tailor.config import load_settings
    from tailor.store import orgs
    from tailor.store.db import make_engine, make_sessionmaker, session_scope
    from tailor.store.migrate import upgrade

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as s:
        organization = orgs.get_or_create_org(s, org)
        token = orgs.create_token(s, organization, name=name)
    engine.dispose()
    typer.echo(token)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise
    for mod in COMMAND_MODULES:
        importlib.import_module(mod)
    app()


if __name__ == "__main__":
    main()
