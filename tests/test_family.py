"""The family beyond the five, against oracles written from docs/family.md, given identical noise.

Each oracle transcribes the definition plainly in float64, with its own churn, split and multistep terms,
sharing nothing with smea_sampler.sampling but the noise stream.
"""

from __future__ import annotations

import logging
import math

import pytest
import torch

from smea_sampler.family_dpmpp import (
    sample_dpmpp_2m_dy,
    sample_dpmpp_2m_dy_cfg_pp,
    sample_dpmpp_3m_dy,
    sample_dpmpp_3m_sde_dy,
)
from smea_sampler.family_euler import (
    sample_euler_ancestral_dy,
    sample_euler_ancestral_dy_cfg_pp,
    sample_euler_dy_cfg_pp,
    sample_euler_dy_negative_cfg_pp,
    sample_euler_negative_cfg_pp,
    sample_euler_smea_dy_cfg_pp,
)
from smea_sampler.sampling import churn_decay
from tests.helpers import GaussianDenoiser, karras

MODEL = GaussianDenoiser(mean=[0.3, -0.2, 0.1, 0.0], var=[0.5, 1.0, 1.5, 2.0])


def noise_stream(seed):
    """A noise sampler for x that logs its draws, and a replay of those draws for the oracle."""
    generator = torch.Generator().manual_seed(seed)
    drawn = []

    def draw(sigma, sigma_next):
        drawn.append(torch.randn(2, 4, 6, 5, generator=generator))
        return drawn[-1]

    return draw, drawn


def oracle_churn(x, sigmas, i, eps, s_churn, s_tmin, s_tmax, s_noise, p):
    n = len(sigmas) - 1
    sigma = float(sigmas[i])
    gamma = max(s_churn / n, math.sqrt(2) - 1) if s_tmin <= sigma <= s_tmax else 0.0
    if p >= 0 and n > 1 and i > 0:
        gamma *= 1 - (i / (n - 1)) ** p
    sigma_hat = sigma * (1 + gamma)
    return x - s_noise * eps * math.sqrt(sigma_hat**2 - sigma**2), sigma_hat


def denoise(x, sigma_hat):
    return MODEL(x, torch.full((x.shape[0],), sigma_hat, dtype=x.dtype))


def oracle_euler_a_dy(x, sigmas, noise, eta, churn):
    for i in range(len(sigmas) - 1):
        x, sigma_hat = oracle_churn(x, sigmas, i, noise.pop(0), *churn)
        d = (x - denoise(x, sigma_hat)) / sigma_hat
        nxt = float(sigmas[i + 1])
        up = min(nxt, eta * math.sqrt(nxt**2 * (sigma_hat**2 - nxt**2) / sigma_hat**2))
        down = math.sqrt(nxt**2 - up**2)
        x = x + d * (down - sigma_hat)
        if nxt > 0:
            x = x + churn[3] * up * noise.pop(0)
    return x


def oracle_dpmpp_2m_dy(x, sigmas, noise, churn):
    previous = None  # (D, h) of the step before
    for i in range(len(sigmas) - 1):
        x, sigma_hat = oracle_churn(x, sigmas, i, noise.pop(0), *churn)
        big_d = denoise(x, sigma_hat)
        nxt = float(sigmas[i + 1])
        if nxt == 0:
            x = big_d
            continue
        h = math.log(sigma_hat / nxt)
        mix = big_d
        if previous is not None:
            r = previous[1] / h
            mix = (1 + 1 / (2 * r)) * big_d - previous[0] / (2 * r)
        x = nxt / sigma_hat * x + (1 - math.exp(-h)) * mix
        previous = (big_d, h)
    return x


