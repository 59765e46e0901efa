"""The validation set and the best-checkpoint rule, on stated scores."""

from __future__ import annotations

import json

from tailor.domain.evaluation import VALIDATION_SEEDS, best_checkpoint, validation_set


def s(dino: float, clip_i: float, clip_t: float, memo: float) -> dict:
    return {"dino": dino, "clip_i": clip_i, "clip_t": clip_t, "memorisation": memo}


BASE = s(0.2, 0.3, 0.30, 0.5)


def test_highest_fidelity_wins() -> None:
    assert best_checkpoint(BASE, [(100, s(0.5, 0.5, 0.3, 0.8)), (200, s(0.6, 0.6, 0.3, 0.8))]) == 200


def test_tie_goes_to_the_earlier_step() -> None:
    assert best_checkpoint(BASE, [(200, s(0.6, 0.6, 0.3, 0.8)), (100, s(0.6, 0.6, 0.3, 0.8))]) == 100


def test_memorised_and_prompt_collapse_are_dropped() -> None:
    memorised = s(0.9, 0.9, 0.3, 0.99)
    collapsed = s(0.8, 0.8, 0.24, 0.8)  # clip_t 0.06 below the base's
    fine = s(0.5, 0.5, 0.28, 0.8)
    assert best_checkpoint(BASE, [(100, fine), (200, collapsed), (300, memorised)]) == 100
    assert best_checkpoint(BASE, [(200, collapsed), (300, memorised)]) is None
    # a similarity the base model reaches too is not memorisation
    assert best_checkpoint(s(0.2, 0.3, 0.3, 0.985), [(300, memorised)]) == 300


def test_unscored_checkpoints_are_skipped() -> None:
    assert best_checkpoint(None, [(100, None), (200, s(0.1, 0.1, 0.1, 0.1))]) == 200
    assert best_checkpoint(None, []) is None


def test_validation_set_keeps_the_ip_in_new_contexts() -> None:
    schema = json.dumps({"style_medium": "flat colour", "objects": [{"description": "a red fox"}]})
    items = validation_set(schema, None, 3)
    assert [i.seed for i in items] == list(VALIDATION_SEEDS[:3])
    assert len({i.text for i in items}) == 3 and all(i.text.startswith("a red fox ") for i in items)
    for item in items:
        prompt = json.loads(item.prompt)
        assert prompt["style_medium"] == "flat colour" and prompt["short_description"] == item.text
    assert validation_set(schema, None, 3) == items  # the same set every time
    caption = json.dumps({"short_description": "x", "style_medium": "oil", "background_setting": "y"})
    fallback = json.loads(validation_set(None, caption, 1)[0].prompt)
    assert fallback["style_medium"] == "oil" and fallback["background_setting"] != "y"
