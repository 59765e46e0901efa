"""FIBO's published architecture: one set of configurations for the planner and the GPU benchmarks."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKLWan

from tailor.engine import memory
from tailor.engine.architectures import FIBO_TRANSFORMER, WAN22_VAE


def test_the_planner_and_the_benchmarks_share_the_published_architecture() -> None:
    assert memory.FIBO_TRANSFORMER is FIBO_TRANSFORMER and memory.FIBO_VAE is WAN22_VAE


def test_the_vae_carries_statistics_for_every_latent_channel() -> None:
    """The pipeline scales latents by these per channel: a list of the default length (16, Wan 2.1's)
    fails at the first decode of a 48-channel latent — what the GPU benchmark would have hit."""
    with torch.device("meta"):
        config = AutoencoderKLWan(**WAN22_VAE).config
    assert len(config.latents_mean) == len(config.latents_std) == config.z_dim == 48
