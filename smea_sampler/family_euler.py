"""The Euler side of the family beyond the five (docs/family.md): the CFG++ versions of the four Euler samplers,
Euler a Dy and Euler a Dy CFG++.

Same calling convention as sampling.py. Every sampler here churns with the family's decay (s_dy_pow), reads the
unconditional prediction D_u of each model call through the host's `uncond(x, σ)` (sampling.Unconditional) and,
where it has sub-steps, runs them after the step with the CFG++ move (docs/family.md §3.1).

Pure torch: this module never imports a host.
"""

from __future__ import annotations

import torch
from tqdm.auto import trange

from .sampling import (
    DY_STEPS,
    FLIP_STEPS,
    S_DY_POW,
    SMEA_DY_STEPS,
    SMEA_SCALE,
    SMEA_STEPS,
    Unconditional,
    cfg_pp_step,
    check_dy_pow,
    check_scale,
    euler_churn,
    get_ancestral_step,
    report,
    setup,
    step_set,
)
from .substeps import SubSteps, map_latent_aligned

NO_STEPS = ()


def euler_cfg_pp(sampler, model, x, sigmas, extra_args, callback, disable, churn, noise_sampler, s_dy_pow, uncond,
                 host, dy_steps=NO_STEPS, smea_steps=NO_STEPS, smea_scale=SMEA_SCALE, flip_steps=NO_STEPS):
    """The loop the four Euler CFG++ samplers share: churn; (D, D_u); callback; x ← D + σᵢ₊₁·d_u; then, where
    σᵢ₊₁ > 0, a Dy sub-step on dy_steps, a SMEA one on smea_steps, and the sign flip on flip_steps, in that order.

    churn: (s_churn, s_tmin, s_tmax, s_noise); host: SubSteps' latent_attrs, map_extra_args, fallback, host_state."""
    extra_args, noise_sampler, _ = setup(x, sigmas, extra_args, noise_sampler)
    dy_steps, smea_steps = step_set(dy_steps, "dy_steps"), step_set(smea_steps, "smea_steps")
    s_dy_pow, smea_scale = check_dy_pow(s_dy_pow), check_scale(smea_scale)
    unconditional = Unconditional(uncond, sampler)
    sub = SubSteps(model, extra_args, sampler, *host)
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, *churn, s_dy_pow)
        denoised, uncond_denoised = unconditional.denoise(model, x, sigma_hat, extra_args)
        report(callback, x, i, sigmas, sigma_hat, denoised)
        sigma_next = sigmas[i + 1]
        x = cfg_pp_step(x, sigma_hat, sigma_next, denoised, uncond_denoised)
        if sigma_next > 0:
            move = unconditional.update(sigma_hat, sigma_next)
            if i in dy_steps:
                x = sub.dy(x, sigma_hat, sigma_next - sigma_hat, move)
            if i in smea_steps:
                x = sub.smea(x, sigma_hat, sigma_next - sigma_hat, smea_scale, move)
            if i in flip_steps:
                x = -x
    return x


@torch.no_grad()
def sample_euler_dy_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None,
                           s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                           s_dy_pow=S_DY_POW, dy_steps=DY_STEPS, uncond=None, latent_attrs=(),
                           map_extra_args=map_latent_aligned, fallback=True, host_state=None):
    """Euler Dy CFG++: churned Euler CFG++; after each step of dy_steps, the 2×2 sub-lattice takes a CFG++ step."""
    return euler_cfg_pp(sample_euler_dy_cfg_pp, model, x, sigmas, extra_args, callback, disable,
                        (s_churn, s_tmin, s_tmax, s_noise), noise_sampler, s_dy_pow, uncond,
                        (latent_attrs, map_extra_args, fallback, host_state), dy_steps=dy_steps)


@torch.no_grad()
def sample_euler_smea_dy_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None,
                                s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                                s_dy_pow=S_DY_POW, smea_steps=SMEA_STEPS, smea_dy_steps=SMEA_DY_STEPS,
                                smea_scale=SMEA_SCALE, uncond=None, latent_attrs=(), map_extra_args=map_latent_aligned,
                                fallback=True, host_state=None):
    """Euler SMEA Dy CFG++: churned Euler CFG++; after the step, a Dy sub-step on smea_dy_steps, then a SMEA
    sub-step (the latent enlarged by smea_scale) on smea_steps, each with the CFG++ move."""
    return euler_cfg_pp(sample_euler_smea_dy_cfg_pp, model, x, sigmas, extra_args, callback, disable,
                        (s_churn, s_tmin, s_tmax, s_noise), noise_sampler, s_dy_pow, uncond,
                        (latent_attrs, map_extra_args, fallback, host_state),
                        dy_steps=step_set(smea_dy_steps, "smea_dy_steps"), smea_steps=smea_steps, smea_scale=smea_scale)


