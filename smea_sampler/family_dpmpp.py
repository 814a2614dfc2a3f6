"""The DPM++ side of the family beyond the five (docs/family.md): DPM++ 2M Dy, its CFG++, DPM++ 3M SDE Dy and
DPM++ 3M Dy.

Same calling convention as sampling.py. Each is the family's churn (with the s_dy_pow decay, worked out afresh
on every step), then the stock DPM-Solver++ update from σ̂ to σᵢ₊₁; none has a sub-step. Their multistep
history uses each step's own σ̂.

Pure torch: this module never imports a host.
"""

from __future__ import annotations

import torch
from tqdm.auto import trange

from .sampling import S_DY_POW, Unconditional, check_dy_pow, euler_churn, report, setup


def dpmpp_2m_dy(model, x, sigmas, extra_args, callback, disable, churn, noise_sampler, s_dy_pow, unconditional):
    """The loop of DPM++ 2M Dy and its CFG++: churn; D (and D_u); callback; then from σ̂ to σᵢ₊₁, with
    h = log(σ̂/σᵢ₊₁) and r = h_prev/h: x ← D + e^{−h}·(x − D_u) − expm1(−h)/(2r)·(D − D_u,prev), the correction on
    every step but the first (Euler CFG++) and the last (which lands on D).

    Without `unconditional` D_u is D, and the update is DPM-Solver++(2M) itself: e^{−h}·x − expm1(−h)·((1 + 1/2r)·D
    − (1/2r)·D_prev). h_prev is the previous step's h, itself from its own σ̂."""
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    s_dy_pow = check_dy_pow(s_dy_pow)
    old_uncond_denoised, h_last = None, None
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, *churn, s_dy_pow)
        if unconditional is None:
            denoised = uncond_denoised = model(x, sigma_hat * s_in, **extra_args)
        else:
            denoised, uncond_denoised = unconditional.denoise(model, x, sigma_hat, extra_args)
        report(callback, x, i, sigmas, sigma_hat, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = sigma_hat.log() - sigmas[i + 1].log()
            x = denoised + torch.exp(-h) * (x - uncond_denoised)
            if old_uncond_denoised is not None:
                r = h_last / h
                x = x - torch.expm1(-h) / (2 * r) * (denoised - old_uncond_denoised)
            h_last = h
        old_uncond_denoised = uncond_denoised
    return x


@torch.no_grad()
def sample_dpmpp_2m_dy(model, x, sigmas, extra_args=None, callback=None, disable=None,
                       s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                       s_dy_pow=S_DY_POW):
    """DPM++ 2M Dy: the family's churn, then DPM-Solver++(2M) from σ̂."""
    return dpmpp_2m_dy(model, x, sigmas, extra_args, callback, disable, (s_churn, s_tmin, s_tmax, s_noise),
                       noise_sampler, s_dy_pow, None)


@torch.no_grad()
def sample_dpmpp_2m_dy_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None,
                              s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                              s_dy_pow=S_DY_POW, uncond=None):
    """DPM++ 2M Dy CFG++: DPM++ 2M Dy moved with the unconditional prediction, landing on the guided one."""
    return dpmpp_2m_dy(model, x, sigmas, extra_args, callback, disable, (s_churn, s_tmin, s_tmax, s_noise),
                       noise_sampler, s_dy_pow, Unconditional(uncond, sample_dpmpp_2m_dy_cfg_pp))


@torch.no_grad()
def sample_dpmpp_3m_sde_dy(model, x, sigmas, extra_args=None, callback=None, disable=None,
                           s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, eta=1.0,
                           noise_sampler=None, s_dy_pow=S_DY_POW):
    """DPM++ 3M SDE Dy: the family's churn, then DPM-Solver++(3M) SDE from σ̂.

    γ is worked out afresh on every step (the peers compounded it), and the SDE noise comes from
    noise_sampler, seeded by the host, one draw per step with σᵢ₊₁ > 0 when eta > 0."""
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    s_dy_pow = check_dy_pow(s_dy_pow)
    denoised_1, denoised_2, h, h_1, h_2 = None, None, None, None, None
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, s_churn, s_tmin, s_tmax, s_noise, s_dy_pow)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        report(callback, x, i, sigmas, sigma_hat, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = sigma_hat.log() - sigmas[i + 1].log()
            h_eta = h * (eta + 1)
            x = torch.exp(-h_eta) * x - torch.expm1(-h_eta) * denoised
            phi_2 = torch.expm1(-h_eta) / h_eta + 1
            if h_2 is not None:
                r0, r1 = h_1 / h, h_2 / h
                d1_0 = (denoised - denoised_1) / r0
                d1_1 = (denoised_1 - denoised_2) / r1
                d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                x = x + phi_2 * d1 - (phi_2 / h_eta - 0.5) * d2
            elif h_1 is not None:
                x = x + phi_2 * (denoised - denoised_1) / (h_1 / h)
            if eta:
                noise = noise_sampler(sigmas[i], sigmas[i + 1])
                x = x + noise * sigmas[i + 1] * (-torch.expm1(-2 * h * eta)).sqrt() * s_noise
        denoised_1, denoised_2 = denoised, denoised_1
        h_1, h_2 = h, h_1
    return x


@torch.no_grad()
def sample_dpmpp_3m_dy(model, x, sigmas, extra_args=None, callback=None, disable=None,
                       s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                       s_dy_pow=S_DY_POW):
    """DPM++ 3M Dy: DPM++ 3M SDE Dy at eta 0, so no noise enters after the churn."""
    return sample_dpmpp_3m_sde_dy(model, x, sigmas, extra_args, callback, disable, s_churn, s_tmin, s_tmax,
                                  s_noise, eta=0.0, noise_sampler=noise_sampler, s_dy_pow=s_dy_pow)
