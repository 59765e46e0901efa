"""Apply a natural-language instruction to a structured prompt by rules, for the offline provider.

Only the fields the instruction names change; everything else is copied as is. Supported forms
(clauses may be joined by ';', '.' or 'and' before a verb):

- "the character's name is Lucy" / "call her Lucy" -> the first object's description
- "add the text 'SALE'" / "remove the text"         -> text_render
- "change|set|make|turn <field> to <value>", "<field> should be <value>" -> that field
- "remove <word> from <field>", "add <words> to <field>" -> edit that field's words
- "remove|delete the <thing>" -> drop objects whose description mentions it
- "add a <thing>" -> a new object
- any other clause naming a field ("add dramatic lighting") -> that field becomes the clause
- anything else -> appended to short_description (context for a schema without one)
"""

from __future__ import annotations

import copy
import re
from typing import Any

# field words (longest first) -> path in the structured prompt
FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("light direction", ("lighting", "direction")),
    ("lighting direction", ("lighting", "direction")),
    ("color scheme", ("aesthetics", "color_scheme")),
    ("colour scheme", ("aesthetics", "color_scheme")),
    ("color palette", ("aesthetics", "color_scheme")),
    ("artistic style", ("artistic_style",)),
    ("camera angle", ("photographic_characteristics", "camera_angle")),
    ("focal length", ("photographic_characteristics", "lens_focal_length")),
    ("depth of field", ("photographic_characteristics", "depth_of_field")),
    ("short description", ("short_description",)),
    ("background", ("background_setting",)),
    ("backdrop", ("background_setting",)),
    ("setting", ("background_setting",)),
    ("shadows", ("lighting", "shadows")),
    ("shadow", ("lighting", "shadows")),
    ("lighting", ("lighting", "conditions")),
    ("light", ("lighting", "conditions")),
    ("composition", ("aesthetics", "composition")),
    ("framing", ("aesthetics", "composition")),
    ("colors", ("aesthetics", "color_scheme")),
    ("colours", ("aesthetics", "color_scheme")),
    ("palette", ("aesthetics", "color_scheme")),
    ("mood", ("aesthetics", "mood_atmosphere")),
    ("atmosphere", ("aesthetics", "mood_atmosphere")),
    ("medium", ("style_medium",)),
    ("style", ("style_medium",)),
    ("lens", ("photographic_characteristics", "lens_focal_length")),
    ("focus", ("photographic_characteristics", "focus")),
    ("angle", ("photographic_characteristics", "camera_angle")),
    ("description", ("short_description",)),
    ("summary", ("short_description",)),
    ("context", ("context",)),
)
_FIELD_RE = "|".join(re.escape(w) for w, _ in FIELDS)
_PATHS = dict(FIELDS)
_VERBS = r"(?:change|set|make|turn|switch|update|replace|remove|delete|add|use|give|put|name|call|rename)"

_NAME = re.compile(
    r"(?:(?:character|subject|person|mascot|product|hero|protagonist)(?:'s|s')?\s+name\s+is"
    r"|(?:is\s+)?named|call\s+(?:him|her|it|them)|rename\s+(?:him|her|it|them)\s+to)"
    r"\s+['\"]?([\w][\w .'-]{0,40}?)['\"]?$",
    re.I,
)
_ADD_TEXT = re.compile(
    r"^(?:add|put|write|include)\s+(?:the\s+|a\s+)?(?:text|caption|words?|title)\s+['\"“](.+?)['\"”](?:\s+(?:at|on|in)\s+(?:the\s+)?(.+))?$",
    re.I,
)
_DEL_TEXT = re.compile(r"^(?:remove|delete|drop)\s+(?:the\s+|all\s+)?(?:text|captions?|words|title)$", re.I)
_SET = re.compile(rf"^(?:{_VERBS}\s+)?(?:the\s+)?({_FIELD_RE})\s+(?:to|into|to be|as|:|=)\s+(.+)$", re.I)
_IS = re.compile(rf"^(?:the\s+)?({_FIELD_RE})\s+(?:should be|must be|is|becomes|:)\s+(.+)$", re.I)
_REMOVE_FROM = re.compile(rf"^(?:remove|delete|drop)\s+(.+?)\s+from\s+(?:the\s+)?({_FIELD_RE})$", re.I)
_ADD_TO = re.compile(rf"^(?:add|include)\s+(.+?)\s+to\s+(?:the\s+)?({_FIELD_RE})$", re.I)
_DEL_OBJ = re.compile(r"^(?:remove|delete|drop|take out)\s+(?:the\s+|all\s+)?(.+)$", re.I)
_ADD_OBJ = re.compile(r"^(?:add|include|put)\s+((?:an?|one|two|three|some|several)\s+.+)$", re.I)
_SPLIT = re.compile(rf"\s*;\s*|\.\s+|,?\s+and\s+(?={_VERBS}\b)|\n+", re.I)


