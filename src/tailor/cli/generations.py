"""``tailor generations list|delete``: a project's generation history."""

from __future__ import annotations

from typing import Annotated

import typer

from tailor.cli._sdk import JsonOpt, TokenOpt, UrlOpt, client, handle_errors, out, print_json, table
from tailor.cli.main import HELP_MARKUP, app

generations_app = typer.Typer(
    help="A project's generation history (every image made with its models).",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(generations_app, name="generations")

COLUMNS = [
    ("ID", "id"),
    ("Created", "created_at"),
    ("Model", "model_id"),
    ("Version", "model_version"),
    ("Seed", "seed"),
    ("Prompt", "prompt"),
    ("Request", "request_id"),
]


@generations_app.command("list")
@handle_errors
def list_generations(
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    page: Annotated[int, typer.Option("--page", help="Page number (1: the newest).", min=1)] = 1,
    page_size: Annotated[
        int, typer.Option("--page-size", help="Entries per page (1-100).", min=1, max=100)
    ] = 20,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a project's generations, newest first."""
    with client(url, token) as t:
        data = t.generations.list(project_id, page=page, page_size=page_size)
    if as_json:
        print_json(data)
        return
    table(data.generations, COLUMNS)
    pages = max(1, -(-data.total // data.page_size))
    out.print(f"Page {data.page} of {pages} ({data.total} in all)")


@generations_app.command("delete")
@handle_errors
def delete_generation(
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    generation_id: Annotated[int, typer.Argument(help="History entry id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete one history entry and its image."""
    with client(url, token) as t:
        t.generations.delete(project_id, generation_id)
    out.print(f"Deleted generation {generation_id}")
