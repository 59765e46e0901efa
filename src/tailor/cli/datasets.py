"""``tailor dataset list|create|show|delete|upload|schema|complete|clone|report|images|delete-images``."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tailor.cli._sdk import (
    JsonOpt,
    TokenOpt,
    UrlOpt,
    client,
    err,
    fail,
    handle_errors,
    out,
    print_json,
    show,
    table,
)
from tailor.cli.main import HELP_MARKUP, app
from tailor.client import BulkUploadStatus, Tailor, UploadResult
from tailor.client._files import image_files, zip_images

dataset_app = typer.Typer(
    help="Datasets: images, captions and the visual schema.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(dataset_app, name="dataset")

COLUMNS = [
    ("ID", "id"),
    ("Project", "project_id"),
    ("Name", "name"),
    ("Status", "status"),
    ("Captions", "captions_update_status"),
    ("Upload", "upload_type"),
    ("Images", "images_count"),
]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=err,
    )


@dataset_app.command("list")
@handle_errors
def list_datasets(
    project: Annotated[int | None, typer.Option("--project", help="Only this project's datasets.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List datasets."""
    with client(url, token) as t:
        rows = t.projects.datasets(project) if project is not None else t.datasets.list()
    print_json(rows) if as_json else table(rows, COLUMNS)


