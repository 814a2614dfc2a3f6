"""The WebUI's conditioning objects under a sub-step (SAMPLERS.md §4, WEBUI.md §1 "What extra_args holds").

The double builds extra_args as v1.10.1 does: a MulticondLearnedConditioning of namedtuples for cond, lists of
ScheduledPromptConditioning namedtuples for uncond, prompt-edit schedules picked by call count, AND-prompts
with several conds per image, and SDXL's dict conds. Our first release rebuilt these namedtuples from a
generator and crashed every real txt2img on its first sub-step.
"""

from __future__ import annotations

import logging

import pytest
import torch

from tests.webui.support import RESAMPLING, img2img, records, txt2img

PROMPT = "a [red:blue:3] cube AND a house:0.5"  # a prompt edit at step 3, two conds per image
SUB_STEP_SIZES = {(4, 4), (10, 10)}


@pytest.fixture
def seen(webui, monkeypatch):
    """Every CFG denoiser call's (x's size, cond, uncond) as the sampler passed them."""
    calls = []
    forward = webui.sd_samplers_cfg_denoiser.CFGDenoiser.forward

    def spy(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond):
        calls.append((tuple(x.shape[-2:]), cond, uncond))
        return forward(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond)

    monkeypatch.setattr(webui.sd_samplers_cfg_denoiser.CFGDenoiser, "forward", spy)
    return calls


@pytest.mark.parametrize("label", RESAMPLING)
def test_sub_steps_hand_the_webuis_conditioning_objects_to_the_model_untouched(webui, seen, label, caplog):
    with caplog.at_level(logging.WARNING):
        result, p = txt2img(webui, label, prompt=PROMPT, negative_prompt="[blurry:sharp:0.5]", batch_size=2, steps=8)
    assert result.images.shape == (2, 4, 8, 8) and torch.isfinite(result.images).all()
    sizes = {size for size, _, _ in seen}
    assert SUB_STEP_SIZES & sizes  # the sub-steps ran
    cond, uncond = p.sampler.sampler_extra_args["cond"], p.sampler.sampler_extra_args["uncond"]
    assert all(c is cond and u is uncond for _, c, u in seen)  # the very same objects, on every call
    assert not records(caplog, "smea_sampler")  # no sub-step fell back


@pytest.mark.parametrize("label", RESAMPLING)
def test_sdxl_dict_conditioning_with_an_inpainting_model_survives_every_sub_step(make_webui, label):
    webui = make_webui(argv=["--smea-strict"])  # a shape error raises instead of falling back
    webui.shared.sd_model = webui.sd_models.ToyCheckpoint(inpainting=True, sdxl=True)
    result, _ = img2img(webui, label, prompt=PROMPT, batch_size=2, steps=12, denoising_strength=0.75)
    assert result.images.shape == (2, 4, 8, 8)
    assert SUB_STEP_SIZES & set(webui.shared.sd_model.calls)


def test_the_prompt_edit_switches_by_call_count_in_the_double(webui):
    # Guards the double: the edit must change the conditioning part-way, or the tests above prove less.
    edited, _ = txt2img(webui, "Euler", prompt="a [red:blue:3] cube", steps=6)
    red, _ = txt2img(webui, "Euler", prompt="a red cube", steps=6)
    blue, _ = txt2img(webui, "Euler", prompt="a blue cube", steps=6)
    assert not torch.equal(edited.images, red.images) and not torch.equal(edited.images, blue.images)


def test_a_second_samplers_skip_in_the_same_job_is_logged_too(webui, caplog):
    webui.shared.sd_model.control = torch.ones(1, 4, 8, 8)  # a ControlNet-like residual: every sub-step skips
    webui.shared.state.begin()  # one job, two sampling runs with different samplers (as an X/Y/Z plot makes)
    with caplog.at_level(logging.WARNING):
        for label in ("Euler Dy", "Euler SMEA Dy", "Euler Dy"):
            webui.processing.process_images(webui.processing.StableDiffusionProcessingTxt2Img(sampler_name=label))
    lines = [record.getMessage() for record in records(caplog, "smea_sampler")]
    assert [line.split(":")[0] for line in lines] == ["Euler Dy", "Euler SMEA Dy"]
