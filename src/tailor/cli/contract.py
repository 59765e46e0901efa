"""``tailor model upload``, ``tailor dataset download``, ``tailor generate-lite``,
``tailor text-to-image`` (the legacy v1 path) and ``tailor prompt-diff``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tailor.cli._sdk import JsonOpt, TokenOpt, UrlOpt, client, err, fail, handle_errors, out, print_json, show
from tailor.cli.datasets import dataset_app
from tailor.cli.generate import _structured
from tailor.cli.main import app
from tailor.cli.models import model_app
from tailor.client import GenerationResult


@model_app.command("upload")
@handle_errors
def upload_model(
    model_url: Annotated[str, typer.Argument(help="Public URL of a .safetensors LoRA for the base model.")],
    name: Annotated[str | None, typer.Option("--name", help="Model name (default: the file's).")] = None,
    project: Annotated[int | None, typer.Option("--project", help="Add it to this project.")] = None,
    medium: Annotated[
        str | None, typer.Option("--medium", help="New project's ip_medium: photography or illustration.")
    ] = None,
    ip_type: Annotated[str, typer.Option("--ip-type", help="New project's ip_type.")] = "other",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until it is Completed.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 900,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bring your own LoRA: the server fetches it, checks it against the base model and serves it."""
    if project is None and medium is None:
        raise fail("give --project ID, or --medium (and --ip-type) for a new project")
    fields: dict[str, Any] = {"model_name": name}
    if project is not None:
        fields["project_id"] = project
    else:
        fields["project_parameters"] = {"ip_medium": medium, "ip_type": ip_type}
    with client(url, token) as t:
        model = t.models.upload(model_url, **fields)
        if wait:
            with err.status(f"Fetching and checking model {model.id}…"):
                model = t.models.wait_for_upload(model.id, timeout=timeout)
    if as_json:
        print_json(model.model_dump(mode="json"))
        return
    show(model)


@dataset_app.command("download")
@handle_errors
def download_dataset(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id (an advanced dataset).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Save the images zip here.")] = None,
    captions: Annotated[
        Path | None, typer.Option("--captions", help="Save the captions (JSON lines) here.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait while the server zips.")] = 900,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print the links to a dataset's images and captions (or save them with -o / --captions)."""
    with client(url, token) as t:
        with err.status("Preparing the download…"):
            links = t.datasets.download(dataset_id, timeout=timeout)
        if output is None and captions is None:
            out.print(links.download_url)
            if links.captions_url:
                out.print(links.captions_url)
            return
        if output is not None:
            t.save(links.download_url, output)
            out.print(f"Saved {output}")
        if captions is not None:
            if not links.captions_url:
                raise fail("this dataset has images without a caption: no captions file")
            t.save(links.captions_url, captions)
            out.print(f"Saved {captions}")


@app.command("generate-lite")
@handle_errors
def generate_lite(
    prompt: Annotated[str | None, typer.Argument(help="What to generate.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to save the image.")] = Path(
        "tailor-lite.png"
    ),
    structured_prompt: Annotated[
        str | None, typer.Option("--structured-prompt", help="Structured prompt (JSON or a .json file).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed.")] = None,
    aspect_ratio: Annotated[str | None, typer.Option("--aspect-ratio", help="e.g. 1:1, 16:9.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the image.")] = 900,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Generate an image on the lite path (the base model with fewer steps)."""
    sp = _structured(structured_prompt)
    if prompt is None and sp is None:
        raise fail("give a prompt, a --structured-prompt, or both")
    with client(url, token) as t:
        with err.status("Generating…"):
            result = t.generate_lite(
                prompt, structured_prompt=sp, seed=seed, aspect_ratio=aspect_ratio, timeout=timeout
            )
        assert isinstance(result, GenerationResult)
        if not result.image_url:
            raise fail(f"request {result.request_id} finished without an image")
        t.save(result.image_url, output)
    out.print(f"Saved {output} (seed {result.seed}, request {result.request_id})")


@app.command("text-to-image")
@handle_errors
def text_to_image(
    model_id: Annotated[int, typer.Argument(help="Tailored model id.")],
    prompt: Annotated[str, typer.Argument(help="What to generate.")],
    num_results: Annotated[int, typer.Option("--num-results", "-n", help="Images, 1 to 4.")] = 1,
    seed: Annotated[int | None, typer.Option(help="Seed of the first image.")] = None,
    influence: Annotated[float | None, typer.Option(help="model_influence.")] = None,
    no_prefix: Annotated[
        bool, typer.Option("--no-prefix", help="Do not put the dataset's caption prefix first.")
    ] = False,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File name; images are saved as NAME-1.png, ...")
    ] = Path("tailor.png"),
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The legacy v1 text-to-image path of a tailored model."""
    fields: dict[str, Any] = {"num_results": num_results, "include_generation_prefix": not no_prefix}
    if seed is not None:
        fields["seed"] = seed
    if influence is not None:
        fields["model_influence"] = influence
    with client(url, token) as t:
        with err.status("Generating…"):
            answer = t.text_to_image_tailored(model_id, prompt, **fields)
        if not answer.result:
            raise fail("the server did not finish in time; poll the requests with `tailor status`")
        for i, image in enumerate(answer.result, start=1):
            path = output.with_name(f"{output.stem}-{i}{output.suffix or '.png'}")
            t.save(image.urls[0], path)
            out.print(f"Saved {path} (seed {image.seed})")


@app.command("prompt-diff")
@handle_errors
def prompt_diff(
    original: Annotated[
        str, typer.Argument(help="Structured prompt before the edits (JSON or a .json file).")
    ],
    adjusted: Annotated[str, typer.Argument(help="The edited structured prompt (JSON or a .json file).")],
    seed: Annotated[int | None, typer.Option(help="Seed.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """A structured prompt that keeps your edits and makes the rest agree with them."""
    before, after = _structured(original), _structured(adjusted)
    assert before is not None and after is not None
    with client(url, token) as t:
        with err.status("Reconciling…"):
            result = t.structured_prompt_from_diff(before, after, seed=seed)
    assert isinstance(result, GenerationResult)
    print(result.structured_prompt)