@dataset_app.command("create")
@handle_errors
def create_dataset(
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    upload_type: Annotated[
        str, typer.Option(help="basic (≤200 images, one by one) or advanced (≤5000, zip upload).")
    ] = "basic",
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a draft dataset in a project."""
    with client(url, token) as t:
        d = t.datasets.create(project_id, name, upload_type=upload_type)
    print_json(d) if as_json else out.print(f"Created dataset {d.id}: {d.name} ({d.upload_type})")


@dataset_app.command("show")
@handle_errors
def show_dataset(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a dataset and its images."""
    with client(url, token) as t:
        d = t.datasets.get(dataset_id)
        images = t.images.list(dataset_id)
    if as_json:
        print_json({**d.model_dump(mode="json", exclude={"images"}), "images": images})
        return
    show(d, skip=("images",))
    table(
        images,
        [("ID", "id"), ("Name", "image_name"), ("Caption", "caption_source"), ("Error", "caption_error")],
        title="Images",
    )


@dataset_app.command("delete")
@handle_errors
def delete_dataset(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a dataset and its images."""
    if not yes:
        typer.confirm(f"Delete dataset {dataset_id} and its images?", abort=True)
    with client(url, token) as t:
        t.datasets.delete(dataset_id)
    out.print(f"Deleted dataset {dataset_id}")


def _bulk(t: Tailor, dataset_id: int, source: Path | bytes, label: str) -> BulkUploadStatus:
    with _progress() as progress:
        task = progress.add_task(f"Uploading {label}", total=None, note="")
        t.images.bulk_upload(dataset_id, source)
        progress.update(task, description="Processing", total=100, completed=0)

        def tick(st: BulkUploadStatus) -> None:
            note = f"{st.done or 0} done, {st.failed or 0} failed"
            progress.update(task, completed=float(st.progress_percentage or 0), note=note)

        return t.images.wait_for_bulk_upload(dataset_id, on_progress=tick)


def _one_by_one(
    t: Tailor, dataset_id: int, files: list[Path], increase_resolution: bool
) -> list[UploadResult]:
    with _progress() as progress:
        task = progress.add_task("Uploading", total=len(files), note="")

        def tick(done: int, total: int, res: UploadResult) -> None:
            name = Path(str(res.source)).name
            progress.update(task, completed=done, note=("failed: " if res.error else "") + name)

        return t.images.upload_many(
            dataset_id, list(files), increase_resolution=increase_resolution, on_progress=tick
        )


@dataset_app.command("upload")
@handle_errors
def upload(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    paths: Annotated[list[Path], typer.Argument(help="Image files, folders of images, or a zip.")],
    increase_resolution: Annotated[
        bool,
        typer.Option(help="Upscale images from 256px up so the short side reaches 1024 (basic uploads)."),
    ] = True,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Upload images: one by one to a basic dataset; as a zip (bulk upload) to an advanced one."""
    zips = [p for p in paths if p.suffix.lower() == ".zip"]
    if zips and len(paths) > 1:
        raise fail("give either one zip or image files/folders, not both")
    with client(url, token) as t, tempfile.TemporaryDirectory(prefix="tailor-zip-") as unpacked:
        dataset = t.datasets.get(dataset_id)
        if zips and dataset.upload_type != "advanced":
            # a basic dataset takes images one by one: unpack the zip here and upload its images
            paths = [_unzip_images(zips[0], Path(unpacked))]
            zips = []
        if zips or dataset.upload_type == "advanced":
            if zips:
                source: Path | bytes = zips[0]
                label = zips[0].name
            else:
                files = image_files(list(paths))
                if not files:
                    raise fail("no jpg, png or webp images found")
                source, label = zip_images(files), f"{len(files)} images (zipped)"
            st = _bulk(t, dataset_id, source, label)
            for f in st.failed_images:
                err.print(f"  failed: {f.filename}: {f.error_message}")
            out.print(f"Bulk upload {st.status}: {st.done or 0} added, {st.failed or 0} failed")
            if st.status == "failed" or (st.failed or 0) > 0:
                raise typer.Exit(1)
            return
        files = image_files(list(paths))
        if not files:
            raise fail("no jpg, png or webp images found")
        results = _one_by_one(t, dataset_id, files, increase_resolution)
    failed = [r for r in results if r.error is not None]
    for r in failed:
        err.print(f"  failed: {Path(str(r.source)).name}: {getattr(r.error, 'message', r.error)}")
    out.print(f"Uploaded {len(results) - len(failed)} of {len(results)} images to dataset {dataset_id}")
    if failed:
        raise typer.Exit(1)


def _unzip_images(archive: Path, dest: Path) -> Path:
    """The image members of ``archive`` written flat under ``dest`` (names made unique)."""
    if not archive.is_file():
        raise fail(f"no such file or folder: {archive}")
    try:
        with zipfile.ZipFile(archive) as zf:
            for i, info in enumerate(m for m in zf.infolist() if not m.is_dir()):
                name = Path(info.filename).name
                if name.startswith(".") or Path(name).suffix.lower() not in (
                    ".jpg",
                    ".jpeg",
                    ".png",
                    ".webp",
                ):
                    continue
                target = dest / (name if not (dest / name).exists() else f"{i}_{name}")
                target.write_bytes(zf.read(info))
    except zipfile.BadZipFile:
        raise fail(f"{archive} is not a zip archive") from None
    return dest


@dataset_app.command("schema")
@handle_errors
def schema(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    sources: Annotated[
        list[Path] | None,
        typer.Option("--from", help="Sample images (5–10 files or folders) to generate the schema from."),
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Set this JSON file as the schema.")] = None,
    instruction: Annotated[
        str | None, typer.Option("--refine", help="Then refine the schema with this instruction.")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Generate a visual schema from sample images (or read one from a file) and set it on the dataset."""
    with client(url, token) as t:
        if file is not None:
            text = file.read_text()
            json.loads(text)
        elif sources:
            images = image_files(list(sources))[:10]
            if len(images) < 5:
                raise fail(f"--from needs 5 to 10 images, found {len(images)}")
            with err.status(f"Generating a visual schema from {len(images)} images…"):
                text = t.datasets.generate_visual_schema(images)
        else:
            current = t.datasets.get(dataset_id).visual_schema
            if not current:
                raise fail("the dataset has no visual schema yet: pass --from IMAGES or --file SCHEMA.json")
            text = current
        if instruction:
            with err.status("Refining…"):
                text = t.datasets.refine_structured_prompt(dataset_id, text, instruction)
        t.datasets.set_visual_schema(dataset_id, text)
    out.print_json(text)
    err.print(f"Visual schema set on dataset {dataset_id}")


@dataset_app.command("complete")
@handle_errors
def complete(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    wait_captions: Annotated[bool, typer.Option(help="Wait for pending captions before completing.")] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Complete even with blocking problems in the readiness report.")
    ] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Mark a dataset completed (frozen, ready for training; needs at least 5 images).

    First waits for captions still being written, since training needs every image captioned.
    """
    with client(url, token) as t:
        if wait_captions:
            with err.status("Waiting for captions…"):
                t.datasets.wait_for_captions(dataset_id, timeout=3600)
        d = t.datasets.complete(dataset_id, force=force)
    out.print(f"Dataset {d.id} is {d.status}")


@dataset_app.command("clone")
@handle_errors
def clone(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id (a completed dataset, typically).")],
    name: Annotated[str | None, typer.Option(help="Name of the copy (default: 'Copy of <name>').")] = None,
    description: Annotated[str | None, typer.Option(help="Description of the copy.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy a dataset into a new draft (same schema, images and captions) to edit it further."""
    with client(url, token) as t:
        d = t.datasets.clone(dataset_id, name=name, description=description)
    if as_json:
        print_json(d)
    else:
        out.print(
            f"Cloned dataset {dataset_id} into draft dataset {d.id}: {d.name} ({d.images_count} images)"
        )


@dataset_app.command("report")
@handle_errors
def report(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The readiness report: verdict, problems (blocking or warning) and the flagged images."""
    with client(url, token) as t:
        data = t.datasets.report(dataset_id)
    if as_json:
        print_json(data)
        return
    verdict = data["verdict"]
    colour = {"ready": "green", "ready_with_warnings": "yellow"}.get(verdict, "red")
    out.print(f"Dataset {dataset_id}: [{colour}]{verdict}[/] ({data['images_count']} images)")
    for p in data["problems"]:
        mark = "[red]blocking[/]" if p["severity"] == "blocking" else "[yellow]warning[/]"
        out.print(f"  {mark} {p['code']}: {p['message']}", highlight=False, markup=True)
    buckets = ", ".join(f"{k}: {v}" for k, v in data["buckets"].items()) or "none"
    captions = data["captions"]
    out.print(f"Buckets: {buckets}")
    out.print(
        f"Captions: {captions['coverage']:.0%} coverage, {captions['automatic']} automatic, "
        f"{captions['manual']} manual, {captions['pending']} pending"
    )
    flagged = [i for i in data["images"] if i["flags"]]
    if flagged:
        out.print("Flagged images:")
        for i in flagged:
            out.print(f"  {i['id']} {i['image_name']}: {', '.join(i['flags'])}", highlight=False)


@dataset_app.command("images")
@handle_errors
def list_images(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    caption_state: Annotated[
        str | None, typer.Option(help="missing, automatic, manual, pending or failed.")
    ] = None,
    flag: Annotated[
        str | None, typer.Option(help="A readiness flag, e.g. exact_duplicate or blurry.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Text in the file name or the caption.")] = None,
    limit: Annotated[int, typer.Option(help="Images per page (1-500).")] = 50,
    offset: Annotated[int, typer.Option(help="Images to skip.")] = 0,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A page of a dataset's images, filtered by caption state, readiness flag or text."""
    with client(url, token) as t:
        images = t.images.list(
            dataset_id, limit=limit, offset=offset, caption_state=caption_state, flag=flag, search=search
        )
    if as_json:
        print_json(images)
        return
    table(
        images,
        [
            ("ID", "id"),
            ("Name", "image_name"),
            ("Caption", "caption_state"),
            ("Width", "width"),
            ("Height", "height"),
            ("Source", "upload_source"),
            ("Upscaled", "upscaled"),
        ],
        title=f"Images {offset + 1}-{offset + len(images)}" if images else "No image matches",
    )


@dataset_app.command("delete-images")
@handle_errors
def delete_images(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id.")],
    image_ids: Annotated[list[int], typer.Argument(help="Ids of the images to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete several images of a dataset in one request: all of them or none."""
    if not yes:
        typer.confirm(f"Delete {len(image_ids)} image(s) of dataset {dataset_id}?", abort=True)
    with client(url, token) as t:
        deleted = t.images.delete_many(dataset_id, image_ids)
    out.print(f"Deleted {deleted} image(s) of dataset {dataset_id}")
