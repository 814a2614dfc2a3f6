"""The five samplers of the Euler Smea Dyn family, in k-diffusion's calling convention, and the helpers
the whole family shares (family_euler.py and family_dpmpp.py hold the rest, docs/family.md).

Every sampler is `sample_x(model, x, sigmas, extra_args=None, callback=None,
disable=None, **params)`: `model(x, sigma[B], **extra_args)` returns the
denoised prediction, the loop runs under a tqdm bar, `callback` gets
k-diffusion's dict once per step, and every unit noise comes from
`noise_sampler(sigma, sigma_next)`. The behaviour is SAMPLERS.md's; the
comments point at its sections where a quirk of the original is kept on purpose.

The samplers with sub-steps also take what a host must say about its latent-aligned state
(SAMPLERS.md §4): `latent_attrs`, `map_extra_args`, `fallback` and `host_state` (see substeps.SubSteps).

Pure torch: this module never imports a host.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable

import torch
from tqdm.auto import trange

from .substeps import SubSteps, Update, map_latent_aligned

logger = logging.getLogger("smea_sampler")

SQRT2_MINUS_1 = math.sqrt(2) - 1
FLIP_STEPS = frozenset({2, 3})  # where the Negative samplers flip the sign (SAMPLERS.md §3)
DY_STEPS = (2, 3)
SMEA_STEPS = (0,)
SMEA_DY_STEPS = (1,)
SMEA_SCALE = 1.25
SMEA_SCALE_RANGE = (1.0, 4.0)  # an enlargement; past 4× the call costs 16× a full one for no known gain
# Bounds on a knob's step list, so that a value from the API, an infotext or an X/Y/Z cell stays sane (and
# short in the infotext). An index past a run's last step is harmless: that step never comes.
MAX_STEP_INDEX = 999
MAX_LISTED_STEPS = 100
S_DY_POW = -1.0  # the churn decay's power; negative: no decay (docs/family.md §1)
S_DY_POW_RANGE = (-1.0, 16.0)  # every p < 0 means the same; past 16 the decay only touches the last step or two


def to_d(x, sigma, denoised):
    """The ODE derivative dx/dσ = (x − D) / σ."""
    return (x - denoised) / sigma


def get_ancestral_step(sigma_from, sigma_to, eta=1.0):
    """The (σ_down, σ_up) split of an ancestral step from sigma_from to sigma_to."""
    if not eta:
        return sigma_to, 0.0
    sigma_up = min(sigma_to, eta * (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5)
    sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
    return sigma_down, sigma_up


def get_sigmas_karras(n, sigma_min, sigma_max, rho=7.0, device="cpu"):
    """Karras et al. (2022) noise levels: n values from sigma_max down to sigma_min, then 0."""
    ramp = torch.linspace(0, 1, n, device=device)
    min_inv_rho, max_inv_rho = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def default_noise_sampler(x):
    """Unit Gaussian noise shaped like x from torch's global generator (hosts pass a seeded one)."""
    return lambda sigma, sigma_next: torch.randn_like(x)


def inject_churn(x, sigma, gamma, noise):
    """Raise x's noise level from σ to σ̂ = σ(1 + γ) with noise·√(σ̂² − σ²); returns (x, σ̂)."""
    sigma_hat = sigma * (gamma + 1)
    if gamma > 0:
        x = x + noise * (sigma_hat**2 - sigma**2) ** 0.5
    return x, sigma_hat


def churn_decay(i, steps, s_dy_pow):
    """The factor s_dy_pow = p ≥ 0 puts on γ at step i of steps (docs/family.md §1); 1 when p < 0.

    1 − (i/(N−1))ᵖ, with 0⁰ taken as 0 (step 0 always churns fully, the limit p → 0⁺) and 1 for a one-step
    run: the peers' form turned churn off on every step at p = 0 and divided by zero at one step."""
    if s_dy_pow < 0 or steps == 1 or i == 0:
        return 1.0
    return 1.0 - (i / (steps - 1)) ** s_dy_pow