@torch.no_grad()
def sample_euler_negative_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None,
                                 s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                                 s_dy_pow=S_DY_POW, uncond=None):
    """Euler Negative CFG++: churned Euler CFG++ whose latent is sign-flipped after steps 2 and 3."""
    return euler_cfg_pp(sample_euler_negative_cfg_pp, model, x, sigmas, extra_args, callback, disable,
                        (s_churn, s_tmin, s_tmax, s_noise), noise_sampler, s_dy_pow, uncond,
                        ((), map_latent_aligned, True, None), flip_steps=FLIP_STEPS)


@torch.no_grad()
def sample_euler_dy_negative_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None,
                                    s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                                    s_dy_pow=S_DY_POW, dy_steps=DY_STEPS, uncond=None, latent_attrs=(),
                                    map_extra_args=map_latent_aligned, fallback=True, host_state=None):
    """Euler Negative Dy CFG++: Euler Negative CFG++ with a CFG++ Dy sub-step on dy_steps, before the flip
    (as the base Negative Dy, so the model sees the unflipped lattice; docs/family.md §3.6)."""
    return euler_cfg_pp(sample_euler_dy_negative_cfg_pp, model, x, sigmas, extra_args, callback, disable,
                        (s_churn, s_tmin, s_tmax, s_noise), noise_sampler, s_dy_pow, uncond,
                        (latent_attrs, map_extra_args, fallback, host_state), dy_steps=dy_steps, flip_steps=FLIP_STEPS)


def euler_ancestral_dy(sampler, model, x, sigmas, extra_args, callback, disable, churn, eta, noise_sampler,
                       s_dy_pow, unconditional):
    """The loop of Euler a Dy and its CFG++: churn; D (and D_u); callback; x ← D + σ_down·d_u, plus σ_up noise.

    The split is from σ̂, not σᵢ: after the churn the latent is at σ̂ (docs/family.md §3.8). Without
    `unconditional` D_u is D, and the move is the plain ancestral Euler step."""
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    s_dy_pow = check_dy_pow(s_dy_pow)
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, *churn, s_dy_pow)
        if unconditional is None:
            denoised = uncond_denoised = model(x, sigma_hat * s_in, **extra_args)
        else:
            denoised, uncond_denoised = unconditional.denoise(model, x, sigma_hat, extra_args)
        sigma_down, sigma_up = get_ancestral_step(sigma_hat, sigmas[i + 1], eta=eta)
        report(callback, x, i, sigmas, sigma_hat, denoised)
        x = cfg_pp_step(x, sigma_hat, sigma_down, denoised, uncond_denoised)
        if sigmas[i + 1] > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * churn[3] * sigma_up
    return x


@torch.no_grad()
def sample_euler_ancestral_dy(model, x, sigmas, extra_args=None, callback=None, disable=None,
                              s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, eta=1.0,
                              noise_sampler=None, s_dy_pow=S_DY_POW):
    """Euler a Dy: the family's churn, then an ancestral Euler step split from σ̂. "Dy" here is the churn."""
    return euler_ancestral_dy(sample_euler_ancestral_dy, model, x, sigmas, extra_args, callback, disable,
                              (s_churn, s_tmin, s_tmax, s_noise), eta, noise_sampler, s_dy_pow, None)


@torch.no_grad()
def sample_euler_ancestral_dy_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None,
                                     s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, eta=1.0,
                                     noise_sampler=None, s_dy_pow=S_DY_POW, uncond=None):
    """Euler a Dy CFG++: Euler a Dy with the CFG++ move, x ← D + σ_down·d_u, before the ancestral noise."""
    return euler_ancestral_dy(sample_euler_ancestral_dy_cfg_pp, model, x, sigmas, extra_args, callback, disable,
                              (s_churn, s_tmin, s_tmax, s_noise), eta, noise_sampler, s_dy_pow,
                              Unconditional(uncond, sample_euler_ancestral_dy_cfg_pp))
