"""FIBO 2 (``briaai/Fibo-2.0-dev``): ``BriaFibo2Pipeline``, Qwen3-VL text encoder, Flux 2 VAE.

Two checkpoints share the pipeline and the architecture: the 30-step model with guidance 5 (the
one tailored models are trained on) and a distilled *turbo* model that needs 4 steps and no
guidance. An adapter trained on the first applies to the second key for key. The same pipeline
edits: an instruction plus up to 5 images (``<image_1>`` ... in the instruction), optionally a mask.

Loading works without torchvision: Qwen3-VL's processor is put together from the saved tokenizer
and the PIL image processor when ``Qwen3VLProcessor.from_pretrained`` cannot build its (video)
processors, which need torchvision. Editing images never uses the video processor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tailor.domain.families import FIBO2 as FIBO2_SPEC
from tailor.engine.families.base import Family

FIBO2_SIZES: dict[str, tuple[int, int]] = {
    # the sizes FIBO 2 was trained at for each ratio, about one megapixel (its image processor's
    # get_image_size at 1024x1024)
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1152),
    "4:3": (1152, 864),
    "4:5": (896, 1120),
    "5:4": (1120, 896),
    "9:16": (800, 1424),
    "16:9": (1424, 800),
}
FIBO2_TINY_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (128, 128),
    "2:3": (112, 160),
    "3:2": (160, 112),
    "3:4": (112, 144),
    "4:3": (144, 112),
    "4:5": (112, 144),
    "5:4": (144, 112),
    "9:16": (96, 176),
    "16:9": (176, 96),
}

# Every attention projection (self-attention of the refiner and main blocks, the text
# cross-attention of the injection blocks and the Perceiver) and every feed-forward layer.
FIBO2_TARGETS = (
    "attention.to_q",
    "attention.to_k",
    "attention.to_v",
    "attention.to_out.0",
    "feed_forward.w1",
    "feed_forward.w2",
    "feed_forward.w3",
)

# Sizes of the tiny FIBO 2 (Qwen3-VL keeps 36 layers: the pipeline reads hidden states up to 35).
TINY_TEXT_HIDDEN = 16
TINY_TEXT_LAYERS = 36
TINY_DIM = 32
TINY_LATENT_CHANNELS = 4
TINY_TOKENIZER_VOCAB = 600
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
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

_PROCESSOR_CLASS: Any = None


def processor_class() -> Any:
    """``Qwen3VLProcessor`` that accepts a missing video processor (images and text only)."""
    global _PROCESSOR_CLASS
    if _PROCESSOR_CLASS is None:
        from transformers import Qwen3VLProcessor

        class ImageTextProcessor(Qwen3VLProcessor):  # type: ignore[misc]
            def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
                return type(argument)

        _PROCESSOR_CLASS = ImageTextProcessor
    return _PROCESSOR_CLASS


def load_processor(path: Path) -> Any:
    """Qwen3-VL's processor from ``path``: the library's own, or the tokenizer and the PIL image
    processor when the library's needs torchvision."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    try:
        from transformers import Qwen3VLProcessor

        return Qwen3VLProcessor.from_pretrained(path)
    except Exception:  # no torchvision: no video processor; text and images need none
        tokenizer = AutoTokenizer.from_pretrained(path)
        images = Qwen2VLImageProcessorPil.from_pretrained(path)
        return processor_class()(image_processor=images, tokenizer=tokenizer, video_processor=None)


def build_tokenizer() -> Any:
    """A small byte-level BPE tokenizer with Qwen's special tokens, trained in code."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from tailor.engine.tiny import corpus

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_TOKENIZER_VOCAB,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|im_end|>", model_max_length=4096
    )


def build_tiny_fibo2(seed: int) -> Any:
    """The tiny ``BriaFibo2Pipeline`` with seeded random weights (FIBO 2's architecture)."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        BriaFibo2Pipeline,
        BriaFibo2Transformer2DModel,
        FlowMatchEulerDiscreteScheduler,
    )
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = build_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    images = Qwen2VLImageProcessorPil(
        patch_size=16, merge_size=2, temporal_patch_size=2, min_pixels=32 * 32, max_pixels=128 * 128
    )
    processor = processor_class()(image_processor=images, tokenizer=tokenizer, video_processor=None)
    hidden = TINY_TEXT_HIDDEN
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": TINY_TEXT_LAYERS,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 8,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_section": [2, 1, 1],
                "mrope_interleaved": True,
            },
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_heads": 2,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": hidden,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0, 1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = Qwen3VLForConditionalGeneration(config)
        transformer = BriaFibo2Transformer2DModel(
            in_channels=TINY_LATENT_CHANNELS,
            patch_size=2,
            dim=TINY_DIM,
            n_layers=2,
            n_refiner_layers=1,
            n_heads=2,
            cap_feat_dim=3 * hidden,  # three Qwen3-VL layers side by side
            injection_layer_ids=(1,),
            perceiver_num_layers=1,
            min_num_gist_tokens=4,
            max_num_gist_tokens=8,
            gist_step=4,
            gist_min_text_len=4,
            gist_max_text_len=64,
            axes_dims=(4, 6, 6),
            axes_lens=(16, 64, 64),
        )
        vae = AutoencoderKLFlux2(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(8, 8, 8, 8),
            layers_per_block=1,
            latent_channels=TINY_LATENT_CHANNELS,
            norm_num_groups=4,
            use_quant_conv=False,
            use_post_quant_conv=False,
            sample_size=128,
        )
    return BriaFibo2Pipeline(
        transformer=transformer.eval(),  # type: ignore[attr-defined]
        scheduler=FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG),
        vae=vae.eval(),  # type: ignore[attr-defined]
        text_encoder=text_encoder.eval(),
        processor=processor,
    )


