"""FIBO's published architecture, as configurations, and a pipeline of it with random weights.

Nothing here downloads anything. The memory planner counts parameters on these configurations
built on the meta device; the GPU benchmarks build them with random bf16 weights on the device to
time FIBO at its true scale without its weights. ``depth`` shrinks the block counts (and nothing
else) so that a CPU test can run the same widths end to end.
"""

from __future__ import annotations

from typing import Any

#: FIBO's transformer (briaai/FIBO transformer/config.json): 8 double-stream + 38 single-stream blocks.
FIBO_TRANSFORMER: dict[str, Any] = {
    "patch_size": 1,
    "in_channels": 48,
    "num_layers": 8,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "text_encoder_dim": 2048,
    "pooled_projection_dim": None,
    "axes_dims_rope": [16, 56, 56],
}
#: SmolLM3-3B, FIBO's text encoder.
FIBO_TEXT_ENCODER: dict[str, Any] = {
    "vocab_size": 128256,
    "hidden_size": 2048,
    "intermediate_size": 11008,
    "num_hidden_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 4,
    "tie_word_embeddings": True,
}
#: The Wan 2.2 VAE (16x spatial compression, 48 latent channels): FIBO's, and Wan 2.2 TI2V-5B's.
#: The latent statistics are neutral placeholders of the right length (the published ones are
#: trained values; they change no size and no timing).
WAN22_VAE: dict[str, Any] = {
    "base_dim": 160,
    "decoder_base_dim": 256,
    "z_dim": 48,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "temperal_downsample": [False, True, True],
    "is_residual": True,
    "in_channels": 12,
    "out_channels": 12,
    "patch_size": 2,
    "scale_factor_spatial": 16,
    "scale_factor_temporal": 4,
    "latents_mean": [0.0] * 48,
    "latents_std": [1.0] * 48,
}
FIBO_VAE = WAN22_VAE


def random_fibo_pipeline(device: str) -> Any:
    """``BriaFiboPipeline`` of FIBO's architecture with random bf16 weights, built on ``device``.

    The tokenizer is the tiny model's (the vocabulary size is the real one, so every id it makes
    is valid); the timing is the models'."""
    import torch
    from diffusers import AutoencoderKLWan, BriaFiboPipeline, FlowMatchEulerDiscreteScheduler
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel
    from transformers import SmolLM3Config, SmolLM3ForCausalLM

    from tailor.engine.tiny import SCHEDULER_CONFIG, build_tokenizer

    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            transformer = BriaFiboTransformer2DModel(**FIBO_TRANSFORMER).eval()
            text_encoder = SmolLM3ForCausalLM(SmolLM3Config(**FIBO_TEXT_ENCODER)).eval()
            vae = AutoencoderKLWan(**WAN22_VAE).eval()  # type: ignore[attr-defined]
    finally:
        torch.set_default_dtype(previous)
    pipe = BriaFiboPipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=build_tokenizer(),
    )
    pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
    return pipe
