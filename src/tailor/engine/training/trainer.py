"""Flow-matching LoRA training of the FIBO transformer.

One optimizer step = ``grad_accumulation`` micro-batches of one cached example each. For a
micro-batch: x0 = the image's latents, noise ~ N(0, I), sigma from FIBO's shifted logit-normal,
x_t = sigma * noise + (1 - sigma) * x0, and the transformer (timestep = 1000 * sigma, conditioned on
the caption's cached text-encoder states, called as its family says: ``Family.flow_pair``) is
trained to predict the velocity noise - x0 (MSE).
LoRA adapters (peft) sit on FIBO's reference targets (``fibo_recipe.LORA_TARGET_MODULES``); only
they train, in float32, with AdamW (fused on CUDA), gradient clipping and one of diffusers'
learning-rate schedules. Text states missing from the cache (byte budget) are recomputed.

Every random draw comes from (seed, micro-batch index): data order, noise, sigma. With the
adapter, optimizer and scheduler restored from a checkpoint, a resumed run takes exactly the
steps an uninterrupted run would have taken; the checkpoint records the settings that shape the
run (``TrainConfig.schedule``) and a resume with other settings is refused (``ResumeMismatch``);
another number of data-parallel processes is recorded too, and adapted to (same global batch).
On CPU the continuation is bit-identical; on GPU only with ``deterministic`` (see README).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tailor.engine import fibo_recipe as recipe
from tailor.engine.families import Family
from tailor.engine.families.fibo import FIBO
from tailor.engine.training.data import Example, encode_caption
from tailor.engine.training.schedule import (
    data_order,
    make_lr_scheduler,
    sample_sigmas,
    step_generator,
)

# LoRA targets: FIBO's reference list (attention, feed-forward, AdaLN modulation linears, proj_out).
TARGET_MODULES = list(FIBO.lora_targets)  # FIBO's; each family declares its own (``lora_targets``)

# TrainConfig fields that shape the run: a checkpoint records them and a resume must match.
SCHEDULE_FIELDS = (
    "rank",
    "learning_rate",
    "lr_scheduler",
    "warmup_steps",
    "total_steps",
    "grad_accumulation",
    "seed",
    "max_grad_norm",
    "weight_decay",
    "adam_betas",
    "adam_eps",
)


# Recorded with the schedule, but a resume adapts to them: the number of data-parallel processes
# (the global batch, ``grad_accumulation``, is what shapes a step, and it must match).
ADAPTED = ("world_size",)


class ResumeMismatch(ValueError):
    """A checkpoint was made with other schedule-shaping settings than this run's."""


def check_schedule(config: TrainConfig, recorded: dict[str, Any] | None, world: int = 1) -> str | None:
    """Refuse (``ResumeMismatch``) to continue a run recorded with other schedule-shaping
    settings; returns a note when the run adapts (another number of processes), else None."""
    if recorded is None:  # a checkpoint from before the schedule was recorded
        return None
    mine = config.schedule()
    diff = [
        f"{k}: checkpoint {recorded.get(k)!r}, this run {mine.get(k)!r}"
        for k in sorted((set(mine) | set(recorded)) - set(ADAPTED))
        if recorded.get(k) != mine.get(k)
    ]
    if diff:
        raise ResumeMismatch(
            "cannot resume: the checkpoint was trained with other settings ("
            + "; ".join(diff)
            + "). Configure this worker as the run started (TAILOR_TRAINING_* settings), "
            "or train a new model."
        )
    before = int(recorded.get("world_size", 1))
    if before != world:
        return (
            f"the checkpoint was made by {before} training process(es), this run has {world}: each "
            f"step still takes the same {config.grad_accumulation} micro-batches, split {world} ways"
        )
    return None


@dataclass(frozen=True)
class TrainConfig:
    rank: int = 128
    learning_rate: float = 1e-4
    lr_scheduler: str = "constant_with_warmup"
    warmup_steps: int = 100
    total_steps: int = 750
    checkpoint_interval: int = 500
    grad_accumulation: int = 4
    seed: int = 10
    gradient_checkpointing: bool = True
    max_grad_norm: float = recipe.MAX_GRAD_NORM
    weight_decay: float = recipe.ADAM_WEIGHT_DECAY
    adam_betas: tuple[float, float] = recipe.ADAM_BETAS
    adam_eps: float = recipe.ADAM_EPS
    deterministic: bool = False

    def schedule(self) -> dict[str, Any]:
        """The settings that shape the run (what a resumed run must share)."""
        out: dict[str, Any] = {}
        for name in SCHEDULE_FIELDS:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        out["target_modules"] = list(TARGET_MODULES)
        return out  # the number of processes is recorded beside it (``ADAPTED``): the global batch is here

    def checkpoint_steps(self) -> list[int]:
        from tailor.domain.models import checkpoint_steps

        return checkpoint_steps(self.total_steps, self.checkpoint_interval)