def euler_churn(x, sigmas, i, noise_sampler, s_churn, s_tmin, s_tmax, s_noise, s_dy_pow=-1.0):
    """The churn preamble of the Euler family (SAMPLERS.md §1), with the family's decay (docs/family.md §1;
    off by default, as for the five); returns (x, σ̂)."""
    sigma = sigmas[i]
    steps = len(sigmas) - 1
    # max, not k-diffusion's min: γ = √2 − 1 on every step is what makes these
    # samplers behave like Euler a (SAMPLERS.md §1).
    gamma = max(s_churn / steps, SQRT2_MINUS_1) if s_tmin <= sigma <= s_tmax else 0.0
    gamma *= churn_decay(i, steps, s_dy_pow)
    eps = noise_sampler(sigma, sigmas[i + 1]) * s_noise  # drawn every step, even when γ = 0
    # The original subtracts the noise; the sign is kept for the look.
    return inject_churn(x, sigma, gamma, -eps)


def step_set(steps: Iterable[int], name: str) -> frozenset[int]:
    """Validate a knob's step indices (counted from 0, as the loop's i)."""
    steps = frozenset(steps)
    if len(steps) > MAX_LISTED_STEPS:
        raise ValueError(f"{name} lists {len(steps)} steps; at most {MAX_LISTED_STEPS} are allowed")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_STEP_INDEX for i in steps):
        shown = sorted(steps, key=str)[:10]
        raise ValueError(f"{name} must be step indices from 0 to {MAX_STEP_INDEX} (counted from 0), got {shown}")
    return steps


def check_dy_pow(s_dy_pow: float) -> float:
    """Validate s_dy_pow: a number within S_DY_POW_RANGE (−1, the lowest, turns the decay off)."""
    low, high = S_DY_POW_RANGE
    if not low <= float(s_dy_pow) <= high:  # also refuses nan
        raise ValueError(f"s_dy_pow must be between {low:g} and {high:g}, got {s_dy_pow}")
    return float(s_dy_pow)


def check_scale(scale: float) -> float:
    """Validate the SMEA scale: an enlargement within SMEA_SCALE_RANGE."""
    low, high = SMEA_SCALE_RANGE
    if not low <= scale <= high:
        raise ValueError(f"smea_scale must be between {low:g} and {high:g}, got {scale}")
    return float(scale)


def setup(x, sigmas, extra_args, noise_sampler):
    """Check the inputs shared by every sampler; returns (extra_args, noise_sampler, ones[B])."""
    if x.ndim < 3:
        raise ValueError(f"x must be a batch of latents (B, ..., H, W), got shape {tuple(x.shape)}")
    if sigmas.ndim != 1:
        raise ValueError(f"sigmas must be 1-D, got shape {tuple(sigmas.shape)}")
    extra_args = {} if extra_args is None else extra_args
    noise_sampler = default_noise_sampler(x) if noise_sampler is None else noise_sampler
    return extra_args, noise_sampler, x.new_ones([x.shape[0]])


def cfg_pp_step(x, sigma_hat, sigma_to, denoised, uncond_denoised):
    """CFG++'s move of x from σ̂ to sigma_to: D + sigma_to·(x − D_u)/σ̂ (docs/family.md §1).

    With D_u = D it is exactly the plain Euler step x + (sigma_to − σ̂)·(x − D)/σ̂."""
    return denoised + sigma_to * to_d(x, sigma_hat, uncond_denoised)


Uncond = Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | None"]


