"""Which model calls each sampler makes: count, order, spatial size and sigma (SAMPLERS.md §3, §7)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from smea_sampler import (
    sample_euler_dy,
    sample_euler_dy_negative,
    sample_euler_negative,
    sample_euler_smea_dy,
    sample_kohaku_lonyu_yog,
)
from tests.helpers import CallLog, karras

STEP_COUNTS = (1, 2, 3, 4, 5, 10, 20)
H, W = 12, 10
FULL, HALF, SMEA = (H, W), (H // 2, W // 2), (15, 12)
CHURN = 1 + (math.sqrt(2) - 1)  # σ̂ / σ with the default γ = √2 − 1


def run(sampler, steps, **kwargs):
    log = CallLog()
    x = torch.randn(2, 4, H, W) * 14.6
    sampler(log, x, karras(steps), disable=True, **kwargs)
    return log


def steps_of(log, steps, churn=CHURN):
    return log.steps([float(s) * churn for s in karras(steps)[:-1]])


@pytest.mark.parametrize("steps", STEP_COUNTS)
@pytest.mark.parametrize("sampler", [sample_euler_dy, sample_euler_dy_negative])
def test_dy_samplers_add_a_half_size_call_on_steps_2_and_3(sampler, steps):
    log = run(sampler, steps)
    dy_steps = [i for i in (2, 3) if i <= steps - 2]  # a sub-step needs σᵢ₊₁ > 0
    expected = []
    for i in range(steps):
        expected.append((i, FULL))
        if i in dy_steps:
            expected.append((i, HALF))
    assert list(zip(steps_of(log, steps), log.sizes, strict=True)) == expected
    assert len(log.calls) == steps + len(dy_steps)


@pytest.mark.parametrize("steps", STEP_COUNTS)
def test_smea_dy_adds_a_larger_call_after_step_0_and_a_half_size_call_after_step_1(steps):
    log = run(sample_euler_smea_dy, steps)
    expected = []
    for i in range(steps):
        expected.append((i, FULL))
        if i == 0 and steps >= 2:
            expected.append((0, SMEA))
        if i == 1 and steps >= 3:
            expected.append((1, HALF))
    assert list(zip(steps_of(log, steps), log.sizes, strict=True)) == expected


@pytest.mark.parametrize("steps", STEP_COUNTS)
def test_euler_negative_calls_the_model_once_per_step(steps):
    log = run(sample_euler_negative, steps)
    assert log.sizes == [FULL] * steps
    assert steps_of(log, steps) == list(range(steps))


@pytest.mark.parametrize("steps", STEP_COUNTS)
def test_kohaku_makes_three_calls_on_each_step_of_the_first_half(steps):
    log = run(sample_kohaku_lonyu_yog, steps)
    per_step = [3 if i <= steps / 2 else 1 for i in range(steps)]
    assert steps_of(log, steps, churn=1.0) == [i for i in range(steps) for _ in range(per_step[i])]
    assert len(log.calls) == steps + 2 * (steps // 2 + 1)
    assert log.sizes == [FULL] * len(log.calls)


@pytest.mark.parametrize("sampler", [sample_euler_dy, sample_euler_smea_dy, sample_euler_negative,
                                     sample_euler_dy_negative])
def test_every_call_gets_the_churned_sigma_of_its_step_for_the_whole_batch(sampler):
    sigmas = karras(10)
    log = run(sampler, 10)
    for call, i in zip(log.calls, steps_of(log, 10), strict=True):
        torch.testing.assert_close(call["sigma"], torch.full((2,), float(sigmas[i]) * CHURN))


def test_kohaku_calls_at_sigma_i_without_churn():
    sigmas = karras(6)
    log = run(sample_kohaku_lonyu_yog, 6)
    for call, i in zip(log.calls, steps_of(log, 6, churn=1.0), strict=True):
        torch.testing.assert_close(call["sigma"], torch.full((2,), float(sigmas[i])))


def test_dy_call_sees_the_lattice_of_the_full_call_input():
    log = run(sample_euler_dy, 10)
    pairs = [(full, small) for full, small in zip(log.calls, log.calls[1:], strict=False)
             if tuple(small["x"].shape[-2:]) == HALF]
    assert len(pairs) == 2
    for full, small in pairs:
        assert torch.equal(small["x"], full["x"][..., 1::2, 1::2])


def test_smea_call_sees_the_enlarged_latent_after_the_euler_step():
    sigmas = karras(10)
    log = run(sample_euler_smea_dy, 10)
    full, large = log.calls[0], log.calls[1]
    sigma_hat = sigmas[0] * CHURN
    stepped = full["x"] + (full["x"] - log.model(full["x"], full["sigma"])) / sigma_hat * (sigmas[1] - sigma_hat)
    torch.testing.assert_close(large["x"], F.interpolate(stepped, scale_factor=1.25, mode="nearest-exact"))


def test_knobs_move_and_disable_the_sub_steps():
    assert run(sample_euler_dy, 10, dy_steps=(5, 7)).sizes.count(HALF) == 2
    log = run(sample_euler_dy, 10, dy_steps=(5,))
    assert [i for i, size in zip(steps_of(log, 10), log.sizes, strict=True) if size == HALF] == [5]
    assert run(sample_euler_dy, 10, dy_steps=()).sizes == [FULL] * 10
    assert run(sample_euler_smea_dy, 10, smea_steps=(), smea_dy_steps=()).sizes == [FULL] * 10
    assert run(sample_euler_smea_dy, 10, smea_scale=1.5).sizes[1] == (18, 15)


def test_sub_steps_never_run_on_the_last_step():
    # σ_N = 0: a sub-step there would divide by nothing useful; SAMPLERS.md §1 skips special work.
    log = run(sample_euler_dy, 4, dy_steps=(3,))
    assert log.sizes == [FULL] * 4


def test_extra_args_reach_every_call():
    log = CallLog()
    token = torch.zeros(2, 7, 3)
    sample_euler_smea_dy(log, torch.randn(2, 4, H, W), karras(5), extra_args={"cond": token}, disable=True)
    assert all(call["extra_args"]["cond"] is token for call in log.calls)


def test_callback_gets_k_diffusion_keys_once_per_step():
    infos = []
    sample_euler_dy(CallLog(), torch.randn(1, 4, H, W), karras(6), callback=infos.append, disable=True)
    assert [info["i"] for info in infos] == list(range(6))
    assert all(set(info) == {"x", "i", "sigma", "sigma_hat", "denoised"} for info in infos)


def test_a_step_in_both_smea_knobs_runs_dy_then_smea_on_the_dy_result():
    log = CallLog()
    sigmas = karras(6)
    sample_euler_smea_dy(log, torch.randn(1, 4, 8, 8) * 14.6, sigmas, disable=True, smea_steps=(1,),
                         smea_dy_steps=(1,))
    assert [tuple(call["x"].shape[-2:]) for call in log.calls[:4]] == [(8, 8), (8, 8), (4, 4), (10, 10)]
    dy_call, smea_call = log.calls[2], log.calls[3]
    sigma_hat = dy_call["sigma"][0]
    lattice = dy_call["x"]
    stepped = lattice + (sigmas[2] - sigma_hat) * (lattice - log.model(lattice, dy_call["sigma"])) / sigma_hat
    # 8×8 is a size whose SMEA round trip is exact, so the SMEA call's input shows the latent it enlarged
    enlarged_from = F.interpolate(smea_call["x"], size=(8, 8), mode="nearest-exact")
    assert torch.allclose(enlarged_from[..., 1::2, 1::2], stepped)  # the Dy step's result, not the latent before it