def oracle_dpmpp_3m_sde_dy(x, sigmas, noise, eta, churn):
    history = []  # (D, h) of the steps before, newest first
    h = None
    for i in range(len(sigmas) - 1):
        x, sigma_hat = oracle_churn(x, sigmas, i, noise.pop(0), *churn)
        big_d = denoise(x, sigma_hat)
        nxt = float(sigmas[i + 1])
        if nxt == 0:
            x = big_d
        else:
            h = math.log(sigma_hat / nxt)
            he = (1 + eta) * h
            phi2 = (math.exp(-he) - 1) / he + 1
            x = math.exp(-he) * x + (1 - math.exp(-he)) * big_d
            if len(history) >= 2:
                (d_1, h_1), (d_2, h_2) = history[0], history[1]
                r0, r1 = h_1 / h, h_2 / h
                first, second = (big_d - d_1) / r0, (d_1 - d_2) / r1
                d1 = first + (first - second) * r0 / (r0 + r1)
                d2 = (first - second) / (r0 + r1)
                x = x + phi2 * d1 - (phi2 / he - 0.5) * d2
            elif len(history) == 1:
                x = x + phi2 * (big_d - history[0][0]) * h / history[0][1]
            if eta:
                x = x + nxt * math.sqrt(1 - math.exp(-2 * eta * h)) * churn[3] * noise.pop(0)
        history.insert(0, (big_d, h))
    return x


CHURNS = {"defaults": (0.0, 0.0, math.inf, 1.0, -1.0), "decay p=2": (0.0, 0.0, math.inf, 1.0, 2.0),
          "decay p=0": (0.0, 0.0, math.inf, 0.7, 0.0), "s_churn, tmin/tmax": (40.0, 0.5, 5.0, 1.0, 1.5)}


def run_both(sampler, oracle, steps, churn, seed=3, **params):
    x = torch.randn(2, 4, 6, 5, generator=torch.Generator().manual_seed(seed)) * 14.6
    sigmas = karras(steps)
    draw, drawn = noise_stream(seed)
    s_churn, s_tmin, s_tmax, s_noise, s_dy_pow = churn
    ours = sampler(MODEL, x, sigmas, disable=True, noise_sampler=draw, s_churn=s_churn, s_tmin=s_tmin,
                   s_tmax=s_tmax, s_noise=s_noise, s_dy_pow=s_dy_pow, **params)
    replay = [noise.double() for noise in drawn]
    expected = oracle(x.double(), sigmas.double(), replay, *params.values(), churn)
    assert not replay  # the oracle used exactly the draws the sampler made, in its order
    return ours, expected


@pytest.mark.parametrize("churn", CHURNS.values(), ids=CHURNS.keys())
@pytest.mark.parametrize("steps", [1, 2, 3, 6, 10])
@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_euler_a_dy_is_its_definition(steps, churn, eta):
    ours, expected = run_both(sample_euler_ancestral_dy, oracle_euler_a_dy, steps, churn, eta=eta)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("churn", CHURNS.values(), ids=CHURNS.keys())
@pytest.mark.parametrize("steps", [1, 2, 3, 6, 10])
def test_dpmpp_2m_dy_is_its_definition(steps, churn):
    ours, expected = run_both(sample_dpmpp_2m_dy, oracle_dpmpp_2m_dy, steps, churn)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("churn", CHURNS.values(), ids=CHURNS.keys())
@pytest.mark.parametrize("steps", [1, 2, 3, 6, 10])
@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_dpmpp_3m_sde_dy_is_its_definition(steps, churn, eta):
    ours, expected = run_both(sample_dpmpp_3m_sde_dy, oracle_dpmpp_3m_sde_dy, steps, churn, eta=eta)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)


def test_dpmpp_3m_dy_is_the_sde_at_eta_0():
    x = torch.randn(1, 4, 6, 5, generator=torch.Generator().manual_seed(1)) * 14.6
    first, _ = noise_stream(5)
    second, _ = noise_stream(5)
    torch.testing.assert_close(sample_dpmpp_3m_dy(MODEL, x, karras(8), disable=True, noise_sampler=first),
                               sample_dpmpp_3m_sde_dy(MODEL, x, karras(8), disable=True, noise_sampler=second,
                                                      eta=0.0), rtol=0, atol=0)


