"""Sampling through ComfyUI's contract: seeds, sub-steps on inpainting and masked conditioning, interrupts,
flow models and the callback (COMFYUI.md §2-§6, SAMPLERS.md §4, §5)."""

from __future__ import annotations

import logging

import pytest
import torch

from smea_sampler import SAMPLERS
from tests.comfyui.support import NAMES, RESAMPLING, SUB_STEP_SIZES, H, W, cond, latent, run


def no_fallback(caplog):
    return not [record for record in caplog.records if record.name == "smea_sampler"]


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_image_whatever_torchs_global_generator_did(adapter, comfy, name):
    first = run(comfy, name, seed=7)
    torch.manual_seed(123)  # a prompt run between them, or another node, moved the global generator
    torch.randn(1000)
    again = run(comfy, name, seed=7)
    other = run(comfy, name, seed=8)
    assert first.shape == (1, 4, H, W) and torch.isfinite(first).all()
    assert torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize("name", NAMES)
def test_the_node_and_the_ksampler_name_give_the_same_image_at_default_knobs(adapter, comfy, name):
    (sampler,) = adapter.SMEASampler().get_sampler(name)
    assert torch.equal(run(comfy, sampler, seed=3), run(comfy, name, seed=3))


def test_the_nodes_knobs_reach_the_sampler(adapter, comfy):
    model = comfy.model_base.BaseModel()
    (sampler,) = adapter.SMEASampler().get_sampler("euler_dy", dy_steps="1,2,3")
    run(comfy, sampler, model=model, steps=8)
    assert model.calls.count((4, 6)) == 3 * 2  # three Dy sub-steps, each for the cond and the uncond
    model.calls.clear()
    (sampler,) = adapter.SMEASampler().get_sampler("euler_dy", dy_steps="none")
    run(comfy, sampler, model=model, steps=8)
    assert set(model.calls) == {(H, W)}


@pytest.mark.parametrize("name", RESAMPLING)
def test_inpainting_with_a_latent_noise_mask_runs_every_sub_step_and_keeps_the_unmasked_part(adapter, comfy, name,
                                                                                           caplog):
    model, image = comfy.model_base.BaseModel(), latent(seed=9)
    mask = torch.zeros(1, 1, H, W)
    mask[..., W // 2:] = 1  # SetLatentNoiseMask: repaint the right half
    with caplog.at_level(logging.WARNING):
        out = run(comfy, name, model=model, image=image, noise_mask=mask, steps=8)
    assert SUB_STEP_SIZES & set(model.calls) and no_fallback(caplog)
    assert torch.allclose(out[..., : W // 2], image[..., : W // 2], atol=1e-5)  # the last step lands on it


@pytest.mark.parametrize("name", RESAMPLING)
def test_an_inpainting_model_gets_its_c_concat_mapped_with_the_latent(adapter, comfy, name, caplog):
    # InpaintModelConditioning: a 9-channel model whose c_concat (mask + masked latent) is laid out like the noise
    model, image = comfy.model_base.BaseModel(inpainting=True), latent(seed=9)
    mask = torch.zeros(1, 1, H, W)
    mask[..., : H // 2, :] = 1
    with caplog.at_level(logging.WARNING):
        run(comfy, name, model=model, image=image, noise_mask=mask, steps=8)
        run(comfy, name, model=model, steps=8)  # and in txt2img
    assert SUB_STEP_SIZES & set(model.calls) and no_fallback(caplog)


@pytest.mark.parametrize("name", RESAMPLING)
def test_area_and_masked_conditioning_follow_the_sub_steps_latent(adapter, comfy, name, caplog):
    region = torch.zeros(1, H, W)
    region[:, 2:6, 3:9] = 1  # ConditioningSetMask
    positive = [*cond(comfy, "a house", area=(4, 6, 2, 3)),  # ConditioningSetArea: h, w, y, x in latent units
                *cond(comfy, "a tree", mask=region, strength=0.8)]
    model = comfy.model_base.BaseModel(inpainting=True)
    with caplog.at_level(logging.WARNING):
        out = run(comfy, name, model=model, positive=positive, steps=8)
    assert torch.isfinite(out).all() and SUB_STEP_SIZES & set(model.calls) and no_fallback(caplog)


@pytest.mark.parametrize("name", RESAMPLING)
def test_sdxl_gets_its_adm_vector_unchanged_on_every_sub_step(adapter, comfy, name, caplog):
    model = comfy.model_base.BaseModel(inpainting=True, sdxl=True)
    with caplog.at_level(logging.WARNING):
        out = run(comfy, name, model=model, steps=8)
    assert torch.isfinite(out).all() and SUB_STEP_SIZES & set(model.calls) and no_fallback(caplog)
    assert len(model.adm_seen) == len(model.calls)
    assert all(torch.equal(y, model.adm.expand_as(y)) for y in model.adm_seen)  # not resized: it is no image


def test_the_churn_noise_comes_from_the_seed():
    """Only a unit test can see this: in the real ComfyUI another seed also changes the starting noise."""
    from smea_sampler.comfyui import seeded_noise

    x = torch.zeros(2, 4, 8, 8)
    samplers = {seed: seeded_noise(x, seed) for seed in (7, 8)}
    draws = {seed: [sampler(1.0, 0.5) for _ in range(2)] for seed, sampler in samplers.items()}
    again = seeded_noise(x, 7)
    assert torch.equal(again(1.0, 0.5), draws[7][0]) and torch.equal(again(1.0, 0.5), draws[7][1])
    assert not torch.equal(draws[7][0], draws[7][1])  # one generator for the run, not one per draw
    assert not torch.allclose(draws[7][0], draws[8][0])


@pytest.mark.parametrize(("size", "expected"), [
    ((4, 4), (1, 2, 2, 1, 1, 2)),  # the Dy lattice: halved, the offset (2, 4) with it
    ((10, 10), (1, 6, 5, 1, 2, 5)),  # SMEA's 1.25×: the band y 2..6 becomes 2..8 (floor 2.5, ceil 7.5)
])
def test_a_shifted_area_lands_where_its_region_lands_on_the_sub_steps_latent(size, expected):
    from smea_sampler.comfyui import scaled_area

    area = (1, 4, 4, 1, 2, 4)  # ConditioningSetArea on a 3-D latent: sizes (1, 4, 4), offsets (1, 2, 4)
    assert scaled_area(area, torch.Size((8, 8)), torch.Size(size)) == expected


class ControlNet:
    """Like comfy.controlnet's get_control: the hint (pixel space) is resized to whatever x the call has."""

    def __init__(self):
        self.hint = torch.rand(1, 3, H * 8, W * 8)
        self.sizes = []

    def get_control(self, x, timestep, conditioning, batched_number):
        self.sizes.append(tuple(x.shape[-2:]))
        hint = torch.nn.functional.interpolate(self.hint, size=x.shape[-2:], mode="nearest-exact")
        return 0.05 * hint.mean(dim=1, keepdim=True).expand_as(x)


@pytest.mark.parametrize("name", RESAMPLING)
def test_controlnet_resizes_its_own_hint_for_the_sub_steps(adapter, comfy, name, caplog):
    control = ControlNet()
    with caplog.at_level(logging.WARNING):
        out = run(comfy, name, positive=cond(comfy, control=control), steps=8)
    assert torch.isfinite(out).all() and SUB_STEP_SIZES & set(control.sizes) and no_fallback(caplog)


def test_without_the_mapping_the_double_fails_as_comfyui_does(comfy):
    # Guards the double: full-size conds must really reject a resampled latent, or the tests above prove less.
    model = comfy.model_base.BaseModel(inpainting=True)
    guider = comfy.samplers.CFGGuider(model, cond(comfy), cond(comfy, ""), 5.0)
    noise = torch.zeros(1, 4, H, W)
    guider.conds = comfy.samplers.process_conds(model, noise, guider.original_conds)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        guider(torch.zeros(1, 4, H // 2, W // 2), torch.ones(1))


def test_the_guiders_conds_and_the_wrappers_tensors_are_the_originals_after_a_run(adapter, comfy, monkeypatch):
    seen = {}
    sample = comfy.samplers.KSAMPLER.sample

    def spy(self, model_wrap, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar):
        seen["guider"], seen["args"] = model_wrap, extra_args
        seen["conds"] = {key: [dict(c) for c in group] for key, group in model_wrap.conds.items()}
        seen["options"] = extra_args["model_options"]
        return sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar)

    monkeypatch.setattr(comfy.samplers.KSAMPLER, "sample", spy)
    mask = torch.ones(1, 1, H, W)
    run(comfy, "euler_smea_dy", model=comfy.model_base.BaseModel(inpainting=True), noise_mask=mask)
    for key, group in seen["guider"].conds.items():
        assert all(dict(c) == before for c, before in zip(group, seen["conds"][key], strict=True))
        assert all(c["model_conds"]["c_concat"].cond.shape[-2:] == (H, W) for c in group)
    assert seen["args"]["model_options"] is seen["options"]
    assert "wrappers" not in seen["options"]["transformer_options"]  # the sub-step's wrapper went to a clone
    assert seen["args"]["denoise_mask"].shape[-2:] == (H, W)


@pytest.mark.parametrize("name", NAMES)
def test_the_callback_gets_the_full_size_prediction_every_step(adapter, comfy, name):
    seen = []
    run(comfy, name, steps=6, callback=lambda i, denoised, x, total: seen.append((i, tuple(denoised.shape), total)))
    assert seen == [(i, (1, 4, H, W), 6) for i in range(6)]


def test_stop_raised_from_the_callback_ends_the_run(adapter, comfy):
    steps = []

    def callback(i, denoised, x, total):  # ComfyUI's progress hook raises Stop here
        steps.append(i)
        comfy.model_management.interrupt_current_processing()
        comfy.model_management.throw_exception_if_processing_interrupted()

    with pytest.raises(comfy.model_management.InterruptProcessingException):
        run(comfy, "euler_dy", callback=callback)
    assert steps == [0]


def test_an_out_of_memory_error_in_a_sub_step_propagates(adapter, comfy, monkeypatch):
    model = comfy.model_base.BaseModel()
    apply_model = model.apply_model

    def tight(x, t, **kwargs):
        if x.shape[-2:] != (H, W):
            raise torch.cuda.OutOfMemoryError("Tried to allocate 2.00 GiB for input size [2, 4, 10, 15]")
        return apply_model(x, t, **kwargs)

    monkeypatch.setattr(model, "apply_model", tight)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        run(comfy, "euler_smea_dy", model=model)


@pytest.mark.parametrize("name", NAMES)
def test_flow_models_are_refused_before_any_model_call(adapter, comfy, name):
    model = comfy.model_base.BaseModel(flow=True)
    with pytest.raises(adapter.FlowModelError, match="flow models"):
        run(comfy, name, model=model)
    assert model.calls == []


def test_img2img_at_denoise_0_6_runs_the_tail_of_the_schedule(adapter, comfy):
    model, image = comfy.model_base.BaseModel(), latent(seed=2)
    out = run(comfy, "euler_smea_dy", model=model, image=image, denoise=0.6, steps=6)
    assert torch.isfinite(out).all() and len([c for c in model.calls if c == (H, W)]) == 6 * 2  # cond and uncond


# --- CFG++ (docs/family.md §6) ---------------------------------------------------------------------------------

CFG_PP = [info.comfy_name for info in SAMPLERS if info.cfg_pp]


@pytest.mark.parametrize("name", CFG_PP)
def test_cfg_pp_runs_the_uncond_pass_at_cfg_1_and_leaves_the_guiders_options_alone(adapter, comfy, name, caplog,
                                                                                   monkeypatch):
    base, ours = comfy.model_base.BaseModel(), comfy.model_base.BaseModel()
    run(comfy, name.removesuffix("_cfg_pp"), model=base, cfg=1.0, steps=6)  # ComfyUI's CFG 1 shortcut: cond only
    guiders = []
    sample = comfy.samplers.CFGGuider.sample
    monkeypatch.setattr(comfy.samplers.CFGGuider, "sample",
                        lambda self, *args, **kwargs: guiders.append(self) or sample(self, *args, **kwargs))
    with caplog.at_level(logging.WARNING):
        out = run(comfy, name, model=ours, cfg=1.0, steps=6)
    assert len(ours.calls) == 2 * len(base.calls)  # the same calls, each with its uncond pass
    assert guiders[0].model_options == {"transformer_options": {}}
    assert torch.isfinite(out).all() and not caplog.records


@pytest.mark.parametrize("name", CFG_PP)
def test_cfg_pp_uses_the_unconditional_prediction(adapter, comfy, name, monkeypatch):
    given = run(comfy, name, cfg=1.5, steps=6)
    monkeypatch.setattr(adapter, "with_uncond", lambda extra_args: (extra_args, None))
    assert (given - run(comfy, name, cfg=1.5, steps=6)).abs().max() > 1e-3
