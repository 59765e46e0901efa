"""Timesteps, noise and learning rate of a training step, all reproducible from (seed, step).

Timesteps follow FIBO's training: a logit-normal sigma whose mean shifts with the image's token
count (0.5 at 256 tokens to 1.15 at 4096, as the inference scheduler's dynamic shift does), mixed
with 10% uniform sigmas so that every noise level keeps being seen.
"""

from __future__ import annotations

from typing import Any

import torch

MIN_TOKENS, MAX_TOKENS = 256, 4096
MIN_SHIFT, MAX_SHIFT = 0.5, 1.15
UNIFORM_PROB = 0.1
LOGIT_STD = 1.0
SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
)


def shift_for(seq_len: int) -> float:
    """Mean of the logit-normal for an image of ``seq_len`` latent tokens (linear in seq_len)."""
    slope = (MAX_SHIFT - MIN_SHIFT) / (MAX_TOKENS - MIN_TOKENS)
    return MIN_SHIFT + slope * (seq_len - MIN_TOKENS)


def step_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator for one micro-batch: the same (seed, index) always draws the same numbers."""
    return torch.Generator(device="cpu").manual_seed((seed * 1_000_003 + index) % (2**63 - 1))


def sample_sigmas(gen: torch.Generator, batch: int, seq_len: int) -> torch.Tensor:
    """Sigmas in (0, 1): shifted logit-normal, or uniform with probability ``UNIFORM_PROB``."""
    use_uniform = torch.rand(batch, generator=gen) < UNIFORM_PROB
    uniform = torch.rand(batch, generator=gen)
    logit = torch.randn(batch, generator=gen) * LOGIT_STD + shift_for(seq_len)
    return torch.where(use_uniform, uniform, torch.sigmoid(logit))


def data_order(seed: int, epoch: int, n: int) -> list[int]:
    """The dataset's order in ``epoch``: a permutation seeded by (seed, epoch)."""
    gen = torch.Generator(device="cpu").manual_seed(seed * 7919 + epoch)
    return torch.randperm(n, generator=gen).tolist()


def make_lr_scheduler(
    optimizer: torch.optim.Optimizer, name: str, warmup_steps: int, total_steps: int
) -> Any:
    """One of the six schedulers of the contract (diffusers' implementations)."""
    from diffusers.optimization import get_scheduler

    if name not in SCHEDULERS:
        raise ValueError(f"unknown lr_scheduler {name!r}")
    return get_scheduler(
        name, optimizer=optimizer, num_warmup_steps=warmup_steps, num_training_steps=total_steps
    )


LR_CURVE_POINTS = 200


def lr_curve(
    name: str, learning_rate: float, warmup_steps: int, total_steps: int, *, points: int = LR_CURVE_POINTS
) -> list[list[float]]:
    """``[step, lr]`` of a whole run as the trainer's scheduler computes it: the learning rate the
    optimizer step ``step`` (1 to ``total_steps``) uses. It runs ``make_lr_scheduler`` itself on a
    throwaway optimizer, so the curve is the schedule, not a copy of its formula. Long runs are
    thinned to about ``points`` points, keeping the first step, the end of the warm-up and the last."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=learning_rate)
    scheduler = make_lr_scheduler(optimizer, name, warmup_steps, total_steps)
    every = max(1, -(-total_steps // points))
    keep = {1, total_steps, warmup_steps, warmup_steps + 1}
    out: list[list[float]] = []
    for step in range(1, total_steps + 1):
        lr = float(optimizer.param_groups[0]["lr"])
        if step in keep or step % every == 0:
            out.append([step, float(f"{lr:.6g}")])
        optimizer.step()  # no gradient: the parameter stays; only the schedule advances
        scheduler.step()
    return out
