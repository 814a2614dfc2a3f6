"""Algebraic identities that hold by the spec (SAMPLERS.md §7), pathwise with the same noise."""

from __future__ import annotations

import pytest
import torch

from smea_sampler import (
    sample_euler_dy,
    sample_euler_dy_negative,
    sample_euler_negative,
    sample_euler_smea_dy,
    sample_kohaku_lonyu_yog,
)
from smea_sampler.reference import sample_euler_ancestral
from smea_sampler.sampling import get_ancestral_step
from tests.helpers import CallLog, GaussianDenoiser, churned_euler, karras, odd_model, seeded_noise

OFF = {"dy_steps": ()}


def start(seed=0, shape=(2, 4, 8, 8)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 14.6


@pytest.mark.parametrize(
    ("sampler", "knobs"),
    [(sample_euler_dy, OFF), (sample_euler_smea_dy, {"smea_steps": (), "smea_dy_steps": ()})],
)
@pytest.mark.parametrize("params", [{}, {"s_churn": 20.0}, {"s_noise": 0.5, "s_tmax": 5.0}])
def test_without_sub_steps_the_samplers_are_the_churned_euler_base(sampler, knobs, params):
    x, sigmas = start(), karras(10)
    out = sampler(odd_model, x, sigmas, noise_sampler=seeded_noise(3)(x), disable=True, **knobs, **params)
    torch.testing.assert_close(out, churned_euler(odd_model, x, sigmas, seeded_noise(3)(x), **params))


def test_euler_negative_dy_without_dy_steps_is_euler_negative():
    x, sigmas = start(), karras(10)
    out = sample_euler_dy_negative(odd_model, x, sigmas, noise_sampler=seeded_noise(4)(x), disable=True, **OFF)
    expected = sample_euler_negative(odd_model, x, sigmas, noise_sampler=seeded_noise(4)(x), disable=True)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("no_churn_noise", [{"s_noise": 0.0}, {"s_tmax": 0.01}])
def test_euler_negative_with_an_odd_model_and_no_churn_noise_is_the_unflipped_base(no_churn_noise):
    x, sigmas = start(), karras(10)
    out = sample_euler_negative(odd_model, x, sigmas, noise_sampler=seeded_noise(5)(x), disable=True,
                                **no_churn_noise)
    torch.testing.assert_close(out, churned_euler(odd_model, x, sigmas, seeded_noise(5)(x), **no_churn_noise))


def test_euler_negative_with_churn_noise_differs_from_the_base_pathwise():
    # Step 3's churn noise enters the flipped latent with the opposite sign (SAMPLERS.md §7).
    x, sigmas = start(), karras(10)
    out = sample_euler_negative(odd_model, x, sigmas, noise_sampler=seeded_noise(5)(x), disable=True)
    assert not torch.allclose(out, churned_euler(odd_model, x, sigmas, seeded_noise(5)(x)))


def test_euler_negative_model_sees_the_negated_latent_at_step_3():
    x, sigmas = start(), karras(10)
    flipped, plain = CallLog(), CallLog()
    sample_euler_negative(flipped, x, sigmas, noise_sampler=seeded_noise(6)(x), disable=True, s_noise=0.0)
    sample_euler_dy(plain, x, sigmas, noise_sampler=seeded_noise(6)(x), disable=True, s_noise=0.0, **OFF)
    for i, (a, b) in enumerate(zip(flipped.calls, plain.calls, strict=True)):
        torch.testing.assert_close(a["x"], -b["x"] if i == 3 else b["x"])


def test_kohaku_with_an_odd_model_takes_euler_ancestral_steps_in_the_first_half():
    x, sigmas = start(), karras(10)
    log = CallLog()
    out = sample_kohaku_lonyu_yog(log, x, sigmas, noise_sampler=seeded_noise(7)(x), disable=True)
    # Per first-half step the three calls are x, −x and x₃; with d₂ = −d, x₃ = x.
    for i in range(6):
        x_i, x_neg, x_mid = (log.calls[3 * i + k]["x"] for k in range(3))
        assert torch.equal(x_neg, -x_i)
        torch.testing.assert_close(x_mid, x_i)
    # First half: Euler a evaluated at σ̂ = σᵢ, its noise the second draw of each step. Second half:
    # the same step down to σ_down with no noise (the released look, SAMPLERS.md §3).
    draws = seeded_noise(7)(x)
    y = x
    for i in range(10):
        draws(None, None)  # the preamble's draw, unused with γ = 0
        d = (y - odd_model(y, sigmas[i].expand(2))) / sigmas[i]
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1])
        y = y + d * (sigma_down - sigmas[i])
        if i <= 5:
            y = y + draws(None, None) * sigma_up
    torch.testing.assert_close(out, y)


def test_kohaku_with_an_odd_model_and_one_step_is_one_euler_ancestral_step():
    x, sigmas = start(), karras(4)[:2]
    noise = torch.randn_like(x)
    kohaku = sample_kohaku_lonyu_yog(odd_model, x, sigmas, noise_sampler=lambda *s: noise, disable=True)
    euler_a = sample_euler_ancestral(odd_model, x, sigmas, noise_sampler=lambda *s: noise, disable=True)
    torch.testing.assert_close(kohaku, euler_a)


@pytest.mark.parametrize("sampler", [sample_euler_dy, sample_euler_dy_negative])
def test_dy_steps_with_an_identity_model_change_nothing(sampler):
    # D(x) = x gives d = 0 everywhere: churn aside, every step and sub-step is the identity.
    x, sigmas = start(), karras(10)
    out = sampler(lambda v, s, **k: v, x, sigmas, disable=True, s_noise=0.0)
    flips = 2 if sampler is sample_euler_dy_negative else 0
    assert torch.equal(out, x * (-1) ** flips)