def test_the_decay_has_no_edge_case_holes():
    assert [churn_decay(i, 5, -1.0) for i in range(5)] == [1.0] * 5  # off
    assert [churn_decay(i, 5, 0.0) for i in range(5)] == [1.0, 0.0, 0.0, 0.0, 0.0]  # the limit p → 0⁺
    assert [churn_decay(i, 5, 1.0) for i in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert churn_decay(0, 1, 2.0) == 1.0  # one step: no division by N − 1 = 0


@pytest.mark.parametrize("sampler", [sample_euler_ancestral_dy, sample_dpmpp_2m_dy, sample_dpmpp_3m_sde_dy])
def test_gamma_never_compounds_across_steps(sampler):
    """Each step's σ̂ is σᵢ·(1 + γᵢ) with γᵢ from step i alone (the peers' DPM++ SDE Dy compounded it)."""
    seen = []

    def model(x, sigma, **extra_args):
        seen.append(float(sigma[0]))
        return MODEL(x, sigma)

    sigmas = karras(6)
    draw, _ = noise_stream(0)
    sampler(model, torch.zeros(1, 4, 6, 5), sigmas, disable=True, noise_sampler=draw, s_dy_pow=1.0)
    expected = [float(sigmas[i]) * (1 + (math.sqrt(2) - 1) * churn_decay(i, 6, 1.0)) for i in range(6)]
    assert seen == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("sampler", [sample_euler_ancestral_dy, sample_dpmpp_2m_dy, sample_dpmpp_3m_sde_dy])
def test_a_bad_s_dy_pow_is_a_clear_error_and_the_latent_is_left_alone(sampler):
    x = torch.ones(1, 4, 6, 5)
    with pytest.raises(ValueError, match="s_dy_pow"):
        sampler(MODEL, x, karras(4), disable=True, s_dy_pow=float("nan"))
    out = sampler(MODEL, x, karras(4), disable=True)
    assert torch.equal(x, torch.ones(1, 4, 6, 5)) and out is not x


# --- CFG++ (docs/family.md §1, §2): a guided model whose uncond prediction the host hands over ---------------


class Guided:
    """D = D_u + λ·(D_c − D_u) of two exact Gaussian denoisers; uncond() gives the last call's D_u, as a host does."""

    def __init__(self, scale=1.5):
        self.cond = GaussianDenoiser(mean=[0.3, -0.2, 0.1, 0.0], var=[0.5, 1.0, 1.5, 2.0])
        self.uncond_model = GaussianDenoiser(mean=[-0.1, 0.2, 0.0, 0.3], var=[1.0, 0.8, 1.2, 1.5])
        self.scale = scale
        self.last = None
        self.sizes = []

    def __call__(self, x, sigma, **extra_args):
        self.sizes.append(tuple(x.shape[-2:]))
        self.last = self.uncond_model(x, sigma)
        return self.last + self.scale * (self.cond(x, sigma) - self.last)

    def uncond(self, x, sigma):
        return self.last

    def both(self, x, sigma_hat):
        """(D, D_u) at one σ̂, for the oracles."""
        sigma = torch.full((x.shape[0],), sigma_hat, dtype=x.dtype)
        d_u = self.uncond_model(x, sigma)
        return d_u + self.scale * (self.cond(x, sigma) - d_u), d_u


def lattice(x):
    return x[..., 1:2 * (x.shape[-2] // 2):2, 1:2 * (x.shape[-1] // 2):2]


def oracle_euler_cfg_pp(model, x, sigmas, noise, churn, dy=(), smea=(), scale=1.25, flips=()):
    """churn; D, D_u; x ← D + σᵢ₊₁·(x − D_u)/σ̂; then (σᵢ₊₁ > 0) Dy, SMEA, flip, each sub-step a CFG++ move."""
    for i in range(len(sigmas) - 1):
        x, sigma_hat = oracle_churn(x, sigmas, i, noise.pop(0), *churn)
        big_d, d_u = model.both(x, sigma_hat)
        nxt = float(sigmas[i + 1])
        x = big_d + nxt * (x - d_u) / sigma_hat
        if nxt == 0:
            continue
        if i in dy:
            c = lattice(x)
            c_d, c_u = model.both(c, sigma_hat)
            x = x.clone()
            x[..., 1:2 * (x.shape[-2] // 2):2, 1:2 * (x.shape[-1] // 2):2] = c_d + nxt * (c - c_u) / sigma_hat
        if i in smea:
            up = torch.nn.functional.interpolate(x, scale_factor=scale, mode="nearest-exact")
            u_d, u_u = model.both(up, sigma_hat)
            x = torch.nn.functional.interpolate(u_d + nxt * (up - u_u) / sigma_hat, size=x.shape[-2:],
                                                mode="nearest-exact")
        if i in flips:
            x = -x
    return x


def oracle_euler_a_dy_cfg_pp(model, x, sigmas, noise, eta, churn):
    for i in range(len(sigmas) - 1):
        x, sigma_hat = oracle_churn(x, sigmas, i, noise.pop(0), *churn)
        big_d, d_u = model.both(x, sigma_hat)
        nxt = float(sigmas[i + 1])
        up = min(nxt, eta * math.sqrt(nxt**2 * (sigma_hat**2 - nxt**2) / sigma_hat**2))
        x = big_d + math.sqrt(nxt**2 - up**2) * (x - d_u) / sigma_hat
        if nxt > 0:
            x = x + churn[3] * up * noise.pop(0)
    return x


def oracle_dpmpp_2m_dy_cfg_pp(model, x, sigmas, noise, churn):
    previous = None  # (D_u, h) of the step before
    for i in range(len(sigmas) - 1):
        x, sigma_hat = oracle_churn(x, sigmas, i, noise.pop(0), *churn)
        big_d, d_u = model.both(x, sigma_hat)
        nxt = float(sigmas[i + 1])
        if nxt == 0:
            x = big_d
            continue
        h = math.log(sigma_hat / nxt)
        x = big_d + math.exp(-h) * (x - d_u)
        if previous is not None:
            r = previous[1] / h
            x = x + (1 - math.exp(-h)) / (2 * r) * (big_d - previous[0])
        previous = (d_u, h)
    return x


def run_guided(sampler, oracle, steps, churn, seed=3, scale=1.5, **params):
    model, oracle_model = Guided(scale), Guided(scale)
    x = torch.randn(2, 4, 6, 5, generator=torch.Generator().manual_seed(seed)) * 14.6
    sigmas = karras(steps)
    draw, drawn = noise_stream(seed)
    s_churn, s_tmin, s_tmax, s_noise, s_dy_pow = churn
    ours = sampler(model, x, sigmas, disable=True, noise_sampler=draw, s_churn=s_churn, s_tmin=s_tmin, s_tmax=s_tmax,
                   s_noise=s_noise, s_dy_pow=s_dy_pow, uncond=model.uncond, **params)
    replay = [noise.double() for noise in drawn]
    expected = oracle(oracle_model, x.double(), sigmas.double(), replay, churn)
    assert not replay
    return ours, expected, model


EULER_CFG_PP = {
    "Euler Dy CFG++": (sample_euler_dy_cfg_pp, {}, dict(dy=(2, 3))),
    "Euler SMEA Dy CFG++": (sample_euler_smea_dy_cfg_pp, {}, dict(dy=(1,), smea=(0,))),
    "Euler SMEA Dy CFG++ knobs": (sample_euler_smea_dy_cfg_pp, dict(smea_steps=(1, 2), smea_dy_steps=(2,),
                                                                    smea_scale=1.5),
                                  dict(dy=(2,), smea=(1, 2), scale=1.5)),
    "Euler Negative CFG++": (sample_euler_negative_cfg_pp, {}, dict(flips=(2, 3))),
    "Euler Negative Dy CFG++": (sample_euler_dy_negative_cfg_pp, dict(dy_steps=(1, 3)), dict(dy=(1, 3),
                                                                                             flips=(2, 3))),
}


@pytest.mark.parametrize("churn", CHURNS.values(), ids=CHURNS.keys())
@pytest.mark.parametrize("steps", [1, 2, 4, 8])
@pytest.mark.parametrize("case", EULER_CFG_PP.values(), ids=EULER_CFG_PP.keys())
def test_the_euler_cfg_pp_samplers_are_their_definition(case, steps, churn):
    sampler, params, shape = case
    ours, expected, model = run_guided(sampler, lambda m, x, s, n, c: oracle_euler_cfg_pp(m, x, s, n, c, **shape),
                                       steps, churn, **params)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)
    # each sub-step is its own model call on its own latent, so it has its own D_u
    substeps = sum(1 for i in (*shape.get("dy", ()), *shape.get("smea", ())) if i < steps - 1)
    assert len(model.sizes) == steps + substeps


@pytest.mark.parametrize("churn", CHURNS.values(), ids=CHURNS.keys())
@pytest.mark.parametrize("steps", [1, 2, 3, 8])
@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_euler_a_dy_cfg_pp_is_its_definition(steps, churn, eta):
    ours, expected, _ = run_guided(sample_euler_ancestral_dy_cfg_pp,
                                   lambda m, x, s, n, c: oracle_euler_a_dy_cfg_pp(m, x, s, n, eta, c), steps, churn,
                                   eta=eta)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("churn", CHURNS.values(), ids=CHURNS.keys())
@pytest.mark.parametrize("steps", [1, 2, 3, 8])
def test_dpmpp_2m_dy_cfg_pp_is_its_definition(steps, churn):
    ours, expected, _ = run_guided(sample_dpmpp_2m_dy_cfg_pp, oracle_dpmpp_2m_dy_cfg_pp, steps, churn)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-4, atol=1e-4)


CFG_PP = [sample_euler_dy_cfg_pp, sample_euler_smea_dy_cfg_pp, sample_euler_negative_cfg_pp,
          sample_euler_dy_negative_cfg_pp, sample_euler_ancestral_dy_cfg_pp, sample_dpmpp_2m_dy_cfg_pp]
PLAIN_STEP = {sample_euler_ancestral_dy_cfg_pp: sample_euler_ancestral_dy}


@pytest.mark.parametrize("sampler", CFG_PP, ids=lambda f: f.__name__)
def test_the_unconditional_prediction_changes_the_result(sampler):
    x = torch.randn(1, 4, 6, 5, generator=torch.Generator().manual_seed(0)) * 14.6
    given, none = Guided(), Guided()
    with_uncond = sampler(given, x, karras(6), disable=True, noise_sampler=noise_stream(1)[0], uncond=given.uncond)
    without = sampler(none, x, karras(6), disable=True, noise_sampler=noise_stream(1)[0], uncond=lambda x, s: None)
    assert (with_uncond - without).abs().max() > 1e-2


@pytest.mark.parametrize("sampler", CFG_PP, ids=lambda f: f.__name__)
def test_without_an_unconditional_prediction_a_step_is_the_plain_one_said_once(sampler, caplog):
    """The host has none (it skipped the uncond; an old WebUI): D_u = D on that call, never 0, logged once."""
    model = Guided()
    x = torch.randn(1, 4, 6, 5, generator=torch.Generator().manual_seed(0)) * 14.6
    draws = [noise_stream(1)[0] for _ in range(2)]
    with caplog.at_level(logging.WARNING, logger="smea_sampler"):
        missing = sampler(model, x, karras(6), disable=True, noise_sampler=draws[0], uncond=lambda x, sigma: None)
    [line] = [r for r in caplog.records if r.name == "smea_sampler"]
    assert sampler.__name__ in line.getMessage() and "plain" in line.getMessage()
    # the same as a host whose uncond prediction is the guided one itself
    guided = Guided()
    same = sampler(lambda x, sigma: guided(x, sigma), x, karras(6), disable=True, noise_sampler=draws[1],
                   uncond=lambda x, sigma: None)
    torch.testing.assert_close(missing, same, rtol=0, atol=0)
    if sampler in PLAIN_STEP:  # Euler a Dy CFG++ with D_u = D is Euler a Dy
        plain = PLAIN_STEP[sampler](Guided(), x, karras(6), disable=True, noise_sampler=noise_stream(1)[0])
        torch.testing.assert_close(missing, plain, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("sampler", CFG_PP, ids=lambda f: f.__name__)
def test_an_unconditional_prediction_of_another_shape_is_not_used(sampler, caplog):
    model = Guided()
    x = torch.randn(1, 4, 6, 5, generator=torch.Generator().manual_seed(0)) * 14.6
    with caplog.at_level(logging.WARNING, logger="smea_sampler"):
        out = sampler(model, x, karras(4), disable=True, noise_sampler=noise_stream(1)[0],
                      uncond=lambda x, sigma: torch.zeros(1, 4, 3, 3))
    assert torch.isfinite(out).all()
    [line] = [r for r in caplog.records if r.name == "smea_sampler"]
    assert "(1, 4, 3, 3)" in line.getMessage()
