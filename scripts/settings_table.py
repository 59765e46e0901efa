"""Rewrite the configuration table in README.md from ``tailor.config.Settings``."""

from __future__ import annotations

import re
from pathlib import Path

from tailor.config import settings_table

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"

if __name__ == "__main__":
    text = README.read_text()
    block = f"{BEGIN}\n{settings_table()}{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.replace("<!-- SETTINGS-TABLE -->", block)
    README.write_text(text)
    print("README.md configuration table updated")
