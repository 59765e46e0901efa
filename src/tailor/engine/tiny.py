"""The tiny model: FIBO's real architecture with small random weights, built and saved locally.

It runs the same code paths as ``briaai/FIBO`` (``BriaFiboPipeline`` with a
``BriaFiboTransformer2DModel``, an ``AutoencoderKLWan`` and a SmolLM3 text encoder) and is loaded
through the same ``from_pretrained`` call, so development and tests need neither a GPU nor weights.
Sizes are chosen so that the pieces agree the way the pipeline requires:

- the text encoder's last two hidden states are concatenated: ``joint_attention_dim = 2 * hidden``;
- every block also receives one text-encoder layer: ``text_encoder_dim = hidden``;
- rotary axes add up to the attention head dim;
- the transformer's ``in_channels`` equal the VAE's ``z_dim`` (no patching), and the VAE
  downsamples by 16 (``patch_size=2`` times three spatial downsamples), as the pipeline assumes;
- empty prompts are encoded as token id 128000, so the embedding keeps SmolLM3's full vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailor.infra.build_once import build_once

TINY_NAME = "tiny-fibo-v1"
TINY_SEED = 0

# Sizes of the tiny model (kept together so benchmarks and docs can show them).
TEXT_HIDDEN = 32
TEXT_LAYERS = 2
TEXT_VOCAB = 128256  # SmolLM3's vocabulary; the pipeline uses id 128000 for empty prompts
TOKENIZER_VOCAB = 600
HEAD_DIM = 8
HEADS = 2
LAYERS = 1
SINGLE_LAYERS = 1
Z_DIM = 16
VAE_BASE_DIM = 8

SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": True,
    "base_shift": 0.5,
    "max_shift": 1.15,
    "base_image_seq_len": 256,
    "max_image_seq_len": 4096,
    "time_shift_type": "exponential",
}

_CORPUS_WORDS = (
    "short_description objects description location relationship relative_size shape_and_color "
    "texture appearance_details number_of_objects pose expression clothing action gender "
    "skin_tone_and_texture orientation background_setting lighting conditions direction shadows "
    "aesthetics composition color_scheme "
    "mood_atmosphere preference_score aesthetic_score photographic_characteristics depth_of_field focus "
    "camera_angle lens_focal_length style_medium artistic_style context text_render text font "
    "a an the of in on at with and or to from by for is are this that left right center top bottom "
    "foreground midground background front behind near far small medium large tiny huge close up wide "
    "red orange yellow green blue purple pink brown black white gray grey gold silver bright dark soft hard "
    "warm cool natural studio daylight sunset night indoor outdoor portrait landscape photo photograph "
    "illustration painting drawing vector flat cartoon realistic cinematic minimal vibrant pastel muted "
    "person woman man child dog cat bird tree flower car house city street sky cloud sun water sea beach "
    "mountain forest table chair cup bottle product logo character icon scene object smiling standing "
    "sitting walking holding looking wearing shirt dress hat glasses eye level high low angle shallow deep "
    "sharp blurry bokeh mm 35mm 50mm 85mm high very moderate none null true false"
)


def corpus() -> list[str]:
    words = _CORPUS_WORDS.split()
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    return lines + ['{"' + w + '": "' + w + '"}' for w in words]


def build_tokenizer() -> Any:
    """A small byte-level BPE tokenizer trained in code (deterministic), as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB,
        special_tokens=["<pad>", "<|end_of_text|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<|end_of_text|>", model_max_length=3000
    )


def tiny_wan_vae() -> Any:
    """The Wan 2.2 VAE's architecture at tiny size (random weights): FIBO's VAE and the video
    model's are the same design."""
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(
        base_dim=VAE_BASE_DIM,
        decoder_base_dim=VAE_BASE_DIM,
        z_dim=Z_DIM,
        dim_mult=[1, 2, 2, 2],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
        is_residual=True,
        in_channels=12,
        out_channels=12,
        patch_size=2,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        latents_mean=[0.0] * Z_DIM,
        latents_std=[1.0] * Z_DIM,
    )


def build_tiny_pipeline() -> Any:
    """Build the tiny ``BriaFiboPipeline`` in memory with seeded random weights."""
    import torch
    from diffusers import BriaFiboPipeline, FlowMatchEulerDiscreteScheduler
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel
    from transformers import SmolLM3Config, SmolLM3ForCausalLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        transformer = BriaFiboTransformer2DModel(
            patch_size=1,
            in_channels=Z_DIM,
            num_layers=LAYERS,
            num_single_layers=SINGLE_LAYERS,
            attention_head_dim=HEAD_DIM,
            num_attention_heads=HEADS,
            joint_attention_dim=2 * TEXT_HIDDEN,
            text_encoder_dim=TEXT_HIDDEN,
            pooled_projection_dim=None,
            axes_dims_rope=[0, HEAD_DIM // 2, HEAD_DIM // 2],
        )
        vae = tiny_wan_vae()
        text_encoder = SmolLM3ForCausalLM(
            SmolLM3Config(
                vocab_size=TEXT_VOCAB,
                hidden_size=TEXT_HIDDEN,
                intermediate_size=2 * TEXT_HIDDEN,
                num_hidden_layers=TEXT_LAYERS,
                num_attention_heads=2,
                num_key_value_heads=1,
                tie_word_embeddings=True,
                pad_token_id=0,
            )
        )
    scheduler = FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG)
    return BriaFiboPipeline(
        transformer=transformer.eval(),
        scheduler=scheduler,
        vae=vae.eval(),  # type: ignore[attr-defined]
        text_encoder=text_encoder.eval(),
        tokenizer=build_tokenizer(),
    )


def _is_built(path: Path) -> bool:
    return (path / "model_index.json").is_file()


def ensure_tiny_model(models_dir: Path, family: Any = None, *, turbo: bool = False) -> Path:
    """Build (once, under a file lock, atomically) and save a tiny model; return its directory.

    ``family`` (a ``tailor.engine.families.Family``) defaults to FIBO; ``turbo`` builds the
    family's tiny turbo stand-in: the same architecture with other random weights."""
    name = TINY_NAME if family is None else family.tiny_name
    seed = TINY_SEED
    if turbo:
        name, seed = f"{name}-turbo", TINY_SEED + 1

    def build(folder: Path) -> None:
        if family is None:
            build_tiny_pipeline().save_pretrained(folder, safe_serialization=True)
        else:
            family.save_tiny(family.build_tiny(seed), folder)

    return build_once(Path(models_dir) / name, build, _is_built)
