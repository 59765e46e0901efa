"""Motion prompts: the first frame's description restated, a motion that suits the IP type, by seed."""

from __future__ import annotations

import json

from tailor.bridge.motion import MOTIONS, Subject, motion_prompt

DESCRIPTION = json.dumps(
    {
        "short_description": "Lucy, a round orange robot, waving in a park.",
        "style_medium": "flat vector illustration",
        "artistic_style": "minimalist flat",
    }
)


def test_a_defined_character_is_named_and_moves_like_a_character() -> None:
    prompt = motion_prompt(DESCRIPTION, Subject("defined_character", "Lucy", "illustration"), seed=3)
    assert prompt.startswith("Lucy, a round orange robot, waving in a park.")
    assert any(f"Lucy {m}." in prompt for m in MOTIONS["defined_character"])
    assert "flat vector illustration, minimalist flat" in prompt


def test_objects_and_icons_get_their_own_motions_and_the_seed_decides() -> None:
    for ip_type in ("object_variants", "icons", "stylized_scene"):
        prompts = {motion_prompt(DESCRIPTION, Subject(ip_type), seed=s) for s in range(12)}
        assert len(prompts) > 1  # the seed picks among the motions of the type
        for p in prompts:
            assert any(m[0].upper() + m[1:] in p for m in MOTIONS[ip_type])
    assert motion_prompt(DESCRIPTION, Subject("icons"), 5) == motion_prompt(DESCRIPTION, Subject("icons"), 5)


def test_unknown_types_and_bare_descriptions_still_give_a_prompt() -> None:
    prompt = motion_prompt("not json", Subject("something_new", ip_medium="photography"), seed=1)
    assert prompt.startswith("The scene of the first frame.")
    assert any(m[0].upper() + m[1:] in prompt for m in MOTIONS["other"])
    assert "photography" in prompt