class Unconditional:
    """The unconditional prediction D_u of each model call of a CFG++ sampler (docs/family.md §6).

    uncond(x, σ) is the host's: called right after the model call at (x, σ), it returns that call's D_u, or
    None where the host has none (it skipped the uncond on that step; a WebUI too old to expose it). Such a call
    takes D_u = D, which makes its step the plain one, and the log says so once per run: D_u is never silently
    0, nor the unguided cond prediction."""

    def __init__(self, uncond: Uncond | None, sampler: Callable):
        self.uncond = uncond
        self.sampler = sampler
        self.warned = False

    def denoise(self, model, x, sigma_hat, extra_args):
        """(D, D_u) of one model call at (x, σ̂)."""
        denoised = model(x, sigma_hat * x.new_ones([x.shape[0]]), **extra_args)
        return denoised, self.of(x, sigma_hat, denoised)

    def of(self, x, sigma_hat, denoised):
        """D_u of the model call that just returned denoised at (x, σ̂)."""
        uncond_denoised = None if self.uncond is None else self.uncond(x, sigma_hat)
        if uncond_denoised is not None and uncond_denoised.shape == denoised.shape:
            return uncond_denoised.to(denoised.dtype)
        if not self.warned:
            self.warned = True
            logger.warning("%s: the host gave no unconditional prediction for a model call (%s); such a call's step "
                           "runs as the plain, non-CFG++ step (further ones in this run are not logged)",
                           self.sampler.__name__,
                           "it gives none here" if uncond_denoised is None else
                           f"its shape {tuple(uncond_denoised.shape)} is not the latent's {tuple(denoised.shape)}")
        return denoised

    def update(self, sigma_hat, sigma_to) -> Update:
        """A sub-step's CFG++ move to sigma_to, from the sub-step call's own D and D_u."""
        return lambda c, denoised: cfg_pp_step(c, sigma_hat, sigma_to, denoised, self.of(c, sigma_hat, denoised))


def post_cfg_uncond():
    """(post_cfg_function, uncond) for the hosts that run ComfyUI's sampler_post_cfg_function hooks (ComfyUI, and
    reForge through its ldm_patched copy of that code): the function records each call's uncond_denoised, or None
    where the call had no uncond pass (args["uncond"] is None: the host filled the prediction with zeros), and
    hands the guided prediction on unchanged; uncond(x, σ) then gives the recorded D_u once."""
    recorded = {}

    def post_cfg_function(args):
        recorded["uncond"] = None if args.get("uncond") is None else args.get("uncond_denoised")
        return args["denoised"]

    return post_cfg_function, lambda x, sigma: recorded.pop("uncond", None)


def report(callback, x, i, sigmas, sigma_hat, denoised):
    if callback is not None:
        callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigma_hat, "denoised": denoised})


@torch.no_grad()
def sample_euler_dy(model, x, sigmas, extra_args=None, callback=None, disable=None,
                    s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                    dy_steps=DY_STEPS, latent_attrs=(), map_extra_args=map_latent_aligned, fallback=True,
                    host_state=None):
    """Euler Dy: churned Euler; on dy_steps the 2×2 sub-lattice also takes its own Euler step."""
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    dy_steps = step_set(dy_steps, "dy_steps")
    sub = SubSteps(model, extra_args, sample_euler_dy, latent_attrs, map_extra_args, fallback, host_state)
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, s_churn, s_tmin, s_tmax, s_noise)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        if sigmas[i + 1] > 0 and i in dy_steps:
            x = sub.dy(x, sigma_hat, dt)
        report(callback, x, i, sigmas, sigma_hat, denoised)
        # d is the one from before the Dy step, so the lattice moves twice (original look, SAMPLERS.md §3).
        x = x + d * dt
    return x


@torch.no_grad()
def sample_euler_smea_dy(model, x, sigmas, extra_args=None, callback=None, disable=None,
                         s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                         smea_steps=SMEA_STEPS, smea_dy_steps=SMEA_DY_STEPS, smea_scale=SMEA_SCALE,
                         latent_attrs=(), map_extra_args=map_latent_aligned, fallback=True, host_state=None):
    """Euler SMEA Dy: churned Euler, then a SMEA sub-step on smea_steps and a Dy sub-step on smea_dy_steps.

    The defaults are the released look: SMEA after step 0, Dy after step 1 (the
    original's `i + 1 // 2` test, SAMPLERS.md §3). A step in both runs Dy, then SMEA.
    """
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    smea_steps = step_set(smea_steps, "smea_steps")
    smea_dy_steps = step_set(smea_dy_steps, "smea_dy_steps")
    smea_scale = check_scale(smea_scale)
    sub = SubSteps(model, extra_args, sample_euler_smea_dy, latent_attrs, map_extra_args, fallback, host_state)
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, s_churn, s_tmin, s_tmax, s_noise)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        x = x + d * dt
        if sigmas[i + 1] > 0:
            if i in smea_dy_steps:
                x = sub.dy(x, sigma_hat, dt)
            if i in smea_steps:
                x = sub.smea(x, sigma_hat, dt, smea_scale)
        report(callback, x, i, sigmas, sigma_hat, denoised)
    return x


