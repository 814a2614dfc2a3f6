"""Any batch, channel count, odd or tiny latent, step count and float dtype: shape and dtype kept, output finite."""

from __future__ import annotations

import itertools

import pytest
import torch

from smea_sampler import SAMPLERS
from tests.helpers import CallLog, karras

SIDES = (1, 2, 3, 5, 8, 9)
STEP_COUNTS = (1, 2, 3, 4, 5, 6, 20)
CHANNELS = (1, 4, 16)


def cases():
    """Every (H, W) pair; batch, channels and steps cycle so that every value of each appears."""
    for k, (height, width) in enumerate(itertools.product(SIDES, SIDES)):
        yield k % 3 + 1, CHANNELS[(k // 3) % 3], height, width, STEP_COUNTS[k % len(STEP_COUNTS)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("info", SAMPLERS, ids=lambda info: info.label)
def test_every_shape_and_dtype_runs_and_keeps_shape_and_dtype(info, dtype):
    for batch, channels, height, width, steps in cases():
        x = (torch.randn(batch, channels, height, width) * 14.6).to(dtype)
        log = CallLog()
        out = info.function(log, x, karras(steps), disable=True)
        case = f"B={batch} C={channels} {height}x{width} steps={steps}"
        assert out.shape == x.shape and out.dtype == dtype, case
        assert torch.isfinite(out).all(), case
        assert all(call["x"].dtype == dtype and call["x"].shape[:2] == (batch, channels) for call in log.calls), case


def test_the_sweep_covers_every_value():
    seen = list(cases())
    assert {c[0] for c in seen} == {1, 2, 3} and {c[1] for c in seen} == set(CHANNELS)
    assert {c[4] for c in seen} == set(STEP_COUNTS) and len(seen) == len(SIDES) ** 2


def test_a_five_dimensional_latent_is_mapped_over_its_last_two_dims():
    x = torch.randn(1, 4, 3, 8, 8) * 14.6  # e.g. a video latent (B, C, T, H, W)
    log = CallLog()
    out = SAMPLERS[0].function(log, x, karras(6), disable=True)
    assert out.shape == x.shape
    assert (1, 4, 3, 4, 4) in [tuple(call["x"].shape) for call in log.calls]


@pytest.mark.parametrize("info", SAMPLERS, ids=lambda info: info.label)
def test_zero_steps_return_the_input(info):
    x = torch.randn(1, 4, 8, 8)
    assert torch.equal(info.function(CallLog(), x, torch.tensor([1.0]), disable=True), x)


@pytest.mark.parametrize("info", SAMPLERS, ids=lambda info: info.label)
def test_bad_shapes_are_clear_errors(info):
    with pytest.raises(ValueError, match="batch of latents"):
        info.function(CallLog(), torch.randn(8, 8), karras(4), disable=True)
    with pytest.raises(ValueError, match="sigmas must be 1-D"):
        info.function(CallLog(), torch.randn(1, 4, 8, 8), karras(4)[None], disable=True)
