"""Does a compiled transformer recompile when the adapter or its influence changes?

    python benchmarks/compile_swap.py            # the tiny model on CPU (torch.compile, inductor)

Under ``TAILOR_COMPILE`` the transformer is compiled once and adapters are hot-swapped into one
slot (``engine/speed.py``). This script compiles the tiny model's transformer the same way, then
renders a sequence of requests (adapter A at influence 1.0, again, at 0.5 and 0.8, adapter B, no
adapter, A again) and prints, per request, the frames torch._dynamo compiled and the wall time, as
JSON. A request that compiles nothing reuses the graph; one that compiles is a recompile (seconds
on CPU for the tiny model, minutes for FIBO on a GPU).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

SP = json.dumps({"short_description": "a small red house by a lake at sunset"})


def make_adapter(model_dir: Path, seed: int, rank: int = 4) -> bytes:
    import torch
    from diffusers import BriaFiboPipeline
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = BriaFiboTransformer2DModel.from_pretrained(model_dir / "transformer")
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    transformer.add_adapter(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in transformer.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        BriaFiboPipeline.save_lora_weights(
            tmp,
            transformer_lora_layers=get_peft_model_state_dict(transformer),
            transformer_lora_adapter_metadata=config.to_dict(),
        )
        return (Path(tmp) / "pytorch_lora_weights.safetensors").read_bytes()


def main() -> dict[str, Any]:
    import torch
    import torch._dynamo
    from torch._dynamo.utils import counters

    from tailor.config import Settings
    from tailor.engine.adapters import AdapterCache
    from tailor.engine.generation import Generator, ImageRequest
    from tailor.engine.tiny import ensure_tiny_model
    from tailor.store.blobs import open_blob_store

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        tiny = ensure_tiny_model(home / "models")
        blobs = open_blob_store(f"file://{home / 'blobs'}")
        for name, seed in (("A", 1), ("B", 2)):
            blobs.put(f"adapters/{name}.safetensors", make_adapter(tiny, seed))
        settings = Settings(home=home, base_model=str(tiny), device="cpu", max_steps=2)
        gen = Generator(settings, blobs)
        pipe = gen.pipe
        # what TAILOR_COMPILE does on CUDA (``speed.prepare_compile``), at the adapters' rank
        pipe.enable_lora_hotswap(target_rank=8)
        gen.loaded("fibo").adapters = AdapterCache(pipe, 4, fetch=blobs.get, hotswap=True, compile=True)
        sequence = [
            ("A", 1.0),
            ("A", 1.0),
            ("A", 0.5),
            ("A", 0.8),
            ("B", 0.8),
            ("B", 1.0),
            (None, 1.0),
            ("A", 1.0),
        ]
        rows = []
        for adapter, influence in sequence:
            before = sum(counters["frames"].values()), counters["stats"]["unique_graphs"]
            t0 = time.perf_counter()
            gen.generate(
                ImageRequest(
                    SP,
                    7,
                    steps=2,
                    adapter_key=f"adapters/{adapter}.safetensors" if adapter else None,
                    influence=influence,
                )
            )
            rows.append(
                {
                    "adapter": adapter,
                    "influence": influence,
                    "graphs_compiled": counters["stats"]["unique_graphs"] - before[1],
                    "frames": sum(counters["frames"].values()) - before[0],
                    "s": round(time.perf_counter() - t0, 2),
                }
            )
        recompiles = sum(r["graphs_compiled"] for r in rows[1:])
        report = {
            "torch": torch.__version__,
            "requests": rows,
            "graphs_after_the_first_request": recompiles,
            "recompiles_on_influence_or_adapter_change": recompiles > 0,
        }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
