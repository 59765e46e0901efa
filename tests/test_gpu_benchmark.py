"""benchmarks/gpu.py runs here too: every section on the tiny model on CPU, the plan on the meta device."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> object:
    spec = importlib.util.spec_from_file_location("gpu_benchmark", ROOT / "benchmarks" / "gpu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_section_runs_on_the_tiny_model(tmp_path: Path) -> None:
    gpu = _load()
    assert list(gpu.SECTIONS) == ["plan", "generate", "adapters", "train", "fibo2_turbo", "video"]  # type: ignore[attr-defined]
    out = tmp_path / "figures.json"
    report = gpu.main(["--tiny", "--sections", "generate,adapters,train", "--steps", "1", "--json", str(out)])  # type: ignore[attr-defined]
    assert json.loads(out.read_text()) == report
    sections = report["sections"]
    assert all("error" not in figures for figures in sections.values()), sections
    assert sections["generate"]["eager_s_per_image"] > 0 and sections["generate"]["size"] == 128
    assert sections["adapters"]["hot_swap"] is True and sections["adapters"]["switch_overhead_s"] is not None
    assert sections["train"]["s_per_step"] > 0 and sections["train"]["projected_recipe_min"] > 0
    by_gpus = sections["train"]["projected_recipe_min_by_gpus"]  # tiny: 1 micro-batch, 1 GPU only
    assert by_gpus == {"1": sections["train"]["projected_recipe_min"]}


def test_the_dry_run_prints_the_plan() -> None:
    gpu = _load()
    report = gpu.main(["--dry-run"])  # type: ignore[attr-defined]
    plan = report["sections"]["plan"]
    assert 8.2e9 < plan["parameters"]["transformer"] < 8.4e9
    assert plan["training_rank_128_1024_gib"]["total"] > plan["training_rank_128_1024_gib"]["weights"] > 15
    with pytest.raises(SystemExit):
        gpu.main(["--sections", "nope", "--tiny"])  # type: ignore[attr-defined]


@pytest.mark.slow
def test_the_video_and_fibo2_sections_are_wired() -> None:
    """On CPU the video section builds Wan 2.2 TI2V-5B on the meta device through benchmarks/video.py;
    FIBO 2 turbo is GPU only (benchmarks/generate.py covers it on CPU)."""
    gpu = _load()
    sections = gpu.main(["--tiny", "--sections", "fibo2_turbo,video"])["sections"]  # type: ignore[attr-defined]
    assert "skipped" in sections["fibo2_turbo"]
    video = sections["video"]
    assert video["returncode"] == 0 and video["command"] == "video.py --real-arch --dry-run", video
    assert any("5.00" in line for line in video["output"]), video["output"]
