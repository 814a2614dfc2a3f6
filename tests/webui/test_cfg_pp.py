"""The CFG++ samplers in the WebUI (docs/family.md §6): where each WebUI keeps the unconditional prediction, what is
put back after a run, and what happens where there is none."""

from __future__ import annotations

import logging

import pytest
import torch

from smea_sampler import SAMPLERS
from tests.webui.support import img2img, records, txt2img

CFG_PP = [info.label for info in SAMPLERS if info.cfg_pp]
FLAVORS = ("a1111", "forge", "reforge")


def image(webui, label, **fields):
    result, _ = txt2img(webui, label, steps=6, seed=11, **{"cfg_scale": 1.5, **fields})
    return result.images


@pytest.mark.parametrize("cfg_scale", [1.0, 1.5])
@pytest.mark.parametrize("label", CFG_PP)
def test_every_webui_gives_the_same_unconditional_prediction(make_webui, label, cfg_scale, caplog):
    """A1111 keeps x0 of the uncond, Forge its ε, reForge hands it to a post-CFG function; at CFG 1 Forge and
    reForge would skip it. The same seed then gives the same image on all three, with nothing logged."""
    with caplog.at_level(logging.WARNING):
        images = [image(make_webui(flavor), label, cfg_scale=cfg_scale) for flavor in FLAVORS]
    torch.testing.assert_close(images[1], images[0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(images[2], images[0], rtol=1e-4, atol=1e-4)
    assert not records(caplog, "smea_sampler")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_unconditional_prediction_is_what_makes_the_image(make_webui, flavor, monkeypatch):
    webui = make_webui(flavor)
    with_uncond = image(webui, "Euler a Dy CFG++")
    monkeypatch.setattr(webui.glue, "unconditional", lambda model, extra_args: _none(extra_args))
    assert (with_uncond - image(webui, "Euler a Dy CFG++")).abs().max() > 1e-3


def _none(extra_args):
    from contextlib import nullcontext

    return nullcontext((extra_args, None))


def test_a1111_puts_need_last_noise_uncond_back(webui, monkeypatch):
    seen = []
    forward = webui.sd_samplers_cfg_denoiser.CFGDenoiser.forward

    def spy(self, *args, **kwargs):
        seen.append(self.need_last_noise_uncond)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(webui.sd_samplers_cfg_denoiser.CFGDenoiser, "forward", spy)
    _, p = txt2img(webui, "Euler Dy CFG++", steps=6)
    assert seen and all(seen)
    assert p.sampler.model_wrap_cfg.need_last_noise_uncond is False


@pytest.mark.parametrize("interrupt", [False, True])
def test_forge_sets_disable_cfg1_optimization_for_the_run_only(make_webui, monkeypatch, interrupt):
    webui = make_webui("forge")
    model = webui.shared.sd_model
    options = model.forge_objects.unet.model_options
    options["disable_cfg1_optimization"] = False  # the user's own choice, to be put back as it was
    seen = []
    apply_model = model.apply_model

    def spy(x, t, cond):
        seen.append(options["disable_cfg1_optimization"])
        if interrupt and len(seen) == 3:
            webui.shared.state.interrupt()
        return apply_model(x, t, cond)

    monkeypatch.setattr(model, "apply_model", spy)
    txt2img(webui, "Euler SMEA Dy CFG++", steps=6, cfg_scale=1.0)
    assert seen and all(seen)
    assert options == {"disable_cfg1_optimization": False}
    del options["disable_cfg1_optimization"]
    txt2img(webui, "DPM++ 2M Dy CFG++", steps=3)
    assert options == {}  # a key that was not there is not left behind


def test_reforge_leaves_the_unets_options_alone_and_keeps_their_post_cfg_functions(make_webui):
    webui = make_webui("reforge")
    calls = []

    def theirs(args):  # say, another extension's rescale-CFG
        calls.append(args["uncond"] is not None)
        return args["denoised"]

    options = webui.shared.sd_model.forge_objects.unet.model_options
    options["sampler_post_cfg_function"] = [theirs]
    before = dict(options)
    txt2img(webui, "Euler Dy CFG++", steps=6, cfg_scale=1.0)
    assert options == before and options["sampler_post_cfg_function"] == [theirs]
    assert len(calls) == 6 + 2 and all(calls)  # every call, the Dy sub-steps' too, with the uncond pass at CFG 1


@pytest.mark.parametrize("flavor", ["a1111", "reforge"])
def test_a_step_whose_uncond_the_webui_skipped_is_plain_and_said_once_per_pass(make_webui, flavor, caplog):
    webui = make_webui(flavor, settings={"skip_early_cond": 0.5})  # "Ignore negative prompt during early sampling"
    with caplog.at_level(logging.WARNING):
        result, _ = txt2img(webui, "Euler Dy CFG++", steps=6, enable_hr=True, hr_scale=1.5, hr_second_pass_steps=6,
                            denoising_strength=0.6)
    assert torch.isfinite(result.images).all()
    lines = [record.getMessage() for record in records(caplog, "smea_sampler")]
    assert len(lines) == 2, lines
    assert all("Euler Dy CFG++" in line and "plain" in line for line in lines)
    assert "hires pass" in lines[1]


def test_a_webui_before_1_10_has_no_unconditional_prediction_and_says_so(webui, monkeypatch, caplog):
    init = webui.sd_samplers_cfg_denoiser.CFGDenoiser.__init__

    def before_1_10(self, sampler):  # 1.9's CFG denoiser has neither attribute
        init(self, sampler)
        del self.need_last_noise_uncond, self.last_noise_uncond

    monkeypatch.setattr(webui.sd_samplers_cfg_denoiser.CFGDenoiser, "__init__", before_1_10)
    with caplog.at_level(logging.WARNING):
        first = image(webui, "Euler Dy CFG++")
        image(webui, "Euler Dy CFG++")
    lines = [record.getMessage() for record in records(caplog, "smea_sampler")]
    assert len(lines) == 2 and all("Euler Dy CFG++" in line and "plain" in line for line in lines)  # one a job
    assert torch.isfinite(first).all()


@pytest.mark.parametrize("label", [info.label for info in SAMPLERS if info.cfg_pp and info.resamples])
def test_inpainting_sub_steps_get_their_own_unconditional_prediction(make_webui, label, caplog):
    for flavor in FLAVORS:
        webui = make_webui(flavor)
        webui.shared.sd_model = webui.sd_models.ToyCheckpoint(inpainting=True)
        with caplog.at_level(logging.WARNING):
            result, _ = img2img(webui, label, steps=6, denoising_strength=1.0)
        assert torch.isfinite(result.images).all()
        assert {(4, 4), (10, 10)} & set(webui.shared.sd_model.calls)
    assert not records(caplog, "smea_sampler")  # no fallback, and every sub-step had a D_u of its own size


@pytest.mark.parametrize("flavor", FLAVORS)
def test_reforges_spellings_select_ours(make_webui, flavor):
    webui = make_webui(flavor)
    for spelled, label in (("Euler DY CFG++", "Euler Dy CFG++"), ("DPM++ 3M SDE DY", "DPM++ 3M SDE Dy")):
        params = webui.infotext_utils.parse_generation_parameters(f"Steps: 4, Sampler: {spelled}, Seed: 1")
        _, p = txt2img(webui, params["Sampler"], steps=4)
        assert p.sampler.config.name == label
        assert hasattr(p.sampler.config.constructor, "smea_sampler_label")
