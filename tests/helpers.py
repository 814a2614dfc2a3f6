"""Shared test material for the smea_sampler package: analytic models, seeded noise, schedules.

Everything here is pure torch and runs on the CPU.
"""

from __future__ import annotations

import math

import torch

from smea_sampler.runs import sd1_sigmas

karras = sd1_sigmas  # the WebUI's Karras schedule over SD1's σ range


def odd_model(x, sigma, **extra_args):
    """The exact denoiser of N(0, 1) data: D(x, σ) = x / (1 + σ²). Odd: D(−x) = −D(x)."""
    return x / (1 + sigma.reshape(-1, *[1] * (x.ndim - 1)) ** 2)


class GaussianDenoiser:
    """The exact denoiser of data ~ N(mean_c, var_c) per channel, at any spatial size."""

    def __init__(self, mean, var):
        self.mean = torch.as_tensor(mean, dtype=torch.float64)
        self.var = torch.as_tensor(var, dtype=torch.float64)

    def __call__(self, x, sigma, **extra_args):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = self.mean.to(x.dtype).reshape(shape)
        var = self.var.to(x.dtype).reshape(shape)
        s2 = sigma.reshape(-1, *[1] * (x.ndim - 1)) ** 2
        return mean + (x - mean) * var / (var + s2)


class CallLog:
    """Wraps a model and records every call: its input, sigma vector and extra_args."""

    def __init__(self, model=odd_model):
        self.model = model
        self.calls = []

    def __call__(self, x, sigma, **extra_args):
        self.calls.append({"x": x.clone(), "sigma": sigma.clone(), "extra_args": extra_args})
        return self.model(x, sigma, **extra_args)

    @property
    def sizes(self):
        return [tuple(call["x"].shape[-2:]) for call in self.calls]

    def steps(self, sigma_hats):
        """The step of each call, found from its sigma among the run's σ̂ᵢ (every call of step i is at σ̂ᵢ)."""
        hats = torch.as_tensor(sigma_hats, dtype=torch.float32)
        return [int((hats - call["sigma"][0]).abs().argmin()) for call in self.calls]


def seeded_noise(seed: int):
    """A k-diffusion noise sampler drawing from one seeded generator; returns a factory over x."""
    generator = torch.Generator().manual_seed(seed)
    return lambda x: (lambda sigma, sigma_next: torch.randn(x.shape, generator=generator).to(x.dtype))


def per_sample_noise(seeds, shape):
    """Like the WebUI's ImageRNG: one generator per image, so image k depends on seeds[k] only."""
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]

    def draw():
        return torch.stack([torch.randn(shape, generator=g) for g in generators])

    return draw


def churned_euler(model, x, sigmas, noise, s_churn=0.0, s_tmin=0.0, s_tmax=math.inf, s_noise=1.0):
    """SAMPLERS.md §1 written out plainly: the base every Euler-family sampler reduces to."""
    n = len(sigmas) - 1
    for i in range(n):
        sigma = sigmas[i]
        gamma = max(s_churn / n, math.sqrt(2) - 1) if s_tmin <= sigma <= s_tmax else 0.0
        eps = noise(sigma, sigmas[i + 1]) * s_noise
        sigma_hat = sigma * (1 + gamma)
        if gamma > 0:
            x = x - eps * (sigma_hat**2 - sigma**2).sqrt()
        denoised = model(x, sigma_hat * x.new_ones(x.shape[0]))
        x = x + (x - denoised) / sigma_hat * (sigmas[i + 1] - sigma_hat)
    return x
