"""Shared parts of the user commands: the SDK client from options/env/token file, errors, output."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from tailor.client import Tailor, TailorAPIError, TailorError, resolve_token, resolve_url, token_file_path

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# httpx logs every request at INFO, and the CLI's root logger is at INFO.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="TAILOR_URL",
        help="Tailor server URL (default http://127.0.0.1:8000).",
        show_envvar=True,
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="TAILOR_TOKEN", help="API token (default: $TAILOR_HOME/token).", show_envvar=True
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error (no traceback) and return the Exit to raise."""
    err.print(f"[bold red]Error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn SDK errors into a one-line message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TailorAPIError as e:
            detail = f" ({e.details})" if e.details and e.details != e.message else ""
            raise fail(f"{e.message}{detail} [HTTP {e.status}]") from None
        except TailorError as e:
            raise fail(str(e)) from None

    return wrapper  # type: ignore[return-value]


def client(url: str | None, token: str | None) -> Tailor:
    """An SDK client for the given (or configured) server and token."""
    tok = resolve_token(token)
    if not tok:
        raise fail(
            "no API token: pass --token, set TAILOR_TOKEN, or start `tailor serve` "
            f"(it writes {token_file_path()})"
        )
    return Tailor(resolve_url(url), tok, timeout=120)


def dump(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", exclude_none=True)
    if isinstance(obj, list):
        return [dump(o) for o in obj]
    if isinstance(obj, dict):
        return {k: dump(v) for k, v in obj.items()}
    return obj


def print_json(obj: Any) -> None:
    out.print_json(json.dumps(dump(obj), default=str))


def table(rows: Iterable[BaseModel], columns: Sequence[tuple[str, str]], title: str | None = None) -> None:
    """Print objects as a table; ``columns`` are (header, attribute)."""
    t = Table(title=title, show_lines=False)
    for header, _ in columns:
        t.add_column(header)
    n = 0
    for row in rows:
        n += 1
        t.add_row(*[_cell(getattr(row, attr, None)) for _, attr in columns])
    if n == 0:
        out.print("(none)")
    else:
        out.print(t)


def show(obj: BaseModel, skip: Iterable[str] = ()) -> None:
    """Print one object's fields as ``key: value`` lines."""
    data = dump(obj)
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for k, v in data.items():
        if k in skip:
            continue
        t.add_row(k, _cell(v))
    out.print(t)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"  # a loss of 0.12345678901 reads as 0.1235
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    if isinstance(v, BaseModel):
        return json.dumps(dump(v), default=str)
    return str(v)


def output_path(raw: str, default_name: str) -> Path:
    """Where ``-o`` asks to save: a folder (existing, or written with a trailing slash) gets
    ``default_name`` inside it; anything else is the file itself. Parent folders are created."""
    path = Path(raw).expanduser()
    if raw.endswith(("/", os.sep)) or path.is_dir():
        path = path / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def safe_name(text: str) -> str:
    """``text`` as a file name part: letters, digits, dot, dash and underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"


def parse_pairs(pairs: Sequence[str], option: str) -> dict[str, Any]:
    """``key=value`` pairs into a dict; values become int/float/bool where they parse as such."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise fail(f"{option} expects key=value, got {pair!r}")
        result[key.strip()] = _value(raw.strip())
    return result


def _value(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw
