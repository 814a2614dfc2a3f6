"""Sampling through the WebUI double: parameters, seeded noise, inpainting, hires fix, fallback, refusal, interrupts."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import pytest
import torch

from smea_sampler import SAMPLERS, SAMPLERS_BY_LABEL
from tests.webui.support import LABELS, RESAMPLING, Spy, img2img, records, txt2img

SUB_STEP_SIZES = {(4, 4), (10, 10)}  # an 8×8 latent's Dy lattice and its 1.25× SMEA enlargement


# --- parameters ------------------------------------------------------------------------------------------------


def test_p_churn_values_reach_every_sampler_function(webui):
    spy = Spy()
    for label in spy.register(webui):
        txt2img(webui, label, steps=6, s_churn=0.5, s_tmin=0.1, s_tmax=9.0, s_noise=0.9)
    assert len(spy.calls) == len(SAMPLERS)
    for info, kwargs in zip(SAMPLERS, spy.calls, strict=True):
        assert (kwargs["s_churn"], kwargs["s_tmin"], kwargs["s_tmax"], kwargs["s_noise"]) == (0.5, 0.1, 9.0, 0.9)
        assert len(kwargs["sigmas"]) == 7 and kwargs["sigmas"][-1] == 0
        assert callable(kwargs["noise_sampler"])
        if info.resamples:
            assert kwargs["latent_attrs"] == ("init_latent", "mask", "nmask") and kwargs["fallback"] is True
        else:
            assert "latent_attrs" not in kwargs and "fallback" not in kwargs
        assert {name for name in info.knobs} <= set(kwargs)


def test_settings_override_the_churn_values_and_the_webui_writes_them_to_infotext(webui):
    spy = Spy()
    [label] = spy.register(webui, SAMPLERS[:1])
    webui.shared.opts.s_churn, webui.shared.opts.s_noise = 1.5, 0.8
    result, _ = txt2img(webui, label, steps=6)
    assert (spy.calls[0]["s_churn"], spy.calls[0]["s_noise"]) == (1.5, 0.8)
    assert spy.calls[0]["s_tmax"] == math.inf
    assert "Sigma churn: 1.5" in result.infotexts[0] and "Sigma noise: 0.8" in result.infotexts[0]


def test_kohaku_gets_eta_from_the_job_or_the_setting(webui):
    spy = Spy()
    [label] = spy.register(webui, [SAMPLERS_BY_LABEL["Kohaku_LoNyu_Yog"]])
    txt2img(webui, label, steps=4)
    webui.shared.opts.eta_ancestral = 0.3
    txt2img(webui, label, steps=4)
    result, _ = txt2img(webui, label, steps=4, eta=0.6)
    assert [call["eta"] for call in spy.calls] == [1.0, 0.3, 0.6]
    assert "Eta: 0.6" in result.infotexts[0]


# --- seeded noise ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
def test_a_seed_reproduces_its_image_whatever_the_global_generator(webui, label):
    torch.manual_seed(1)
    first, _ = txt2img(webui, label, seed=42, steps=6)
    torch.manual_seed(2)
    again, _ = txt2img(webui, label, seed=42, steps=6)
    other, _ = txt2img(webui, label, seed=43, steps=6)
    assert torch.equal(first.images, again.images)
    assert not torch.allclose(first.images, other.images)


@pytest.mark.parametrize("label", LABELS)
def test_image_k_of_a_batch_is_the_image_of_seed_plus_k_alone(webui, label):
    batch, _ = txt2img(webui, label, seed=100, batch_size=2, steps=6)
    alone, _ = txt2img(webui, label, seed=101, steps=6)
    assert batch.seeds == [100, 101]
    torch.testing.assert_close(batch.images[1], alone.images[0], rtol=1e-5, atol=1e-5)


def test_variation_seed_and_eta_noise_seed_delta_change_the_noise_reproducibly(webui):
    plain, _ = txt2img(webui, "Euler Dy", seed=5, steps=6)
    varied, _ = txt2img(webui, "Euler Dy", seed=5, subseed=9, subseed_strength=0.5, steps=6)
    varied_again, _ = txt2img(webui, "Euler Dy", seed=5, subseed=9, subseed_strength=0.5, steps=6)
    webui.shared.opts.eta_noise_seed_delta = 31337  # reseeds every draw after the starting noise
    delta, _ = txt2img(webui, "Euler Dy", seed=5, steps=6)
    assert torch.equal(varied.images, varied_again.images)
    assert not torch.allclose(plain.images, varied.images)
    assert not torch.allclose(plain.images, delta.images)


def test_noise_draws_come_from_p_rng_at_the_full_latent_shape(webui, monkeypatch):
    draws = []
    image_rng = webui.rng.ImageRNG

    class CountingRNG(image_rng):
        def next(self):
            noise = super().next()
            draws.append(tuple(noise.shape))
            return noise

    monkeypatch.setattr(webui.rng, "ImageRNG", CountingRNG)
    txt2img(webui, "Euler SMEA Dy", batch_size=3, steps=6)
    assert draws == [(3, 4, 8, 8)] * 7  # the starting noise, then one draw per step


def test_without_p_rng_the_global_generator_is_used_and_that_is_logged_once_per_job(webui, caplog):
    glue, info = webui.glue, SAMPLERS_BY_LABEL["Euler Dy"]
    function = glue.sampler_function(webui.glue.webui_host(), info)
    model = lambda x, sigma, **kwargs: x * 0.5  # noqa: E731 - a denoiser without .p, as some extensions call samplers
    sigmas = torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2, 0.0])
    with caplog.at_level(logging.WARNING):
        webui.shared.state.begin()
        torch.manual_seed(0)
        first = function(model, torch.ones(1, 4, 8, 8), sigmas, disable=True)
        torch.manual_seed(0)
        second = function(model, torch.ones(1, 4, 8, 8), sigmas, disable=True)
        assert len(records(caplog)) == 1  # two runs of one job, one line
        webui.shared.state.begin()
        function(model, torch.ones(1, 4, 8, 8), sigmas, disable=True)
    assert torch.equal(first, second)
    lines = records(caplog)
    assert len(lines) == 2 and all("p.rng" in line.getMessage() for line in lines)  # the next job says it again


def test_a_seeded_generator_of_another_shape_falls_back_once_per_run(webui, caplog):
    class RNG:
        def next(self):
            return torch.zeros(1, 4, 16, 16)

    model = lambda x, sigma, **kwargs: x * 0.5  # noqa: E731
    model.p = SimpleNamespace(extra_generation_params={}, rng=RNG())
    function = webui.glue.sampler_function(webui.glue.webui_host(), SAMPLERS_BY_LABEL["Euler Negative"])
    with caplog.at_level(logging.WARNING):
        out = function(model, torch.ones(1, 4, 8, 8), torch.tensor([3.0, 2.0, 1.0, 0.0]), disable=True)
    assert out.shape == (1, 4, 8, 8)
    [line] = records(caplog)
    assert "(1, 4, 16, 16)" in line.getMessage()


def test_a_seeded_generator_of_another_shape_is_asked_no_more_in_that_run(webui):
    draws = []

    class RNG:
        def next(self):
            draws.append(1)
            return torch.zeros(1, 4, 16, 16)

    p = SimpleNamespace(rng=RNG())
    noise_sampler = webui.glue.seeded_noise(p, torch.ones(1, 4, 8, 8), "Euler Dy")
    for _ in range(5):
        assert noise_sampler(1.0, 0.5).shape == (1, 4, 8, 8)
    assert len(draws) == 1  # a draw that cannot be used is not drawn again on every step


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_seeded_noise_comes_in_the_latents_dtype(webui, dtype):
    """p.rng draws float32 (modules/rng.py); half-precision latents must not be promoted by it."""
    p = SimpleNamespace(rng=SimpleNamespace(next=lambda: torch.randn(1, 4, 8, 8)))
    noise = webui.glue.seeded_noise(p, torch.ones(1, 4, 8, 8, dtype=dtype), "Euler Dy")(1.0, 0.5)
    assert noise.dtype == dtype


# --- inpainting, inpainting models, hires fix ------------------------------------------------------------------


@pytest.mark.parametrize("label", RESAMPLING)
def test_inpaint_with_a_9_channel_model_runs_every_sub_step_and_restores_the_blend_tensors(make_webui, label, caplog):
    webui = make_webui(argv=["--smea-strict"])  # any shape error would raise instead of falling back
    webui.shared.sd_model = webui.sd_models.ToyCheckpoint(inpainting=True)
    with caplog.at_level(logging.WARNING):
        result, p = img2img(webui, label, batch_size=2, steps=12, denoising_strength=0.75)
    assert result.images.shape == (2, 4, 8, 8)
    assert SUB_STEP_SIZES & set(webui.shared.sd_model.calls)  # sub-steps ran on the 9-channel model
    denoiser = p.sampler.model_wrap_cfg
    assert denoiser.init_latent is p.init_latent and denoiser.mask is p.mask and denoiser.nmask is p.nmask
    kept = p.mask.bool().expand_as(result.images)
    assert torch.equal(result.images[kept], p.init_latent[kept])  # the unmasked half is the original
    assert not records(caplog, "smea_sampler")


@pytest.mark.parametrize("label", RESAMPLING)
def test_txt2img_with_an_inpainting_model_maps_its_image_conditioning(make_webui, label):
    webui = make_webui(argv=["--smea-strict"])
    webui.shared.sd_model = webui.sd_models.ToyCheckpoint(inpainting=True)
    result, _ = txt2img(webui, label, steps=6)
    assert result.images.shape == (1, 4, 8, 8)
    assert SUB_STEP_SIZES & set(webui.shared.sd_model.calls)


@pytest.mark.parametrize("label", LABELS)
def test_hires_fix_second_pass_runs_at_the_new_size_and_reproduces(webui, label):
    fields = dict(seed=3, steps=6, enable_hr=True, hr_sampler_name=label, hr_second_pass_steps=6,
                  denoising_strength=0.6)
    result, p = txt2img(webui, "Euler", **fields)
    again, _ = txt2img(webui, "Euler", **fields)
    assert result.images.shape == (1, 4, 16, 16)
    assert torch.equal(result.images, again.images)
    assert p.rng.shape == (4, 16, 16)
    if SAMPLERS_BY_LABEL[label].resamples:
        assert {(8, 8), (20, 20)} & set(webui.shared.sd_model.calls[-12:])  # sub-steps of the 16×16 pass


# --- fallback and --smea-strict --------------------------------------------------------------------------------


@pytest.mark.parametrize("label", RESAMPLING)
def test_a_sub_step_the_model_cannot_take_falls_back_to_euler_logged_once_per_job(webui, label, caplog):
    webui.shared.sd_model.control = torch.ones(1, 4, 8, 8)  # a ControlNet-like residual at the full size
    with caplog.at_level(logging.WARNING):
        result, _ = txt2img(webui, label, steps=8, n_iter=3)  # three sampling runs, one job
    assert result.images.shape == (3, 4, 8, 8) and torch.isfinite(result.images).all()
    [line] = records(caplog, "smea_sampler")
    assert label in line.getMessage() and "plain Euler" in line.getMessage()
    assert webui.shared.state.sampling_step == 7  # it finished every step
    with caplog.at_level(logging.WARNING):
        txt2img(webui, label, steps=8)
    assert len(records(caplog, "smea_sampler")) == 2  # a new job logs its own line


def test_smea_strict_makes_a_failing_sub_step_raise(make_webui):
    webui = make_webui(argv=["--smea-strict"])
    assert webui.shared.cmd_opts.smea_strict is True
    webui.shared.sd_model.control = torch.ones(1, 4, 8, 8)
    with pytest.raises(RuntimeError, match="must match the size"):
        txt2img(webui, "Euler Dy", steps=8)


# --- flow-matching models --------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
def test_flow_matching_models_are_refused_before_any_model_call(webui, label):
    webui.shared.sd_model = webui.sd_models.FlowCheckpoint()
    with pytest.raises(RuntimeError, match="flow-matching"):
        txt2img(webui, label, steps=6)
    assert webui.shared.sd_model.calls == []


def test_flow_detection_reads_forge_predictors_comfy_model_sampling_and_the_schedule(webui):
    is_flow = webui.glue.is_flow_model
    ns = type("NS", (torch.nn.Module,), {})

    def denoiser(**attributes):
        inner = ns()
        for name, value in attributes.items():
            setattr(inner, name, value)
        outer = ns()
        outer.inner_model = inner
        return outer

    class ModelSamplingDiscreteFlow:  # reForge / ComfyUI model_sampling class of SD3
        pass

    class CONST:
        pass

    class ModelSamplingSD3(ModelSamplingDiscreteFlow, CONST):
        pass

    class Broken:
        @property
        def predictor(self):
            raise TypeError("'Tensor' object is not callable")

    sd1 = torch.linspace(0.03, 14.6, 1000)
    assert is_flow(denoiser(predictor=type("P", (), {"prediction_type": "const"})(), sigmas=sd1))
    assert is_flow(denoiser(model_sampling=ModelSamplingSD3(), sigmas=sd1))
    assert is_flow(denoiser(sigmas=torch.linspace(0.001, 1.0, 100)))
    assert not is_flow(denoiser(predictor=type("P", (), {"prediction_type": "epsilon"})(), sigmas=sd1))
    assert not is_flow(denoiser(sigmas=sd1))
    assert not is_flow(type("M", (), {"inner_model": Broken()})())
    sampler = webui.sd_samplers.create_sampler("Euler Dy", webui.shared.sd_model)
    assert not is_flow(sampler.model_wrap_cfg)


# --- interrupts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
def test_interrupt_stops_sampling_and_the_webui_gets_a_full_size_latent(webui, label, monkeypatch, caplog):
    model = webui.shared.sd_model
    apply_model = model.apply_model

    def interrupt_during_the_fourth_call(x, t, cond):
        if len(model.calls) == 3:
            webui.shared.state.interrupt()
        return apply_model(x, t, cond)

    monkeypatch.setattr(model, "apply_model", interrupt_during_the_fourth_call)
    predictions = []  # every prediction the CFG denoiser made: its live previews and the guided ones it returned
    monkeypatch.setattr(webui.sd_samplers_common, "store_latent", predictions.append)
    finish = webui.sd_samplers_cfg_denoiser.CFGDenoiser.finish
    monkeypatch.setattr(webui.sd_samplers_cfg_denoiser.CFGDenoiser, "finish",
                        lambda self, *args, **kwargs: predictions.append(finish(self, *args, **kwargs)) or
                        predictions[-1])
    with caplog.at_level(logging.WARNING):
        result, p = txt2img(webui, label, steps=8)
    assert len(model.calls) == 4  # the next call raised InterruptedException before reaching the model
    if SAMPLERS_BY_LABEL[label].resamples:
        assert model.calls[3] in SUB_STEP_SIZES  # the last call the WebUI saw was a sub-step's
    # launch_sampling caught the interrupt and returned last_latent: a full-size prediction, to be decoded
    assert result.images.shape == (1, 4, 8, 8) and torch.equal(result.images, p.sampler.last_latent)
    assert any(torch.equal(result.images, prediction) for prediction in predictions)
    assert not records(caplog, "smea_sampler")


def test_a_webui_interrupt_raised_inside_a_sub_step_propagates_out_of_the_sampler(webui):
    interrupted = webui.sd_samplers_common.InterruptedException

    def model(x, sigma, **kwargs):
        if x.shape[-1] != 8:
            raise interrupted
        return x * 0.5

    model.p = None
    function = webui.glue.sampler_function(webui.glue.webui_host(), SAMPLERS_BY_LABEL["Euler Dy"])
    with pytest.raises(interrupted):
        function(model, torch.ones(1, 4, 8, 8), torch.linspace(3, 0, 8), disable=True)