def _unquote(v: str) -> str:
    return v.strip().strip("'\"“”").strip().rstrip(".")


def _get(sp: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = sp
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _set(sp: dict[str, Any], path: tuple[str, ...], value: Any, partial: bool) -> None:
    cur = sp
    for p in path[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {} if partial else _defaults(p)
        cur = cur[p]
    cur[path[-1]] = value


def _defaults(section: str) -> dict[str, Any]:
    """Required sub-fields for a section a full structured prompt did not have yet."""
    if section == "photographic_characteristics":
        return {
            "depth_of_field": "medium",
            "focus": "sharp focus on the subject",
            "camera_angle": "eye-level",
            "lens_focal_length": "standard",
        }
    return {}


def _remove_words(text: str, words: str) -> str:
    out = re.sub(rf"(?:,\s*|\s+and\s+)?\b{re.escape(words)}\b", "", text, flags=re.I).strip(" ,")
    out = re.sub(r"\s{2,}", " ", re.sub(r"\bof\s+and\b", "of", out))
    return re.sub(r"^(?:and|,)\s+|\s+(?:and|of|,)$", "", out).strip()


def _field_path(word: str) -> tuple[str, ...]:
    return _PATHS[word.lower()]


def _apply(sp: dict[str, Any], clause: str, partial: bool) -> bool:
    """Apply one clause; True when a rule matched."""
    c = clause.strip().rstrip(".!")
    if not c:
        return True
    if m := _NAME.search(c):
        name = _unquote(m.group(1))
        objects = sp.get("objects") or []
        if objects:
            desc = objects[0].get("description", "")
            if name.lower() not in desc.lower():
                objects[0]["description"] = f"{name}, {desc[0].lower() + desc[1:]}" if desc else name
        else:
            obj: dict[str, Any] = {"description": name}
            if not partial:
                obj.update(location="center", relationship="the main subject of the scene")
            sp["objects"] = [obj]
        return True
    if m := _ADD_TEXT.match(c):
        entry = {
            "text": m.group(1),
            "location": _unquote(m.group(2) or "top center"),
            "size": "medium",
            "color": "white",
            "font": "bold sans-serif",
        }
        sp["text_render"] = [*(sp.get("text_render") or []), entry]
        return True
    if _DEL_TEXT.match(c):
        sp.pop("text_render", None)
        return True
    if m := _REMOVE_FROM.match(c):
        path = _field_path(m.group(2))
        cur = _get(sp, path)
        if isinstance(cur, str):
            _set(sp, path, _remove_words(cur, _unquote(m.group(1))) or cur, partial)
            return True
    if m := _ADD_TO.match(c):
        path = _field_path(m.group(2))
        cur = _get(sp, path)
        add = _unquote(m.group(1))
        _set(sp, path, f"{cur}, {add}" if isinstance(cur, str) and cur else add, partial)
        return True
    if m := (_SET.match(c) or _IS.match(c)):
        _set(sp, _field_path(m.group(1)), _unquote(m.group(2)), partial)
        return True
    low = c.lower()
    objects = sp.get("objects") or []
    if (m := _DEL_OBJ.match(c)) and objects:
        what = _unquote(m.group(1)).lower()
        kept = [o for o in objects if what not in o.get("description", "").lower()]
        if len(kept) != len(objects):
            if kept:
                sp["objects"] = kept
            else:
                sp.pop("objects")
            return True
    for word, path in FIELDS:
        if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low):
            value = re.sub(rf"^{_VERBS}\s+(?:it\s+|the\s+)?(?:a\s+|an\s+)?", "", c, flags=re.I)
            _set(sp, path, _unquote(value), partial)
            return True
    if m := _ADD_OBJ.match(c):
        obj = {"description": _unquote(m.group(1))}
        if not partial:
            obj.update(location="in the scene", relationship="added alongside the main subject")
        sp["objects"] = [*objects, obj]
        return True
    return False


def refine_offline(sp: dict[str, Any], instruction: str, *, partial: bool) -> dict[str, Any]:
    """A copy of ``sp`` with ``instruction`` applied to the fields it names."""
    out = copy.deepcopy(sp)
    unmatched = [c for c in _SPLIT.split(instruction.strip()) if c and not _apply(out, c, partial)]
    if unmatched:
        note = "; ".join(u.strip().rstrip(".") for u in unmatched)
        key = "short_description" if "short_description" in out or not partial else "context"
        cur = out.get(key)
        out[key] = f"{cur.rstrip('.')}; {note}." if isinstance(cur, str) and cur else f"{note}."
    return out
