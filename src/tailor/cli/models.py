"""``tailor model list|create|show|delete|train|stop|complete|checkpoints|download``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tailor.cli._sdk import (
    JsonOpt,
    TokenOpt,
    UrlOpt,
    client,
    err,
    handle_errors,
    out,
    output_path,
    parse_pairs,
    print_json,
    safe_name,
    show,
    table,
)
from tailor.cli.main import HELP_MARKUP, app
from tailor.client import Model, Tailor, TrainingEstimate

model_app = typer.Typer(
    help="Tailored models: training, checkpoints, weights.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(model_app, name="model")

COLUMNS = [
    ("ID", "id"),
    ("Name", "name"),
    ("Status", "status"),
    ("Mode", "training_mode"),
    ("Project", "project_id"),
    ("Dataset", "dataset_id"),
]


@model_app.command("list")
@handle_errors
def list_models(
    project: Annotated[int | None, typer.Option("--project", help="Only this project's models.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List models."""
    with client(url, token) as t:
        rows = t.projects.models(project) if project is not None else t.models.list()
    print_json(rows) if as_json else table(rows, COLUMNS)


@model_app.command("create")
@handle_errors
def create_model(
    dataset_id: Annotated[int, typer.Argument(help="Dataset to train on.")],
    name: Annotated[str, typer.Argument(help="Model name.")],
    mode: Annotated[str, typer.Option("--mode", help="fully_automated or expert.")] = "fully_automated",
    description: Annotated[str | None, typer.Option(help="Model description.")] = None,
    family: Annotated[
        str | None, typer.Option("--family", help="Base model: fibo (default) or fibo-2 (also edits).")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a model on a dataset."""
    with client(url, token) as t:
        m = t.models.create(
            name, dataset_id, training_mode=mode, description=description, training_version=family
        )
    print_json(m) if as_json else out.print(f"Created model {m.id}: {m.name} ({m.training_mode})")


@model_app.command("show")
@handle_errors
def show_model(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a model, its training progress and checkpoints."""
    with client(url, token) as t:
        m = t.models.get(model_id)
    print_json(m) if as_json else show(m)


@model_app.command("delete")
@handle_errors
def delete_model(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a model and its weights."""
    if not yes:
        typer.confirm(f"Delete model {model_id}?", abort=True)
    with client(url, token) as t:
        t.models.delete(model_id)
    out.print(f"Deleted model {model_id}")


def _follow(t: Tailor, model_id: int, interval: float) -> Model:
    """A live bar (step, loss, ETA) until training ends."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
        console=err,
    )
    with progress:
        task = progress.add_task("Training", total=None, loss="—", eta="—")

        def tick(m: Model) -> None:
            tp = m.training_progress
            if tp is None:
                progress.update(task, description=str(m.status))
                return
            eta = f"{int(tp.eta_seconds) // 60}m{int(tp.eta_seconds) % 60:02d}s" if tp.eta_seconds else "—"
            progress.update(
                task,
                description=str(m.status),
                total=tp.total_steps or None,
                completed=tp.step or 0,
                loss=f"{tp.loss:.4f}" if tp.loss is not None else "—",
                eta=eta,
            )

        return t.models.wait_for_training(model_id, interval=interval, on_progress=tick)


def _duration(seconds: float) -> str:
    """``under 1 s``, ``42 s``, ``12 min``, ``2 h 05 min``."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def estimate_line(est: TrainingEstimate) -> str:
    """One line: the expected duration, steps, checkpoints and disk, then the basis of the figures."""
    if est.estimated_seconds is None:
        took = "unknown"
    else:
        took = _duration(est.estimated_seconds)
        took = took if took.startswith("under") else f"about {took}"
    marks = len(est.checkpoint_steps)
    disk = f", {_size(est.disk_bytes)} of checkpoint files" if est.disk_bytes is not None else ""
    return (
        f"Estimate: {took} for {est.total_steps} steps, {marks} checkpoint{'s' if marks != 1 else ''}{disk}"
        f" (basis: {est.basis.description})" + "".join(f"; {o}" for o in est.overrides)
    )


@model_app.command("train")
@handle_errors
def train(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    expert: Annotated[
        list[str] | None,
        typer.Option(
            "--expert",
            help="Expert parameter key=value (learning_rate, lr_scheduler, rank, total_training_steps, "
            "checkpoint_interval, lr_warmup_steps). Repeat for several.",
        ),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow training with a live progress bar.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between progress polls.")] = 2.0,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Start training a model (or, with --wait on a model already training, follow it)."""
    params = parse_pairs(expert or [], "--expert")
    started = False
    try:
        with client(url, token) as t:
            current = t.models.get(model_id)
            if current.status != "Created" and wait and not params:
                started = True
                out.print(f"Model {model_id} is {current.status}; following it.")
            else:
                if current.status == "Created":  # what the run will take, before it starts
                    out.print(
                        estimate_line(t.models.training_estimate(model_id, **params)),
                        highlight=False,
                        soft_wrap=True,
                    )
                m = t.models.start_training(model_id, **params)
                started = True
                out.print(f"Training of model {m.id} started ({m.status})")
            if not wait:
                return
            final = _follow(t, model_id, interval)
    except KeyboardInterrupt:
        if not started:
            raise
        err.print(
            f"\nDetached: training of model {model_id} goes on on the server. "
            f"Follow it with `tailor model show {model_id}` or `tailor model train {model_id} --wait`."
        )
        raise typer.Exit(0) from None
    tp = final.training_progress
    took = f" after {_duration(tp.elapsed_seconds)}" if tp is not None and tp.elapsed_seconds else ""
    out.print(f"Model {model_id}: {final.status}{took}")
    if final.status != "Completed":
        raise typer.Exit(1)


@model_app.command("stop")
@handle_errors
def stop(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Stop training (it cannot be resumed)."""
    with client(url, token) as t:
        m = t.models.stop_training(model_id)
    out.print(f"Model {model_id}: {m.status}")


@model_app.command("complete")
@handle_errors
def complete(
    model_id: Annotated[int, typer.Argument(help="Model id (a Stopped model).")],
    checkpoint: Annotated[
        int | None,
        typer.Option("--checkpoint", help="The checkpoint step to serve (default: latest).", metavar="STEP"),
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Complete a Stopped model from one of its checkpoints: it then generates and downloads."""
    with client(url, token) as t:
        m = t.models.complete_from_checkpoint(model_id, checkpoint)
    if as_json:
        print_json(m)
        return
    out.print(f"Model {model_id}: {m.status}, serving checkpoint {m.active_model_version}")


@model_app.command("checkpoints")
@handle_errors
def checkpoints(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    use: Annotated[int | None, typer.Option("--use", help="Serve this checkpoint step.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a model's checkpoints (and choose the one to serve with --use STEP)."""
    with client(url, token) as t:
        if use is not None:
            t.models.set_active_version(model_id, use)
        data = t.models.checkpoints(model_id)
    if as_json:
        print_json(data)
        return
    table(data.checkpoints, [("Step", "checkpoint_step"), ("Loss", "loss"), ("Created", "created_at")])
    out.print(f"Active version: {data.active_model_version or 'final weights'}")


@model_app.command("download")
@handle_errors
def download(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="Save the weights here (a folder: <model name>-<version>.zip in it).",
            metavar="PATH",
        ),
    ] = None,
    checkpoint: Annotated[
        int | None,
        typer.Option(
            "--checkpoint",
            help="This checkpoint step instead of the served version (a Stopped model: its latest).",
            metavar="STEP",
        ),
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print the weights' download link (or save them with -o)."""
    with client(url, token) as t:
        d = t.models.download(model_id, checkpoint_step=checkpoint)
        if output is None:
            out.print(d.download_url)
            step = f"checkpoint {d.checkpoint_step}" if d.checkpoint_step is not None else "final weights"
            err.print(f"Base model: {d.base_model_name} ({d.base_model_card}); {step}")
            return
        model = t.models.get(model_id)
        active = d.checkpoint_step if d.checkpoint_step is not None else model.active_model_version
        version = f"step{active}" if str(active or "").isdigit() else str(active or "final")
        path = output_path(output, f"{safe_name(model.name or f'model-{model_id}')}-{version}.zip")
        with err.status("Downloading…"):
            t.save(d.download_url, path)
    out.print(f"Saved {path} ({path.stat().st_size} bytes); base model {d.base_model_name}")


@model_app.command("eval")
@handle_errors
def evaluation(
    model_id: Annotated[int, typer.Argument(help="Model id.")],
    use_best: Annotated[bool, typer.Option("--use-best", help="Serve the suggested checkpoint.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Scores of every checkpoint (DINO, CLIP-I, CLIP-T, memorisation) against the base model."""
    with client(url, token) as t:
        if use_best:
            t.models.set_active_version(model_id, "best")
        data = t.models.evaluation(model_id)
    if as_json:
        print_json(data)
        return
    keys = ("dino", "clip_i", "clip_t", "memorisation")
    out.print(f"Model {model_id}, scored with {data['scorer'] or 'nothing (TAILOR_EVAL_MODELS is off)'}")
    rows = []
    if data["base"]:
        rows.append(["base", "", *(f"{data['base']['scores'][k]:.4f}" for k in keys)])
    for c in data["checkpoints"]:
        s = c["scores"]
        cells = [f"{s[k]:.4f}" for k in keys] if s else [c["error"] or "not scored", "", "", ""]
        loss = "" if c["loss"] is None else f"{c['loss']:.4f}"
        rows.append([str(c["checkpoint_step"]), loss, *cells])
    tab = Table("Step", "Loss", "DINO", "CLIP-I", "CLIP-T", "Memorisation")
    for r in rows:
        tab.add_row(*r)
    out.print(tab)
    out.print(f"Suggested: {data['best_checkpoint_step'] or 'none'} ({data['best_rule']})", highlight=False)
    out.print(f"Active version: {data['active_model_version'] or 'final weights'}")
