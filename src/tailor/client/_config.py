"""Where the server is and which token to send: arguments, then the environment, then the token file."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def token_file_path() -> Path:
    """The token file ``tailor serve`` writes: ``$TAILOR_HOME/token`` (default ``./.tailor/token``)."""
    home = os.environ.get("TAILOR_HOME") or "./.tailor"
    return Path(home).expanduser() / "token"


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``TAILOR_URL``, else http://127.0.0.1:8000."""
    return (url or os.environ.get("TAILOR_URL") or DEFAULT_URL).rstrip("/")


def resolve_token(token: str | None = None) -> str | None:
    """``token``, else ``TAILOR_TOKEN``, else the token file, else None."""
    if token:
        return token
    env = os.environ.get("TAILOR_TOKEN")
    if env:
        return env
    path = token_file_path()
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None
