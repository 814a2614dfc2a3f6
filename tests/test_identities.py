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
from tests.helpers import CallLog, churned_euler, karras, odd_model, seeded_noise

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
