"""Aspect ratios map to sizes divisible by 16, ~1 MP for FIBO and ~128x128 for the tiny model."""

from __future__ import annotations

import pytest

from tailor.domain.enums import AspectRatio
from tailor.engine.resolutions import size_for


@pytest.mark.parametrize("ratio", [r.value for r in AspectRatio])
@pytest.mark.parametrize(("tiny", "area"), [(False, 1024 * 1024), (True, 128 * 128)])
def test_sizes_keep_the_ratio_and_area(ratio: str, tiny: bool, area: int) -> None:
    w, h = size_for(ratio, tiny)
    assert w % 16 == 0 and h % 16 == 0
    a, b = (int(x) for x in ratio.split(":"))
    assert abs((w / h) / (a / b) - 1) < (0.04 if not tiny else 0.1)
    assert 0.8 < (w * h) / area < 1.1


def test_unknown_ratio_is_refused() -> None:
    with pytest.raises(ValueError, match="aspect_ratio"):
        size_for("7:3", tiny=False)
