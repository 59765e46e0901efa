"""The tiny video model: Wan 2.2 TI2V's real architecture with small random weights, built locally.

``WanImageToVideoPipeline`` with ``expand_timesteps`` (the TI2V-5B way of conditioning on the first
frame), a ``WanTransformer3DModel``, the Wan 2.2 VAE layout (``AutoencoderKLWan`` with patching and a
16x spatial / 4x temporal compression), a ``UMT5EncoderModel`` text encoder and a byte-level BPE
tokenizer trained in code. It is saved with ``save_pretrained`` and loaded through the same
``from_pretrained`` call as the real weights, with a ``tailor_video.json`` profile that keeps a clip
cheap on a CPU: 5 s at 1 fps (5 frames) of 64x64 pixels, 2 steps.

Sizes the pipeline requires of each other:

- the transformer's ``text_dim`` is the text encoder's ``d_model``; its ``in_channels`` and
  ``out_channels`` are the VAE's ``z_dim`` (TI2V replaces the first latent frame, it does not
  concatenate a condition);
- ``patch_size`` is (1, 2, 2): the pipeline computes per-token timesteps on a 2x2 grid;
- the head dim splits into three rotary axes (``2 * (d // 6)`` each for height and width).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailor.engine.tiny import tiny_wan_vae
from tailor.engine.video.profile import PROFILE_FILE, VideoProfile
from tailor.infra.build_once import build_once

TINY_VIDEO_NAME = "tiny-wan-ti2v-v1"
TINY_SEED = 0

TEXT_DIM = 32
TEXT_LAYERS = 2
TEXT_HEADS = 4
TOKENIZER_VOCAB = 400
HEAD_DIM = 12
HEADS = 2
LAYERS = 1
Z_DIM = 16
VAE_BASE_DIM = 8

TINY_PROFILE = VideoProfile(
    name="tiny-wan-ti2v",
    fps=1,
    max_area=64 * 64,
    steps=2,
    guidance_scale=5.0,
    max_sequence_length=64,
    min_aspect=0.5,
    max_aspect=2.0,
)

# Wan 2.2 TI2V-5B's scheduler: UniPC over flow-matching sigmas.
SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "prediction_type": "flow_prediction",
    "use_flow_sigmas": True,
    "flow_shift": 5.0,
    "solver_order": 2,
    "solver_type": "bh2",
    "lower_order_final": True,
    "final_sigmas_type": "zero",
}

_CORPUS = (
    "the a an of in on at with and camera slowly gently moves pans tilts zooms orbits turns walks "
    "waves blinks smiles breathes sways floats spins bounces rotates glides drifts flickers rises falls "
    "character object scene icon logo product illustration photograph painting style medium background "
    "light wind water leaves hair cloth clouds sky sun motion subtle smooth loop static steady close wide "
    "left right up down forward backward"
)


def build_tokenizer() -> Any:
    """A small byte-level BPE tokenizer (``</s>`` appended, ``<pad>`` id 0, as UMT5's), trained in code."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB,
        special_tokens=["<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    words = _CORPUS.split()
    tok.train_from_iterator([" ".join(words[i : i + 10]) for i in range(0, len(words), 10)], trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=512
    )


def build_tiny_video_pipeline() -> Any:
    """Build the tiny ``WanImageToVideoPipeline`` in memory with seeded random weights."""
    import torch
    from diffusers import (
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = build_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        text_encoder = UMT5EncoderModel(
            UMT5Config(
                vocab_size=len(tokenizer),
                d_model=TEXT_DIM,
                d_kv=TEXT_DIM // TEXT_HEADS,
                d_ff=2 * TEXT_DIM,
                num_layers=TEXT_LAYERS,
                num_heads=TEXT_HEADS,
                relative_attention_num_buckets=32,
                pad_token_id=0,
                eos_token_id=1,
                decoder_start_token_id=0,
            )
        )
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=HEADS,
            attention_head_dim=HEAD_DIM,
            in_channels=Z_DIM,
            out_channels=Z_DIM,
            text_dim=TEXT_DIM,
            freq_dim=32,
            ffn_dim=4 * HEAD_DIM,
            num_layers=LAYERS,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            eps=1e-6,
            rope_max_seq_len=1024,
        )
        vae = tiny_wan_vae()
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder.eval(),
        vae=vae.eval(),  # type: ignore[attr-defined]
        scheduler=UniPCMultistepScheduler(**SCHEDULER_CONFIG),
        transformer=transformer.eval(),  # type: ignore[attr-defined]
        expand_timesteps=True,
    )


def _is_built(path: Path) -> bool:
    return (path / "model_index.json").is_file() and (path / PROFILE_FILE).is_file()


def ensure_tiny_video_model(models_dir: Path) -> Path:
    """Build (once, under a file lock, atomically) and save the tiny video model; return its directory."""

    def build(folder: Path) -> None:
        build_tiny_video_pipeline().save_pretrained(folder, safe_serialization=True)
        (folder / PROFILE_FILE).write_text(TINY_PROFILE.to_json() + "\n")

    return build_once(Path(models_dir) / TINY_VIDEO_NAME, build, _is_built)
