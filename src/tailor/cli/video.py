"""``tailor video``: animate an image a tailored model made into a 5-second MP4."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tailor.cli._sdk import JsonOpt, TokenOpt, UrlOpt, client, err, fail, handle_errors, out, print_json
from tailor.cli.main import app
from tailor.client import GenerationResult, RequestStatus


@app.command("video")
@handle_errors
def video(
    image: Annotated[str, typer.Argument(help="The image to animate: a file, or an http(s) URL.")],
    model: Annotated[int, typer.Option("--model", "-m", help="The tailored model that made the image.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to save the MP4.")] = Path(
        "tailor.mp4"
    ),
    seed: Annotated[int | None, typer.Option(help="Seed (same image, model and seed: same clip).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the clip.")] = 3600,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Animate IMAGE with a tailored model (--model) into a 5-second MP4, with a progress bar."""
    source: str | Path = image
    if not image.startswith(("http://", "https://")):
        path = Path(image)
        if not path.is_file():
            raise fail(f"IMAGE: no such file: {image} (give a file or an http(s) URL)")
        source = path
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with client(url, token) as t, progress:
        task = progress.add_task("Queued", total=None)

        def tick(st: RequestStatus) -> None:
            p = st.progress or {}
            stage = str(p.get("stage") or st.status.lower().replace("_", " "))
            total = p.get("total_steps")
            progress.update(
                task,
                description=stage.capitalize(),
                total=float(total) if total else None,
                completed=float(p.get("step") or 0),
            )

        result = t.generate_video(source, model_id=model, seed=seed, timeout=timeout, on_progress=tick)
        assert isinstance(result, GenerationResult)
        if not result.video_url:
            raise fail(f"request {result.request_id} finished without a video")
        output.parent.mkdir(parents=True, exist_ok=True)
        t.save(result.video_url, output)
    if as_json:
        print_json({**result.model_dump(mode="json"), "output": str(output)})
        return
    out.print(f"Saved {output} (seed {result.seed}, request {result.request_id})")
