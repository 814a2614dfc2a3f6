"""What the demo and the benchmark share: the reference samplers, SD1's schedule, seeded runs and a model-call log.

Pure torch: this module never imports a host.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from . import reference
from .registry import SamplerInfo, shown
from .sampling import get_sigmas_karras

# The baselines the samplers are compared with; not registered in the WebUI (it has its own).
EULER = SamplerInfo(label="Euler", alias="k_euler", comfy_name="euler", function=reference.sample_euler, params=(),
                    knobs=(), resamples=False, flip_steps=frozenset(), calls_per_step=1,
                    summary="Plain Euler on the probability-flow ODE: deterministic, one call a step.")
EULER_A = SamplerInfo(label="Euler a", alias="k_euler_a", comfy_name="euler_ancestral",
                      function=reference.sample_euler_ancestral, params=("eta", "s_noise"), knobs=(),
                      resamples=False, flip_steps=frozenset(), calls_per_step=1,
                      summary="Euler ancestral: fresh noise after every step, one call a step.")
REFERENCES = (EULER, EULER_A)

SD1_SIGMA_MIN, SD1_SIGMA_MAX = 0.0292, 14.6146  # the ends of SD1's discrete noise schedule


def sd1_sigmas(steps: int, device="cpu") -> torch.Tensor:
    """The Karras schedule over SD1's σ range that the WebUI's "Karras" schedule type gives."""
    return get_sigmas_karras(steps, SD1_SIGMA_MIN, SD1_SIGMA_MAX, device=device)


def select_samplers(text: str | None, available: Sequence[SamplerInfo]) -> list[SamplerInfo]:
    """The samplers named in a comma list of labels (all of available when text is empty), in the list's order."""
    by_label = {info.label.lower(): info for info in available}
    if not text:
        return list(available)
    chosen, unknown = [], []
    for label in (part.strip() for part in text.split(",")):
        if label:
            (chosen if label.lower() in by_label else unknown).append(by_label.get(label.lower(), label))
    if unknown or not chosen:
        raise ValueError(f"unknown sampler {', '.join(map(repr, unknown)) or repr(text)}; "
                         f"choose from: {', '.join(info.label for info in available)}")
    return chosen


def parse_size(text: str) -> tuple[int, int]:
    """A latent size "64" or "64x96" (height × width) as (H, W)."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        size = tuple(int(part) for part in parts)
    except ValueError:
        size = ()
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise argparse.ArgumentTypeError(f"expected a latent size like 64 or 64x96, got {shown(text)}")
    return size


def seeded_start(shape, seed: int, sigma_max, device="cpu"):
    """The start latent σ_max·N(0, I) and a k-diffusion noise sampler that continues the same seeded generator,
    as the WebUI's per-image generator does: a run is a function of the seed alone."""
    generator = torch.Generator(device=device).manual_seed(seed)
    x = torch.randn(shape, generator=generator, device=device) * sigma_max
    return x, lambda sigma, sigma_next: torch.randn(shape, generator=generator, device=device)


@dataclass(frozen=True)
class Call:
    """One model call: the latent's spatial size, its σ and the seconds spent inside the model."""

    size: tuple[int, int]
    sigma: float
    seconds: float = 0.0


class ModelCalls:
    """Wraps a model and logs every call. With a synchronize function (CUDA) the times are the device's."""

    def __init__(self, model: Callable, clock: Callable[[], float] = time.perf_counter,
                 synchronize: Callable[[], None] | None = None):
        self.model = model
        self.clock = clock
        self.synchronize = synchronize or (lambda: None)
        self.calls: list[Call] = []

    def __call__(self, x, sigma, **extra_args):
        self.synchronize()  # the sampler's queued work is the sampler's time, not the model's
        start = self.clock()
        denoised = self.model(x, sigma, **extra_args)
        self.synchronize()
        seconds = self.clock() - start
        self.calls.append(Call(tuple(x.shape[-2:]), float(sigma.flatten()[0]), seconds))
        return denoised

    @property
    def seconds(self) -> float:
        return sum(call.seconds for call in self.calls)

    def by_step(self) -> list[list[Call]]:
        """The calls grouped by sampler step: every call of a step is at that step's σ̂, and σ̂ falls step by step."""
        steps: list[list[Call]] = []
        for call in self.calls:
            if not steps or call.sigma != steps[-1][0].sigma:
                steps.append([])
            steps[-1].append(call)
        return steps


def area_weighted(calls: Sequence[Call], full: tuple[int, int]) -> float:
    """The calls' total latent area in full-size calls: the cost if a call's cost were linear in its area."""
    return sum(call.size[0] * call.size[1] for call in calls) / (full[0] * full[1])


def run_sampler(info: SamplerInfo, model, shape, sigmas: torch.Tensor, seed: int, callback=None,
                uncond=None) -> torch.Tensor:
    """info's sampler at its default knobs from the seed's start latent, without a progress bar; the final latent.

    uncond(x, σ): the unconditional prediction of model's last call, for a CFG++ sampler (docs/family.md §6)."""
    x, noise_sampler = seeded_start(shape, seed, sigmas[0], sigmas.device)
    host = {"uncond": uncond} if info.cfg_pp else {}
    return info.function(model, x, sigmas, callback=callback, disable=True, noise_sampler=noise_sampler, **host)