class Trainer:
    """Trains a LoRA adapter on ``pipe.transformer`` from cached examples."""

    def __init__(
        self,
        pipe: Any,
        examples: Sequence[Example],
        config: TrainConfig,
        *,
        device: str | torch.device | None = None,
        family: Family = FIBO,
    ) -> None:
        if not examples:
            raise ValueError("training needs at least one example")
        self.pipe = pipe
        self.family = family
        self.examples = list(examples)
        self.config = config
        self.transformer = pipe.transformer
        self.device = torch.device(device) if device is not None else self.transformer.device
        self.autocast = self.device.type == "cuda" and self.transformer.dtype == torch.bfloat16
        if config.deterministic:
            enable_determinism()
        self.world, self.rank = _process_group()
        if config.grad_accumulation % self.world:
            raise ValueError(
                f"grad_accumulation ({config.grad_accumulation}) must be a multiple of the number of "
                f"data-parallel processes ({self.world}): each takes an equal share of the global batch"
            )
        self.step = 0
        self.last_loss: float | None = None
        self.last_lr: float | None = None  # the learning rate the latest step used
        self.resume_note: str | None = None
        self._add_lora()
        self.params = [p for p in self.transformer.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params,
            lr=config.learning_rate,
            betas=config.adam_betas,
            weight_decay=config.weight_decay,
            eps=config.adam_eps,
            fused=self.device.type == "cuda",
        )
        self.scheduler = make_lr_scheduler(
            self.optimizer, config.lr_scheduler, config.warmup_steps, config.total_steps
        )

    # --- setup -----------------------------------------------------------------------------
    def _add_lora(self) -> None:
        from peft import LoraConfig

        cfg = self.config
        self.lora_config = LoraConfig(
            r=cfg.rank,
            lora_alpha=cfg.rank,
            init_lora_weights=recipe.LORA_INIT,
            target_modules=list(self.family.lora_targets),
        )
        self.transformer.requires_grad_(False)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.transformer.add_adapter(self.lora_config)
        for p in self.transformer.parameters():
            if p.requires_grad:
                p.data = p.data.float()
        if cfg.gradient_checkpointing:
            self.transformer.enable_gradient_checkpointing()
        self.transformer.train()

    # --- one step --------------------------------------------------------------------------
    def _micro_batch(self, index: int) -> torch.Tensor:
        """Loss of micro-batch ``index`` (global count over the run), with its own random draws."""
        n = len(self.examples)
        epoch, pos = divmod(index, n)
        example = self.examples[data_order(self.config.seed, epoch, n)[pos]]
        latents, layers = example.load()
        if layers is None:  # not in the cache (byte budget): recompute on the device
            layers = encode_caption(self.pipe, example.caption, self.family)
        gen = step_generator(self.config.seed, index)
        x0 = latents[None].float()
        noise = torch.randn(x0.shape, generator=gen)
        _, _, h, w = x0.shape
        sigma = sample_sigmas(gen, 1, h * w)
        s = sigma.view(-1, 1, 1, 1)
        noisy = s * noise + (1.0 - s) * x0
        target = noise - x0

        dtype = self.transformer.dtype if not self.autocast else torch.bfloat16
        layers = layers.to(self.device, dtype=torch.float32 if not self.autocast else torch.bfloat16)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            pred, target = self.family.flow_pair(self.transformer, noisy, target, sigma, layers, dtype)
        return torch.nn.functional.mse_loss(pred.float(), target.float())

    def train_step(self) -> float:
        """One optimizer step (``grad_accumulation`` micro-batches); returns the mean loss.

        Data parallel (a ``torch.distributed`` process group): process ``r`` of ``n`` takes the
        micro-batches ``k`` with ``k % n == r`` and the gradients are summed across processes
        before the step, so the step is that of one process with the same global batch."""
        cfg = self.config
        total = torch.zeros((), dtype=torch.float64)
        for k in range(cfg.grad_accumulation):
            if k % self.world != self.rank:
                continue
            loss = self._micro_batch(self.step * cfg.grad_accumulation + k)
            (loss / cfg.grad_accumulation).backward()
            total += float(loss.detach())
        if self.world > 1:
            total = self._all_reduce_gradients(total)
        if cfg.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.last_loss = float(total) / cfg.grad_accumulation
        return self.last_loss

    def _all_reduce_gradients(self, loss_sum: torch.Tensor) -> torch.Tensor:
        """Sum the LoRA gradients (one flat buffer) and the loss over the process group."""
        import torch.distributed as dist

        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        flat = torch.cat(
            [g.reshape(-1).float() for g in grads] + [loss_sum.to(grads[0].device).float().reshape(1)]
        )
        dist.all_reduce(flat)
        offset = 0
        for p, g in zip(self.params, grads, strict=True):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(g).to(p.dtype)
            offset += n
        return flat[offset].double().cpu()

    def run(
        self,
        on_step: Callable[[int, float, float], None] | None = None,
        on_checkpoint: Callable[[int, float], None] | None = None,
    ) -> None:
        """Train from ``self.step`` to ``total_steps``; callbacks get (step, loss, s/step)."""
        marks = set(self.config.checkpoint_steps())
        started, done = time.monotonic(), 0
        while self.step < self.config.total_steps:
            loss = self.train_step()
            done += 1
            if on_step is not None:
                on_step(self.step, loss, (time.monotonic() - started) / done)
            if self.step in marks and on_checkpoint is not None:
                on_checkpoint(self.step, loss)

    # --- state -----------------------------------------------------------------------------
    def lora_state(self) -> dict[str, torch.Tensor]:
        from peft.utils import get_peft_model_state_dict

        return {k: v.detach().cpu() for k, v in get_peft_model_state_dict(self.transformer).items()}

    def save_adapter(self, directory: Path, dtype: torch.dtype | None = None) -> Path:
        """Write the adapter in diffusers LoRA format (plus a ``.json`` LoraConfig sidecar)."""
        import json

        state = self.lora_state()
        if dtype is not None:
            state = {k: v.to(dtype) for k, v in state.items()}
        meta = self.lora_config.to_dict()
        meta = {k: (sorted(v) if isinstance(v, set) else v) for k, v in meta.items()}
        self.family.save_lora(Path(directory), state, meta)
        path = Path(directory) / "pytorch_lora_weights.safetensors"
        Path(str(path) + ".json").write_text(json.dumps(meta, sort_keys=True, default=str))
        return path

    def save_state(self, path: Path) -> None:
        """Everything a resumed run needs: float32 LoRA weights, optimizer, scheduler, RNG, step."""
        torch.save(
            {
                "step": self.step,
                "lora": self.lora_state(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": torch.get_rng_state(),
                "last_loss": self.last_loss,
                "schedule": {**self.config.schedule(), "world_size": self.world},
            },
            path,
        )

    def load_state(self, data: bytes | Path | dict[str, Any]) -> int:
        """Restore a saved state (its bytes, file or :func:`read_state`); returns the step
        training continues from."""
        from peft import set_peft_model_state_dict

        state = data if isinstance(data, dict) else read_state(data)
        self.resume_note = self.check_schedule(state.get("schedule"))
        result = set_peft_model_state_dict(self.transformer, state["lora"])
        unexpected = getattr(result, "unexpected_keys", None)
        if unexpected:
            raise ValueError(f"checkpoint does not match the adapter: {unexpected[:3]}")
        for p in self.params:
            p.data = p.data.float()
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        self.step = int(state["step"])
        self.last_loss = state.get("last_loss")
        return self.step

    def check_schedule(self, recorded: dict[str, Any] | None) -> str | None:
        """Refuse to continue a run recorded with other schedule-shaping settings (see
        :func:`check_schedule`)."""
        return check_schedule(self.config, recorded, self.world)

    # --- samples ---------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, caption: str, *, size: tuple[int, int], steps: int, seed: int) -> Any:
        """Render ``caption`` with the adapter as it is now (a PIL image)."""
        self.transformer.eval()
        try:
            gen = torch.Generator(device="cpu").manual_seed(seed)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                out = self.pipe(
                    prompt=self.family.inference_prompt(caption),
                    **self.family.pipe_kwargs(None),
                    width=size[0],
                    height=size[1],
                    num_inference_steps=steps,
                    guidance_scale=self.family.serving.default_guidance,
                    generator=gen,
                )
            return out.images[0]
        finally:
            self.transformer.train()


def read_state(data: bytes | Path) -> dict[str, Any]:
    """A state written by :meth:`Trainer.save_state`, on the CPU."""
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    state: dict[str, Any] = torch.load(src, map_location="cpu", weights_only=False)
    return state


def _process_group() -> tuple[int, int]:
    """(world size, rank) of the initialised ``torch.distributed`` group, or (1, 0)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def enable_determinism() -> None:
    """Deterministic kernels (slower): cuBLAS workspace, cuDNN, no TF32, torch's deterministic
    algorithms. With it, a run and its resumed continuation give the same weights on one GPU
    model and software stack."""
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=False)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