@pytest.mark.parametrize(("steps", "sign"), [(1, 1), (2, 1), (3, 1), (4, -1), (5, 1), (10, 1)])
def test_euler_negative_flips_only_before_a_step_with_sigma_next_above_zero(steps, sign):
    # Step 3 is special only if σ₄ > 0: at 4 steps only the flip after step 2 happens, so with an odd
    # model the result is the base negated (SAMPLERS.md §3's rule, kept as specified).
    x, sigmas = start(), karras(steps)
    out = sample_euler_negative(odd_model, x, sigmas, disable=True, s_noise=0.0)
    torch.testing.assert_close(out, sign * churned_euler(odd_model, x, sigmas, lambda *s: torch.zeros_like(x),
                                                         s_noise=0.0))


def kohaku_transcribed(model, x, sigmas, noise, s_churn, s_noise, eta):
    """SAMPLERS.md §3's Kohaku paragraph, written out plainly (default s_tmin, s_tmax)."""
    n = len(sigmas) - 1
    for i in range(n):
        gamma = min(s_churn / n, 2**0.5 - 1)
        eps = noise() * s_noise
        sigma_hat = sigmas[i] * (1 + gamma)
        x = x + eps * (sigma_hat**2 - sigmas[i] ** 2).sqrt()
        s = sigma_hat.expand(x.shape[0])
        d = (x - model(x, s)) / sigma_hat
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta)
        dt = sigma_down - sigmas[i]
        if i <= n / 2:
            d2 = (-x - model(-x, s)) / sigma_hat
            x3 = x + dt * (d + d2) / 2
            d3 = (x3 - model(x3, s)) / sigma_hat
            x = x + dt * (d + d3) / 2 + s_noise * sigma_up * noise()
        else:
            x = x + d * dt
    return x


def test_kohaku_with_churn_noise_scale_and_eta_follows_the_spec():
    model = GaussianDenoiser([0.5, -0.2, 0.0, 1.0], [0.3, 1.0, 2.0, 0.5])  # not odd: x₃ ≠ x
    x, sigmas = start(), karras(9)
    out = sample_kohaku_lonyu_yog(model, x, sigmas, noise_sampler=seeded_noise(9)(x), disable=True,
                                  s_churn=2.0, s_noise=0.7, eta=0.8)
    draw = seeded_noise(9)(x)
    expected = kohaku_transcribed(model, x, sigmas, lambda: draw(None, None), s_churn=2.0, s_noise=0.7, eta=0.8)
    torch.testing.assert_close(out, expected)


def first_full_call(log, steps, sampler):
    """Index of each step's first full-size call, from the call pattern of SAMPLERS.md §7."""
    if sampler is not sample_kohaku_lonyu_yog:  # one full-size call a step
        return [k for k, size in enumerate(log.sizes) if size == log.sizes[0]]
    starts, k = [], 0
    for i in range(steps):
        starts.append(k)
        k += 3 if i <= steps / 2 else 1
    return starts


@pytest.mark.parametrize("sampler", [sample_euler_dy, sample_euler_smea_dy, sample_euler_negative,
                                     sample_euler_dy_negative, sample_kohaku_lonyu_yog])
def test_the_callback_sees_the_latent_the_spec_names_once_per_step(sampler):
    # s_noise = 0 keeps the churn from moving x, so each step's model input is the latent entering it.
    steps, x = 8, start()
    log, seen = CallLog(), []
    out = sampler(log, x, karras(steps), callback=seen.append, disable=True, s_noise=0.0)
    assert [info["i"] for info in seen] == list(range(steps))
    inputs = [log.calls[k]["x"] for k in first_full_call(log, steps, sampler)]
    for i, info in enumerate(seen):
        if sampler is sample_euler_smea_dy:  # after the step and its sub-steps: the next step's input
            torch.testing.assert_close(info["x"], inputs[i + 1] if i + 1 < steps else out)
        elif sampler is sample_euler_dy and i in (2, 3):  # after the Dy sub-step: only the lattice moved
            lattice = torch.zeros(8, 8, dtype=torch.bool)
            lattice[1::2, 1::2] = True
            assert torch.equal(info["x"][..., ~lattice], inputs[i][..., ~lattice])
            assert not torch.allclose(info["x"][..., lattice], inputs[i][..., lattice])
        else:  # before anything else: the step's input
            assert torch.equal(info["x"], inputs[i])


@pytest.mark.parametrize(("eta", "down", "up"), [(1.0, 0.5, 0.75**0.5), (0.5, 0.8125**0.5, 0.5 * 0.75**0.5),
                                                 (0.0, 1.0, 0.0)])
def test_the_ancestral_split_matches_hand_worked_numbers(eta, down, up):
    # σ 2 → 1: σ_up = eta·√(1²·(2² − 1²)/2²) = eta·√0.75, σ_down = √(1² − σ_up²); the oracles above use this split
    sigma_down, sigma_up = get_ancestral_step(torch.tensor(2.0), torch.tensor(1.0), eta)
    assert float(sigma_down) == pytest.approx(down) and float(sigma_up) == pytest.approx(up)


def test_kohaku_with_eta_0_adds_no_ancestral_noise():
    x = torch.randn(1, 4, 8, 8) * 14.6
    loud = lambda sigma, sigma_next: torch.full_like(x, 1e3)  # noqa: E731
    quiet = lambda sigma, sigma_next: torch.zeros_like(x)  # noqa: E731
    runs = [sample_kohaku_lonyu_yog(odd_model, x, karras(6), disable=True, eta=0.0, noise_sampler=noise)
            for noise in (loud, quiet)]
    assert torch.equal(*runs)
