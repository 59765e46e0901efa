"""FIBO (``briaai/FIBO``): ``BriaFiboPipeline``, SmolLM3 text encoder, Wan 2.2 VAE, 50 steps, guidance 5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailor.domain.families import FIBO as FIBO_SPEC
from tailor.engine import fibo_recipe as recipe
from tailor.engine.families.base import Family
from tailor.engine.resolutions import FIBO_SIZES, TINY_SIZES

# LoRA targets of Bria's fine-tuning script (attention, feed-forward and AdaLN modulation linears).
FIBO_TARGETS = tuple(recipe.LORA_TARGET_MODULES)


def _pack(latents: Any) -> Any:
    """[B, C, h, w] -> [B, h*w, C] (FIBO's transformer runs without patching)."""
    b, c, h, w = latents.shape
    return latents.permute(0, 2, 3, 1).reshape(b, h * w, c)


def _image_ids(h: int, w: int, device: Any, dtype: Any) -> Any:
    import torch

    ids = torch.zeros(h, w, 3)
    ids[..., 1] += torch.arange(h)[:, None]
    ids[..., 2] += torch.arange(w)[None, :]
    return ids.reshape(h * w, 3).to(device=device, dtype=dtype)


def _block_layers(layers: Any, n_blocks: int) -> list[Any]:
    """One text-encoder layer per transformer block, chosen as the FIBO pipeline does."""
    seq = [layers[i][None] for i in range(layers.shape[0])]
    if len(seq) >= n_blocks:
        return seq[len(seq) - n_blocks :]
    return seq + [seq[-1]] * (n_blocks - len(seq))


class Fibo(Family):
    spec = FIBO_SPEC
    components = ("transformer", "scheduler", "vae", "text_encoder", "tokenizer")
    licence = (
        "FIBO's weights are published by Bria under CC BY-NC 4.0 (non-commercial use); "
        "accept the licence on the model page before downloading"
    )
    lora_targets = FIBO_TARGETS
    sizes = FIBO_SIZES
    tiny_sizes = TINY_SIZES
    tiny_name = "tiny-fibo-v1"
    max_sequence_length = recipe.MAX_SEQUENCE_LENGTH

    def training_caption(self, caption: str) -> str:
        return recipe.training_caption(caption)  # compact JSON, as Bria's fine-tuning script writes it

    def inference_prompt(self, prompt: str) -> str:
        return recipe.inference_prompt(prompt)  # as Bria's reference inference serialises it

    def pipe_kwargs(self, negative_prompt: str | None) -> dict[str, Any]:
        return {"negative_prompt": recipe.negative_prompt(negative_prompt or "")}

    def build_tiny(self, seed: int) -> Any:
        from tailor.engine.tiny import build_tiny_pipeline

        return build_tiny_pipeline()

    def load(self, source: str, dtype: Any) -> Any:
        from diffusers import BriaFiboPipeline

        return BriaFiboPipeline.from_pretrained(source, dtype=dtype)

    def encode_caption(self, pipe: Any, caption: str) -> Any:
        """All hidden states of the text encoder for one caption: [layers, tokens, hidden]."""
        import torch

        _, hidden, _ = pipe.get_prompt_embeds(
            prompt=[caption], max_sequence_length=self.max_sequence_length, device=pipe.text_encoder.device
        )
        return torch.stack([h[0] for h in hidden])

    def encode_image(self, pipe: Any, pixels: Any) -> Any:
        import torch

        vae = pipe.vae
        x = pixels[None, :, None].to(device=vae.device, dtype=vae.dtype)
        lat = vae.encode(x).latent_dist.mean[:, :, 0].float()
        mean = torch.tensor(vae.config.latents_mean, device=lat.device).view(1, -1, 1, 1)
        std = torch.tensor(vae.config.latents_std, device=lat.device).view(1, -1, 1, 1)
        return ((lat - mean) / std)[0]

    def flow_pair(self, transformer: Any, noisy: Any, target: Any, sigma: Any, text: Any, dtype: Any) -> Any:
        import torch

        device = transformer.device
        _, _, h, w = noisy.shape
        n = transformer.config
        layers = text.to(device, dtype=dtype)
        text_layers = _block_layers(layers, n.num_layers + n.num_single_layers)
        embeds = torch.cat([layers[-1], layers[-2]], dim=-1)[None]
        pred = transformer(
            hidden_states=_pack(noisy).to(device, dtype=dtype),
            timestep=(sigma * 1000.0).to(device, dtype=dtype),
            encoder_hidden_states=embeds.to(dtype),
            text_encoder_layers=[t.to(dtype) for t in text_layers],
            txt_ids=torch.zeros(embeds.shape[1], 3, device=device, dtype=dtype),
            img_ids=_image_ids(h, w, device, dtype),
            return_dict=False,
        )[0]
        return pred, _pack(target).to(device)

    def save_lora(self, directory: Path, state: dict[str, Any], meta: dict[str, Any]) -> None:
        from diffusers import BriaFiboPipeline

        BriaFiboPipeline.save_lora_weights(
            directory, transformer_lora_layers=state, transformer_lora_adapter_metadata=meta
        )


FIBO = Fibo()
