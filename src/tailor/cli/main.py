"""Entry point of the ``tailor`` command: server/admin commands here, user commands in sibling modules."""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tailor.store.tables import ApiToken

# Plain (click) help on every command group: it wraps at any terminal width instead of cutting option
# names and text short, and shows no type placeholders such as <bool> on flags.
HELP_MARKUP = None
app = typer.Typer(
    help="Tailor: tailored image generation on FIBO.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP)
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
    "tailor.cli.generations",
    "tailor.cli.contract",
    "tailor.cli.video",
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
    from tailor.bootstrap import secure_home
    from tailor.config import load_settings
    from tailor.store import orgs
    from tailor.store.db import make_engine, make_sessionmaker, session_scope
    from tailor.store.migrate import upgrade

    settings = load_settings()
    secure_home(settings)
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as s:
        organization = orgs.get_or_create_org(s, org)
        token = orgs.create_token(s, organization, name=name, secret=settings.resolved_secret_key())
    engine.dispose()
    typer.echo(token)


@contextmanager
def _admin_session() -> Iterator[Session]:
    """A transaction on the configured database (migrated first), committed on success."""
    from tailor.config import load_settings
    from tailor.store.db import make_engine, make_sessionmaker, session_scope
    from tailor.store.migrate import upgrade

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            yield s
    finally:
        engine.dispose()


def _one_token(s: Session, ref: str) -> ApiToken:
    """The token ``ref`` names (id, prefix or whole token), or exit 1 saying why not."""
    from tailor.store import orgs

    found = orgs.find_tokens(s, ref)
    if not found:
        typer.echo(f"error: no token has the id or prefix {ref!r} (see `tailor token list`)", err=True)
        raise typer.Exit(1)
    if len(found) > 1:
        ids = ", ".join(str(t.id) for t in found)
        typer.echo(f"error: {ref!r} matches {len(found)} tokens (ids {ids}): give the id", err=True)
        raise typer.Exit(1)
    return found[0]


def _describe(s: Session, row: ApiToken) -> str:
    from tailor.store.tables import Organization

    org = s.get(Organization, row.organization_id)
    return f"token {row.id} ({row.prefix}…, organization {org.name if org else '?'}, name {row.name or '-'})"


@token_app.command("list")
def token_list(
    org: str | None = typer.Option(None, "--org", help="Only this organization's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List API tokens: id, organization, name, prefix, created, revoked (never the token)."""
    from tailor.store import orgs

    with _admin_session() as s:
        tokens = orgs.list_tokens(s, org)

    def created(t: orgs.TokenInfo) -> str:
        return t.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    if as_json:
        rows = [
            {
                "id": t.id,
                "organization": t.organization,
                "name": t.name,
                "prefix": t.prefix,
                "created": created(t),
                "revoked": t.revoked,
            }
            for t in tokens
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    lines = [["id", "organization", "name", "prefix", "created", "revoked"]] + [
        [str(t.id), t.organization, t.name or "-", t.prefix, created(t), "yes" if t.revoked else "no"]
        for t in tokens
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@token_app.command("revoke")
def token_revoke(
    token: str = typer.Argument(..., help="The token's id or prefix (as `tailor token list` shows it)."),
) -> None:
    """Revoke an API token: from its next request on it answers 401."""
    from tailor.store import orgs

    with _admin_session() as s:
        row = _one_token(s, token)
        what = _describe(s, row)
        changed = orgs.revoke_token(s, row)
    typer.echo(f"revoked {what}" if changed else f"{what} was already revoked")


@token_app.command("rotate")
def token_rotate(
    token: str = typer.Argument(..., help="The token's id or prefix (as `tailor token list` shows it)."),
) -> None:
    """Revoke an API token and print a new one for the same organization and name (shown only once)."""
    from tailor.config import load_settings
    from tailor.store import orgs

    with _admin_session() as s:
        row = _one_token(s, token)
        what = _describe(s, row)
        new = orgs.rotate_token(s, row, secret=load_settings().resolved_secret_key())
    typer.echo(f"revoked {what}; its replacement follows", err=True)
    typer.echo(new)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step is noise
    for mod in COMMAND_MODULES:
        importlib.import_module(mod)
    app()


if __name__ == "__main__":
    main()
