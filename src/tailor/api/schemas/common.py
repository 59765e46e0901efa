"""Types shared by request schemas: bounded ids.

- ``Id``: every id in a path or a body (projects, datasets, images, models, checkpoint steps). Ids
  are ``INTEGER`` columns, so anything outside 1..2^31-1 names nothing and never reaches the
  database. Out of range in a body: 400 naming the field; in a path: 404 (see ``api/errors.py``).
- ``IdText``: an id sent as a string (``tailored_model_id`` in v2 bodies) or as a number, parsed
  into a bounded ``int`` once, here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

ID_MIN = 1
ID_MAX = 2**31 - 1  # the largest INTEGER on PostgreSQL; SQLite's are wider

Id = Annotated[int, Field(ge=ID_MIN, le=ID_MAX)]


def _id_from_text(value: Any) -> Any:
    """Digits (surrounding blanks allowed) become an ``int``; the range is then checked by ``Id``."""
    if isinstance(value, bool):
        raise PydanticCustomError("id_type", "must be an id: digits, as a string or a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        raise PydanticCustomError("id_type", "must be an id: digits, as a string or a number")
    text = value.strip()
    if not text or not (text.isascii() and text.isdigit()):
        raise PydanticCustomError("id_type", "must be an id: digits, as a string or a number")
    if len(text.lstrip("0")) > len(str(ID_MAX)):
        # Never converts thousands of digits; any such number is out of range anyway.
        raise PydanticCustomError(
            "less_than_equal", "Input should be less than or equal to {le}", {"le": ID_MAX}
        )
    return int(text)


IdText = Annotated[
    Id,
    BeforeValidator(_id_from_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*[0-9]+\s*$"},
                {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX},
            ]
        }
    ),
]
