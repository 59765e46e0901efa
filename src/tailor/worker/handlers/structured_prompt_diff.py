"""Kind ``STRUCTURED_PROMPT_DIFF`` (``/v2/structured_prompt/generate_from_diff``): the user-adjusted
structured prompt, revised by the bridge to agree with the user's edits, which are all kept
(``bridge.prompt_diff``). Result: ``{structured_prompt, seed}``."""

from __future__ import annotations

from typing import Any

from tailor.bridge.prompt_diff import from_diff
from tailor.domain.jobs import StructuredPromptDiff
from tailor.jobs.context import JobContext


def structured_prompt_diff(ctx: JobContext, payload: StructuredPromptDiff) -> dict[str, Any]:
    ctx.progress(stage="structured_prompt")
    text = from_diff(
        ctx.resources.bridge().refine, payload.structured_prompt, payload.user_adjusted_structured_prompt
    )
    return {"structured_prompt": text, "seed": payload.seed}