@torch.no_grad()
def sample_euler_negative(model, x, sigmas, extra_args=None, callback=None, disable=None,
                          s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None):
    """Euler Negative: churned Euler whose latent is sign-flipped after steps 2 and 3.

    The two flips cancel; the model sees the negated latent at step 3.
    """
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, s_churn, s_tmin, s_tmax, s_noise)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        report(callback, x, i, sigmas, sigma_hat, denoised)
        x = x + d * dt
        if sigmas[i + 1] > 0 and i in FLIP_STEPS:
            x = -x
    return x


@torch.no_grad()
def sample_euler_dy_negative(model, x, sigmas, extra_args=None, callback=None, disable=None,
                             s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, noise_sampler=None,
                             dy_steps=DY_STEPS, latent_attrs=(), map_extra_args=map_latent_aligned, fallback=True,
                             host_state=None):
    """Euler Negative Dy: Euler Negative with a Dy sub-step on dy_steps, before the step and its flip."""
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    dy_steps = step_set(dy_steps, "dy_steps")
    sub = SubSteps(model, extra_args, sample_euler_dy_negative, latent_attrs, map_extra_args, fallback, host_state)
    for i in trange(len(sigmas) - 1, disable=disable):
        x, sigma_hat = euler_churn(x, sigmas, i, noise_sampler, s_churn, s_tmin, s_tmax, s_noise)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        report(callback, x, i, sigmas, sigma_hat, denoised)
        if sigmas[i + 1] > 0 and i in dy_steps:
            x = sub.dy(x, sigma_hat, dt)
        x = x + d * dt
        if sigmas[i + 1] > 0 and i in FLIP_STEPS:
            x = -x
    return x


@torch.no_grad()
def sample_kohaku_lonyu_yog(model, x, sigmas, extra_args=None, callback=None, disable=None,
                            s_churn=0.0, s_tmin=0.0, s_tmax=float("inf"), s_noise=1.0, eta=1.0,
                            noise_sampler=None):
    """Kohaku_LoNyu_Yog: in the first half of the run, an ancestral step whose slope averages in
    the model's view of the negated latent; plain Euler in the second half.

    The second half adds no noise, and the slope is evaluated at σ̂ over σ_down − σᵢ:
    the released look (SAMPLERS.md §3).
    """
    extra_args, noise_sampler, s_in = setup(x, sigmas, extra_args, noise_sampler)
    steps = len(sigmas) - 1
    for i in trange(steps, disable=disable):
        sigma = sigmas[i]
        gamma = min(s_churn / steps, SQRT2_MINUS_1) if s_tmin <= sigma <= s_tmax else 0.0
        eps = noise_sampler(sigma, sigmas[i + 1]) * s_noise
        x, sigma_hat = inject_churn(x, sigma, gamma, eps)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        d = to_d(x, sigma_hat, denoised)
        sigma_down, sigma_up = get_ancestral_step(sigma, sigmas[i + 1], eta=eta)
        report(callback, x, i, sigmas, sigma_hat, denoised)
        dt = sigma_down - sigma
        if i <= steps / 2:
            x_neg = -x
            d_neg = to_d(x_neg, sigma_hat, model(x_neg, sigma_hat * s_in, **extra_args))
            x_mid = x + dt * (d + d_neg) / 2
            d_mid = to_d(x_mid, sigma_hat, model(x_mid, sigma_hat * s_in, **extra_args))
            x = x + dt * (d + d_mid) / 2 + noise_sampler(sigma, sigmas[i + 1]) * s_noise * sigma_up
        else:
            x = x + d * dt
    return x
