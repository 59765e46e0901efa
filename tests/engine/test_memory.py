"""The GPU memory plan on FIBO's real architecture (built on the meta device, no weights)."""

from __future__ import annotations

import pytest

from tailor.engine import fibo_recipe as recipe
from tailor.engine import memory
from tailor.services.training_estimate import FIBO_LORA_PARAMS_PER_RANK

GiB = memory.GiB


@pytest.fixture(scope="module")
def fibo() -> memory.Parameters:
    return memory.fibo_parameters()


def test_parameter_counts_are_fibos(fibo: memory.Parameters) -> None:
    assert 8.2e9 < fibo.transformer < 8.4e9  # "8 B parameters"
    assert 3.0e9 < fibo.text_encoder < 3.2e9  # SmolLM3-3B
    assert 0.3e9 < fibo.vae < 1.0e9
    assert (fibo.hidden, fibo.blocks) == (3072, 46)
    # the training estimate's disk figure for FIBO before any run was measured counts on this
    assert fibo.lora_per_rank == FIBO_LORA_PARAMS_PER_RANK


def test_the_adaln_linears_are_a_fifth_of_the_lora(
    monkeypatch: pytest.MonkeyPatch, fibo: memory.Parameters
) -> None:
    without = tuple(
        t
        for t in recipe.LORA_TARGET_MODULES
        if not t.endswith("norm1.linear") and t not in ("norm1_context.linear", "norm.linear")
    )
    monkeypatch.setattr(recipe, "LORA_TARGET_MODULES", without)
    fewer = memory.count_parameters().lora_per_rank
    assert 0.18 < 1 - fewer / fibo.lora_per_rank < 0.26  # the review's "22% fewer" at any rank
    assert 450e6 < fibo.lora_per_rank * 128 < 500e6


def test_plans_at_1024_and_refusals(fibo: memory.Parameters) -> None:
    gen = memory.generation_plan(fibo)
    train = memory.training_plan(fibo, rank=128)
    assert 21 * GiB < gen.weights < 23 * GiB  # three components in bf16
    assert train.optimizer == 2 * train.lora == 2 * train.gradients  # AdamW: two fp32 moments
    assert 20 * GiB < train.total < 40 * GiB
    no_ckpt = memory.training_plan(fibo, rank=128, gradient_checkpointing=False)
    assert no_ckpt.activations > 5 * train.activations
    memory.ensure_fits(train, 80 * GiB, "cuda:0")  # an H100 holds one training run
    with pytest.raises(
        memory.InsufficientGpuMemory, match=r"training rank 128 at 1024x1024 needs about .* GiB on cuda:0"
    ):
        memory.ensure_fits(train, 24 * GiB, "cuda:0")
    # two pipelines on one 80 GB GPU do not fit once the first holds its share
    with pytest.raises(memory.InsufficientGpuMemory, match="are free"):
        memory.ensure_fits(train, 80 * GiB - gen.total - 30 * GiB, "cuda:0")
    with pytest.raises(memory.InsufficientGpuMemory, match="TAILOR_GPU_MEMORY_GB"):
        memory.ensure_fits(gen, 80 * GiB, "cuda:1", limit=16 * GiB)
    memory.ensure_fits(gen, None, "cpu")  # nothing planned off CUDA


def test_workers_know_their_device_and_release_the_pipeline_for_training(tmp_path, tiny_dir) -> None:  # type: ignore[no-untyped-def]
    from tailor.bootstrap import Resources
    from tailor.store.blobs import open_blob_store
    from tailor.worker.supervisor import device_for, parse_devices
    from tests.engine.conftest import engine_settings

    devices = parse_devices(" cuda:0, cuda:1 ,")
    assert devices == ["cuda:0", "cuda:1"] and [device_for(i, devices) for i in range(3)] == [
        "cuda:0",
        "cuda:1",
        "cuda:0",
    ]
    resources = Resources(engine_settings(tmp_path, tiny_dir), open_blob_store(f"file://{tmp_path / 'b'}"))
    assert resources.release_generator() is False
    gen = resources.generator()
    assert resources.loaded_generator is gen and gen.pipe is not None and gen.loaded_families == ["fibo"]
    assert resources.release_generator() is True
    assert resources.loaded_generator is None and gen.loaded_families == []
    assert resources.generator() is not gen  # loaded again on the next generation
