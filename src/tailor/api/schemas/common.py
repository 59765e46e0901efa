"""Types shared by every request schema: bounded ids and the base of update bodies.

- ``Id``: every id in a path or a body (projects, datasets, images, models, checkpoint steps). Ids
  are ``INTEGER`` columns, so anything outside 1..2^31-1 names nothing and never reaches the
  database. Out of range in a body: 400 naming the field; in a path: 404 (see ``api/errors.py``).
- ``IdText``: an id sent as a string (``tailored_model_id`` in v2 bodies) or as a number, parsed
  into a bounded ``int`` once, here.
- ``UpdateBody``: fields may be left out; a field sent as ``null`` is refused ("must not be null")
  unless the schema lists it in ``NULLABLE`` (a value that null clears).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
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


def _drop_null(schema: dict[str, Any], cls: type) -> None:
    """The documented schema of an update body: ``null`` only where ``NULLABLE`` allows it."""
    nullable: frozenset[str] = getattr(cls, "NULLABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable:
            continue
        if prop.get("default", 0) is None:
            del prop["default"]
        options = prop.get("anyOf")
        if not options:
            continue
        kept = [o for o in options if o.get("type") != "null"]
        del prop["anyOf"]
        if len(kept) == 1:
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept


class UpdateBody(BaseModel):
    """Base of PUT bodies. A field left out is left unchanged; a field sent as ``null`` is refused
    ("must not be null", 400) unless it is in ``NULLABLE``, the values that null clears. Fields
    are typed ``X | None`` because None is what an omitted field reads as."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_drop_null)

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise PydanticCustomError("not_null", "must not be null")
        return value
