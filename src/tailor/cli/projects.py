"""``tailor project list|create|show|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from tailor.cli._sdk import JsonOpt, TokenOpt, UrlOpt, client, handle_errors, out, print_json, show, table
from tailor.cli.main import HELP_MARKUP, app

project_app = typer.Typer(
    help="Projects: the IP you train for.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)
app.add_typer(project_app, name="project")

COLUMNS = [
    ("ID", "id"),
    ("Name", "project_name"),
    ("IP type", "ip_type"),
    ("Medium", "ip_medium"),
    ("Training", "training_version"),
]


@project_app.command("list")
@handle_errors
def list_projects(url: UrlOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """List your organization's projects."""
    with client(url, token) as t:
        projects = t.projects.list()
    print_json(projects) if as_json else table(projects, COLUMNS)


@project_app.command("create")
@handle_errors
def create_project(
    name: Annotated[str, typer.Argument(help="Project name.")],
    ip_type: Annotated[
        str,
        typer.Option(
            "--type",
            help="defined_character, stylized_scene, multi_object_set, object_variants, icons, "
            "character_variants or other.",
        ),
    ] = "defined_character",
    medium: Annotated[str, typer.Option("--medium", help="illustration or photography.")] = "illustration",
    description: Annotated[str | None, typer.Option(help="Project description.")] = None,
    ip_name: Annotated[str | None, typer.Option(help="Name of the IP (defined_character).")] = None,
    ip_description: Annotated[str | None, typer.Option(help="Short description of the IP.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project."""
    with client(url, token) as t:
        p = t.projects.create(
            name,
            ip_medium=medium,
            ip_type=ip_type,
            project_description=description,
            ip_name=ip_name,
            ip_description=ip_description,
        )
    if as_json:
        print_json(p)
    else:
        out.print(f"Created project {p.id}: {p.project_name}")


@project_app.command("show")
@handle_errors
def show_project(
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a project, its datasets and models."""
    with client(url, token) as t:
        p = t.projects.get(project_id)
        datasets = t.projects.datasets(project_id)
        models = t.projects.models(project_id)
    if as_json:
        print_json({**p.model_dump(mode="json"), "datasets": datasets, "models": models})
        return
    show(p)
    table(
        datasets,
        [("ID", "id"), ("Name", "name"), ("Status", "status"), ("Images", "images_count")],
        title="Datasets",
    )
    table(
        models,
        [("ID", "id"), ("Name", "name"), ("Status", "status"), ("Dataset", "dataset_id")],
        title="Models",
    )


@project_app.command("delete")
@handle_errors
def delete_project(
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a project and everything in it."""
    if not yes:
        typer.confirm(f"Delete project {project_id} with its datasets and models?", abort=True)
    with client(url, token) as t:
        t.projects.delete(project_id)
    out.print(f"Deleted project {project_id}")
