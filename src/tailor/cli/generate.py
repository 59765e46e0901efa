"""``tailor generate`` (tailored or base model), ``tailor edit`` and ``tailor status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tailor.cli._sdk import (
    JsonOpt,
    TokenOpt,
    UrlOpt,
    client,
    err,
    fail,
    handle_errors,
    out,
    output_path,
    print_json,
)
from tailor.cli.main import app
from tailor.client import GenerationResult, RequestStatus


def _structured(value: str | None, option: str = "--structured-prompt") -> str | None:
    """A structured prompt given inline as JSON or as a path to a JSON file."""
    if value is None:
        return None
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise fail(f"{option}: not JSON and no such file: {value}")
        text = path.read_text()
    try:
        json.loads(text)
    except ValueError as e:
        raise fail(f"{option} is not valid JSON: {e}") from None
    return text


@app.command("generate")
@handle_errors
def generate(
    prompt: Annotated[str | None, typer.Argument(help="What to generate.")] = None,
    model: Annotated[
        int | None, typer.Option("--model", "-m", help="Tailored model id (default: the base model).")
    ] = None,
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            help="Where to save the image (a folder: tailor-<seed>.png in it).",
            metavar="PATH",
        ),
    ] = "tailor.png",
    structured_prompt: Annotated[
        str | None,
        typer.Option(
            "--structured-prompt", help="Structured prompt (JSON or a .json file) to recreate or refine."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed (same structured prompt + seed: same image).")
    ] = None,
    aspect_ratio: Annotated[
        str | None, typer.Option("--aspect-ratio", help="1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16 or 16:9.")
    ] = None,
    influence: Annotated[
        float | None, typer.Option(help="Tailored model influence, 0 to 1.5 (tailored models).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Diffusion steps (20 to 50).")] = None,
    negative_prompt: Annotated[str | None, typer.Option("--negative-prompt", help="What to avoid.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the image.")] = 900,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate an image and save it (tailored with --model, else the base model)."""
    sp = _structured(structured_prompt)
    if prompt is None and sp is None:
        raise fail("give a prompt, a --structured-prompt, or both")
    if influence is not None and model is None:
        raise fail("--influence applies to tailored models: add --model ID")
    with client(url, token) as t:
        with err.status("Generating…") as status:

            def tick(st: RequestStatus) -> None:
                status.update(f"Generating… ({st.status.lower().replace('_', ' ')}, request {st.request_id})")

            result = t.generate(
                prompt,
                model_id=model,
                structured_prompt=sp,
                seed=seed,
                aspect_ratio=aspect_ratio,
                influence=influence,
                steps_num=steps,
                negative_prompt=negative_prompt,
                timeout=timeout,
                on_progress=tick,
            )
        assert isinstance(result, GenerationResult)
        if not result.image_url:
            raise fail(f"request {result.request_id} finished without an image")
        path = output_path(
            output, f"tailor-{result.seed if result.seed is not None else result.request_id}.png"
        )
        t.save(result.image_url, path)
    if as_json:
        print_json({**result.model_dump(mode="json"), "output": str(path)})
        return
    out.print(f"Saved {path} (seed {result.seed}, request {result.request_id})")


@app.command("edit")
@handle_errors
def edit(
    images: Annotated[
        list[str], typer.Argument(help="The image to edit (path or URL); up to 5 with a FIBO 2 --model.")
    ],
    instruction: Annotated[
        str | None, typer.Option("--instruction", "-i", help="What to change (<image_1>... for several).")
    ] = None,
    model: Annotated[int | None, typer.Option("--model", "-m", help="Tailored FIBO 2 model id.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to save the image.")] = Path(
        "tailor-edit.png"
    ),
    mask: Annotated[
        str | None, typer.Option(help="The region to change, white on black (path or URL; one image).")
    ] = None,
    structured_instruction: Annotated[
        str | None,
        typer.Option(
            "--structured-instruction", help="A result's structured_prompt (JSON or file): recreate it."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed (same instruction, images + seed: same image).")
    ] = None,
    influence: Annotated[float | None, typer.Option(help="Tailored model influence, 0 to 1.5.")] = None,
    steps: Annotated[int | None, typer.Option(help="Diffusion steps (default per model).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the image.")] = 900,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit an image as an instruction says: tailor edit photo.png -i "make it winter" [--model ID]."""
    si = _structured(structured_instruction, "--structured-instruction")
    if (instruction is None) == (si is None):
        raise fail("give --instruction or --structured-instruction (one of them)")
    if influence is not None and model is None:
        raise fail("--influence applies to tailored models: add --model ID")
    sources: list[str | Path] = [i if i.startswith(("http://", "https://")) else Path(i) for i in images]
    with client(url, token) as t:
        with err.status("Editing…") as status:

            def tick(st: RequestStatus) -> None:
                status.update(f"Editing… ({st.status.lower().replace('_', ' ')}, request {st.request_id})")

            result = t.edit(
                list(sources),
                instruction,
                structured_instruction=si,
                model_id=model,
                mask=None
                if mask is None
                else (mask if mask.startswith(("http://", "https://")) else Path(mask)),
                seed=seed,
                influence=influence,
                steps_num=steps,
                timeout=timeout,
                on_progress=tick,
            )
        assert isinstance(result, GenerationResult)
        if not result.image_url:
            raise fail(f"request {result.request_id} finished without an image")
        output.parent.mkdir(parents=True, exist_ok=True)
        t.save(result.image_url, output)
    if as_json:
        print_json({**result.model_dump(mode="json"), "output": str(output)})
        return
    out.print(f"Saved {output} (seed {result.seed}, request {result.request_id})")


@app.command("status")
@handle_errors
def status(
    request_id: Annotated[str, typer.Argument(help="A request id from a v2 call.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it finishes.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a v2 request's status and result."""
    with client(url, token) as t:
        if wait:
            with err.status("Waiting…"):
                t.wait_for_request(request_id, timeout=24 * 3600)
        st = t.status(request_id)
    if as_json:
        print_json(st)
        return
    out.print(f"{st.request_id or request_id}: {st.status}")
    for key, value in (st.result or {}).items():
        out.print(f"  {key}: {value if not isinstance(value, (dict, list)) else json.dumps(value)}")
    if st.status == "ERROR":
        err.print(f"  error: {st.error_message}")
        raise typer.Exit(1)
