"""sd-webui-controlnet's hint follows every sub-step (its hook rebuilt in tests/webui_double/sd_webui_controlnet.py).

Found on the real A1111 1.10.1 with sd-webui-controlnet: its hint embedding, made for the full-size latent, is
added to the resampled latent's features, so every Dy and SMEA sub-step fell back to plain Euler."""

from __future__ import annotations

import logging

import pytest
import torch

from smea_sampler.substeps import lattice_slices, on_finer_grid, smea_maps
from tests.webui.support import RESAMPLING, records
from tests.webui_double import sd_webui_controlnet

SUB_STEP_SIZES = {(4, 4), (10, 10)}  # an 8×8 latent's Dy lattice and its 1.25× SMEA enlargement


def hint(height, width, seed=0):
    """A control image as the extension holds it: (1, 3, H, W) in [0, 1], 8× the latent grid."""
    return torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))


def controlled_txt2img(webui, label, units, **fields):
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name=label, **fields)
    network = sd_webui_controlnet.hook(webui.shared.sd_model, p, units)
    webui.shared.state.begin()
    return webui.processing.process_images(p), network


@pytest.mark.parametrize("label", RESAMPLING)
def test_every_sub_step_runs_under_the_control_and_the_unit_is_put_back(make_webui, label, caplog):
    webui = make_webui(argv=["--smea-strict"])  # a hint that did not follow would raise instead of falling back
    image = hint(64, 64)
    unit = sd_webui_controlnet.ControlParams(image)
    with caplog.at_level(logging.WARNING):
        result, network = controlled_txt2img(webui, label, [unit], steps=8)
    sizes = {latent for latent, _, _ in network.hints_seen}
    assert SUB_STEP_SIZES & sizes
    assert all(hint_size == (8 * h, 8 * w) for (h, w), hint_size, _ in network.hints_seen)
    assert unit.hint_cond is image and unit.used_hint_cond is image and unit.used_hint_cond_latent is None
    assert torch.isfinite(result.images).all() and not records(caplog, "smea_sampler")


@pytest.mark.parametrize("label", RESAMPLING)
def test_the_control_changes_the_sub_steps(make_webui, label):
    """The sub-step calls really see the mapped hint: another hint changes the image, the same one does not."""
    webui = make_webui(argv=["--smea-strict"])
    first, _ = controlled_txt2img(webui, label, [sd_webui_controlnet.ControlParams(hint(64, 64))], seed=4, steps=6)
    again, _ = controlled_txt2img(webui, label, [sd_webui_controlnet.ControlParams(hint(64, 64))], seed=4, steps=6)
    other, _ = controlled_txt2img(webui, label, [sd_webui_controlnet.ControlParams(hint(64, 64, 1))], seed=4, steps=6)
    assert torch.equal(first.images, again.images)
    assert not torch.allclose(first.images, other.images)


@pytest.mark.parametrize("label", RESAMPLING)
def test_the_hires_pass_sub_steps_pick_the_hires_hint(make_webui, label):
    webui = make_webui(argv=["--smea-strict"])
    low, high = hint(64, 64), hint(128, 128, 1)
    unit = sd_webui_controlnet.ControlParams(low, hr_hint_cond=high)
    fields = dict(steps=6, enable_hr=True, hr_sampler_name=label, hr_second_pass_steps=6, denoising_strength=0.6)
    result, network = controlled_txt2img(webui, "Euler", [unit], **fields)
    assert result.images.shape == (1, 4, 16, 16)
    hires = [(latent, hint_size) for latent, hint_size, is_hr in network.hints_seen if is_hr]
    assert {(8, 8), (20, 20)} & {latent for latent, _ in hires}  # the 16×16 pass's sub-steps
    assert all(hint_size == (8 * h, 8 * w) for (h, w), hint_size in hires)
    assert unit.hint_cond is low and unit.hr_hint_cond is high and unit.used_hint_cond is high


def test_a_unit_is_put_back_when_the_sub_step_call_raises(make_webui):
    webui = make_webui()
    unit = sd_webui_controlnet.ControlParams(hint(64, 64))
    webui.shared.sd_model.control = torch.ones(1, 4, 8, 8)  # another residual that no sub-step can fit
    result, _ = controlled_txt2img(webui, "Euler Dy", [unit], steps=6)  # falls back, logged
    assert result.images.shape == (1, 4, 8, 8)
    assert unit.hint_cond.shape == (1, 3, 64, 64) and unit.used_hint_cond is unit.hint_cond


@pytest.mark.parametrize("kind", ["dy", "smea"])
def test_the_hint_map_moves_each_latent_cells_pixels_with_that_cell(kind):
    """Lifted to the 8× finer grid, a sub-step's map takes a pixel where it takes the latent cell it lies in."""
    latent = torch.randn(2, 3, 6, 10)
    if kind == "dy":
        rows, cols = lattice_slices(6, 10)
        spatial_map = lambda t: t[..., rows, cols]  # noqa: E731
    else:
        spatial_map, _ = smea_maps(6, 10, 1.25)
    pixels = latent.repeat_interleave(8, dim=-2).repeat_interleave(8, dim=-1)
    expected = spatial_map(latent).repeat_interleave(8, dim=-2).repeat_interleave(8, dim=-1)
    assert torch.equal(on_finer_grid(spatial_map, 8)(pixels), expected)


def test_each_pass_of_a_job_logs_its_own_skip(webui, monkeypatch, caplog):
    """Without the hint following (as before), both passes skip their sub-steps: one line each, not one a job."""
    monkeypatch.setattr(webui.glue, "control_following", lambda p: None)
    unit = sd_webui_controlnet.ControlParams(hint(64, 64), hr_hint_cond=hint(128, 128, 1))
    fields = dict(steps=6, n_iter=2, enable_hr=True, hr_sampler_name="Euler SMEA Dy", hr_second_pass_steps=6,
                  denoising_strength=0.6)
    with caplog.at_level(logging.WARNING):
        controlled_txt2img(webui, "Euler SMEA Dy", [unit], **fields)
    first, hires = (line.getMessage() for line in records(caplog, "smea_sampler"))
    assert first.startswith("Euler SMEA Dy: SMEA sub-step at latent size 10×10 skipped")
    assert hires.startswith("Euler SMEA Dy (hires pass): SMEA sub-step at latent size 20×20 skipped")
