"""Reference samplers to compare against: k-diffusion's plain Euler and Euler ancestral ("Euler a").

They are not registered in the WebUI (it has its own); the demo, the benchmark and
the tests use them as the baseline the Euler Smea Dyn family is measured against.
"""

from __future__ import annotations

import torch
from tqdm.auto import trange

from .sampling import get_ancestral_step, report, setup, to_d


@torch.no_grad()
def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None, noise_sampler=None):
    """Euler's method on the probability-flow ODE (Karras et al. 2022, Algorithm 2 without churn)."""
    extra_args, _, s_in = setup(x, sigmas, extra_args, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        report(callback, x, i, sigmas, sigmas[i], denoised)
        x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
    return x


@torch.no_grad()
def sample_euler_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None,
                           eta=1.0, s_noise=1.0, noise_sampler=None):
    """Euler ancestral ("Euler a"): an Euler step down to σ_down, then fresh noise up to σ_next."""
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta=eta)
        report(callback, x, i, sigmas, sigmas[i], denoised)
        x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x
