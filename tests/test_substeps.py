"""The Dy and SMEA sub-steps as spatial maps, and the plain-Euler fallback (SAMPLERS.md §2, §5)."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F

from smea_sampler import SubSteps, sample_euler_dy, sample_euler_dy_negative, sample_euler_smea_dy
from smea_sampler.substeps import is_shape_error, lattice_slices, map_latent_aligned, smea_maps
from tests.helpers import karras, seeded_noise

WEBUI_SHAPE_ERROR = "The size of tensor a (4) must match the size of tensor b (8) at non-singleton dimension 3"
SIGMA_HAT, DT = torch.tensor(3.0), torch.tensor(-1.2)


def halving_model(x, sigma, **extra_args):
    """A nonlinear denoiser, so an update that mixed up elements would show."""
    return torch.tanh(x) * 0.5


def euler(x, model=halving_model):
    return x + DT * (x - model(x, SIGMA_HAT)) / SIGMA_HAT


@pytest.mark.parametrize(("height", "width"), [(8, 8), (9, 11), (5, 4), (2, 3), (3, 3), (1, 1)])
def test_dy_step_moves_exactly_the_lattice_by_its_euler_update(height, width):
    x = torch.randn(2, 4, height, width)
    out = SubSteps(halving_model, {}, sample_euler_dy).dy(x, SIGMA_HAT, DT)
    m, n = height // 2, width // 2
    lattice = torch.zeros(height, width, dtype=torch.bool)
    lattice[1:2 * m:2, 1:2 * n:2] = True
    torch.testing.assert_close(out[..., lattice], euler(x)[..., lattice])
    assert torch.equal(out[..., ~lattice], x[..., ~lattice])


def test_dy_step_leaves_odd_border_and_corner_untouched():
    x = torch.randn(1, 4, 9, 11)
    out = SubSteps(halving_model, {}, sample_euler_dy).dy(x, SIGMA_HAT, DT)
    assert torch.equal(out[..., -1, :], x[..., -1, :])
    assert torch.equal(out[..., :, -1], x[..., :, -1])
    assert out[..., 8, 10].eq(x[..., 8, 10]).all()  # the original overwrote this corner (SAMPLERS.md §6.3)


@pytest.mark.parametrize(("height", "width"), [(1, 8), (8, 1), (1, 1)])
def test_dy_step_without_a_2x2_block_is_the_identity_and_calls_nothing(height, width):
    calls = []
    x = torch.randn(1, 4, height, width)
    out = SubSteps(lambda *a, **k: calls.append(a), {}, sample_euler_dy).dy(x, SIGMA_HAT, DT)
    assert out is x and calls == []
    assert lattice_slices(height, width) is None


def test_dy_step_with_an_identity_model_is_the_identity():
    x = torch.randn(3, 16, 7, 6)
    assert torch.equal(SubSteps(lambda c, s, **k: c, {}, sample_euler_dy).dy(x, SIGMA_HAT, DT), x)


def test_smea_step_is_an_euler_step_on_the_enlarged_latent_resized_back():
    x = torch.randn(2, 4, 9, 11)
    out = SubSteps(halving_model, {}, sample_euler_smea_dy).smea(x, SIGMA_HAT, DT, 1.25)
    up = F.interpolate(x, scale_factor=1.25, mode="nearest-exact")
    assert up.shape[-2:] == (11, 13)
    torch.testing.assert_close(out, F.interpolate(euler(up), size=(9, 11), mode="nearest-exact"))


@pytest.mark.parametrize(("size", "round_trip"), [((8, 8), True), ((12, 16), True), ((9, 11), False)])
def test_smea_round_trip_is_the_identity_only_for_some_sizes(size, round_trip):
    x = torch.randn(1, 4, *size)
    up, down = smea_maps(*size, 1.25)
    assert torch.equal(down(up(x)), x) is round_trip
    identity = SubSteps(lambda u, s, **k: u, {}, sample_euler_smea_dy).smea(x, SIGMA_HAT, DT, 1.25)
    assert torch.equal(identity, x) is round_trip


def test_spatial_maps_keep_rank_and_dtype_of_masks():
    up, _ = smea_maps(8, 8, 1.25)
    assert up(torch.ones(4, 8, 8)).shape == (4, 10, 10)  # the WebUI's mask is (C, H, W)
    assert up(torch.ones(8, 8, dtype=torch.bool)).dtype == torch.bool


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
def test_spatial_maps_copy_values_exactly_in_any_dtype(dtype):
    up, down = smea_maps(9, 11, 1.25)
    x = (torch.randn(2, 4, 9, 11) * 100).to(dtype)
    assert up(x).dtype == dtype and torch.equal(up(x), up(x.double()).to(dtype))
    assert torch.equal(down(up(x)), down(up(x.double())).to(dtype))


def test_latent_aligned_tensors_are_mapped_inside_nested_containers_and_dummies_are_not():
    image_cond = torch.randn(2, 5, 8, 6)
    dummy = torch.zeros(2, 5, 1, 1)
    text = torch.randn(2, 77, 768)
    args = {"cond": {"c_crossattn": [text], "c_concat": [image_cond]}, "image_cond": dummy, "scale": 7.0,
            "pair": (image_cond, dummy)}
    mapped = map_latent_aligned(args, torch.Size((8, 6)), lambda t: t[..., 1::2, 1::2])
    assert torch.equal(mapped["cond"]["c_concat"][0], image_cond[..., 1::2, 1::2])
    assert mapped["cond"]["c_crossattn"][0] is text
    assert mapped["image_cond"] is dummy and mapped["scale"] == 7.0
    assert isinstance(mapped["pair"], tuple) and mapped["pair"][1] is dummy
    assert args["cond"]["c_concat"][0] is image_cond  # the caller's dict is not modified


@pytest.mark.parametrize(
    ("error", "is_shape"),
    [
        (RuntimeError(WEBUI_SHAPE_ERROR), True),
        (RuntimeError("Sizes of tensors must match except in dimension 1. Expected size 4 but got size 8 for "
                      "tensor number 1 in the list."), True),
        (RuntimeError("Given groups=1, weight of size [320, 9, 3, 3], expected input[2, 4, 4, 4] to have 9 "
                      "channels, but got 4 channels instead"), True),
        (RuntimeError("shape '[2, 4, 8]' is invalid for input of size 100"), True),
        (RuntimeError("mat1 and mat2 shapes cannot be multiplied (8x320 and 768x320)"), True),
        (NotImplementedError("No operator found for memory_efficient_attention_forward: query shape=(2, 16, 8)"),
         False),
        # out-of-memory errors that also name a size: only the OOM guards keep them from a fallback
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB for input size [2, 4, 128, 128]"), False),
        (torch.cuda.OutOfMemoryError("Tried to allocate 2.00 GiB for input size [2, 4, 128, 128]"), False),
        (RuntimeError("expected scalar type Half but found Float"), False),
        (ValueError(WEBUI_SHAPE_ERROR), False),
    ],
)
def test_only_spatial_shape_errors_count_as_shape_errors(error, is_shape):
    assert is_shape_error(error) is is_shape


def fails_below(size, error=None):
    """A model that raises (the WebUI's message by default) when called on a latent smaller than size."""

    def model(x, sigma, **extra_args):
        if x.shape[-1] < size:
            raise error or RuntimeError(WEBUI_SHAPE_ERROR)
        return x / (1 + sigma.reshape(-1, 1, 1, 1) ** 2)

    return model


@pytest.mark.parametrize("sampler", [sample_euler_dy, sample_euler_dy_negative])
def test_failing_dy_step_gives_exactly_the_run_without_it_and_one_log_record(sampler, caplog):
    x = torch.randn(2, 4, 8, 8) * 14.6
    with caplog.at_level(logging.WARNING, logger="smea_sampler"):
        fell_back = sampler(fails_below(8), x, karras(10), noise_sampler=seeded_noise(1)(x), disable=True)
    plain = sampler(fails_below(8), x, karras(10), noise_sampler=seeded_noise(1)(x), disable=True, dy_steps=())
    assert torch.equal(fell_back, plain)
    assert len(caplog.records) == 1  # two failing sub-steps, one record
    message = caplog.records[0].getMessage()
    assert message.startswith(f"{sampler.__name__}: Dy sub-step") and WEBUI_SHAPE_ERROR in message


def test_failing_smea_and_dy_steps_fall_back_independently(caplog):
    x = torch.randn(1, 4, 8, 8) * 14.6
    with caplog.at_level(logging.WARNING, logger="smea_sampler"):
        only_smea = sample_euler_smea_dy(fails_below(8), x, karras(8), noise_sampler=seeded_noise(2)(x), disable=True)
    expected = sample_euler_smea_dy(fails_below(8), x, karras(8), noise_sampler=seeded_noise(2)(x), disable=True,
                                    smea_dy_steps=())
    assert torch.equal(only_smea, expected)
    assert len(caplog.records) == 1


class Interrupted(BaseException):
    """Stands for the WebUI's sd_samplers_common.InterruptedException, a BaseException."""


@pytest.mark.parametrize(
    "error",
    [Interrupted(), KeyboardInterrupt(), torch.cuda.OutOfMemoryError("CUDA out of memory"),
     RuntimeError("CUDA out of memory. Tried to allocate 1 GiB; the size of tensor a must match"),
     RuntimeError("CUDA error: device-side assert triggered")],
)
def test_interrupts_memory_and_other_errors_in_a_sub_step_propagate(error, caplog):
    x = torch.randn(1, 4, 8, 8)
    with pytest.raises(type(error)) as raised, caplog.at_level(logging.WARNING, logger="smea_sampler"):
        sample_euler_dy(fails_below(8, error), x, karras(6), disable=True)
    assert raised.value is error
    assert caplog.records == []


def test_shape_errors_of_the_full_size_call_propagate():
    with pytest.raises(RuntimeError, match="must match"):
        sample_euler_dy(fails_below(100), torch.randn(1, 4, 8, 8), karras(6), disable=True)


def test_without_fallback_a_sub_step_shape_error_raises():
    with pytest.raises(RuntimeError, match="must match"):
        sample_euler_dy(fails_below(8), torch.randn(1, 4, 8, 8), karras(6), disable=True, fallback=False)


def test_each_sampler_run_logs_its_own_first_skip(caplog):
    x = torch.randn(1, 4, 8, 8)
    with caplog.at_level(logging.WARNING, logger="smea_sampler"):
        for _ in range(2):
            sample_euler_dy(fails_below(8), x, karras(6), disable=True)
    assert len(caplog.records) == 2