def _empty(value: Any) -> bool:
    import math

    if isinstance(value, float):
        return math.isnan(value)
    return value is None or (isinstance(value, (str, dict, list)) and not value)


class Fibo2(Family):
    spec = FIBO2_SPEC
    components = ("transformer", "scheduler", "vae", "text_encoder", "processor")
    licence = (
        "FIBO 2's weights are published by Bria under their model licence on the hub; accept it on "
        "the model page (and set HF_TOKEN) before downloading"
    )
    lora_targets = FIBO2_TARGETS
    sizes = FIBO2_SIZES
    tiny_sizes = FIBO2_TINY_SIZES
    tiny_name = "tiny-fibo2-v1"
    max_sequence_length = 4096

    def build_tiny(self, seed: int) -> Any:
        return build_tiny_fibo2(seed)

    def save_tiny(self, pipe: Any, path: Path) -> None:
        processor = pipe.processor
        pipe.register_modules(processor=None)
        try:
            pipe.save_pretrained(path, safe_serialization=True)
        finally:
            pipe.register_modules(processor=processor)
        processor.tokenizer.save_pretrained(path / "processor")
        processor.image_processor.save_pretrained(path / "processor")

    def load(self, source: str, dtype: Any) -> Any:
        from diffusers import BriaFibo2Pipeline

        local = Path(source)
        if not (local / "model_index.json").is_file():
            from huggingface_hub import snapshot_download

            local = Path(snapshot_download(source))
        return BriaFibo2Pipeline.from_pretrained(
            local, dtype=dtype, processor=load_processor(local / "processor")
        )

    def after_load(self, pipe: Any, tiny: bool) -> None:
        if tiny:  # edited images default to the tiny model's area (128x128), as generated ones
            pipe.default_sample_size = 128 // pipe.vae_scale_factor

    def serialise_caption(self, caption: str) -> str:
        """The caption cleaned and compact, exactly as ``BriaFibo2Pipeline`` serialises a
        generation prompt before encoding it."""
        from diffusers import BriaFibo2Pipeline

        parsed, _ = BriaFibo2Pipeline._parse_prompt(caption)
        if isinstance(parsed, str):
            return parsed
        return json.dumps(parsed or {}, separators=(",", ":"), ensure_ascii=False)

    def encode_caption(self, pipe: Any, caption: str) -> Any:
        """The six Qwen3-VL bundles of one caption: [6, tokens, 3 * hidden]."""
        embeds, _mask = pipe.encode_prompt(self.serialise_caption(caption), device=pipe.text_encoder.device)
        return embeds[0]

    def encode_image(self, pipe: Any, pixels: Any) -> Any:
        """Latents normalised with the Flux 2 VAE's BatchNorm statistics, as the pipeline does."""
        vae = pipe.vae
        x = pixels[None].to(device=vae.device, dtype=vae.dtype)
        lat = pipe._patchify_latents(vae.encode(x).latent_dist.mode().float())
        mean = vae.bn.running_mean.view(1, -1, 1, 1).to(lat.device, lat.dtype)
        scale = (1 / (vae.bn.running_var + vae.config.batch_norm_eps).sqrt()).view(1, -1, 1, 1)
        lat = (lat - mean) * scale.to(lat.device, lat.dtype)
        return pipe._unpatchify_latents(lat)[0]

    def flow_pair(self, transformer: Any, noisy: Any, target: Any, sigma: Any, text: Any, dtype: Any) -> Any:
        device = transformer.device
        pred = transformer(
            hidden_states=noisy.to(device, dtype=dtype),
            timestep=sigma.to(device, dtype=dtype),  # the noise level in [0, 1]
            encoder_hidden_states=text[None].to(device, dtype=dtype),
            return_dict=False,
        )[0]
        return pred, target.to(device)

    def pipe_kwargs(self, negative_prompt: str | None) -> dict[str, Any]:
        # None: the null caption FIBO 2 was trained with for guidance
        return {"negative_prompt": negative_prompt or None}

    def save_lora(self, directory: Path, state: dict[str, Any], meta: dict[str, Any]) -> None:
        from diffusers import BriaFibo2Pipeline

        BriaFibo2Pipeline.save_lora_weights(
            directory, transformer_lora_layers=state, transformer_lora_adapter_metadata=meta
        )


FIBO2 = Fibo2()
