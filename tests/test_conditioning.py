"""Conditioning under a sub-step (SAMPLERS.md §4): latent-aligned tensors in extra_args and on the model
(declared with latent_attrs) are mapped with the latent for the sub-step's call and restored afterwards."""

from __future__ import annotations

import contextlib
from collections import namedtuple

import pytest
import torch
import torch.nn.functional as F

from smea_sampler import SAMPLERS, sample_euler_dy, sample_euler_smea_dy
from smea_sampler.substeps import map_latent_aligned
from tests.helpers import karras

RESAMPLING = [info for info in SAMPLERS if info.resamples]
H, W = 8, 12
LATENT_ATTRS = ("init_latent", "mask", "nmask")


class InpaintDenoiser:
    """Shaped like the WebUI's CFGDenoiser around an inpainting model: x is concatenated with a
    5-channel image_cond (9 channels in), and the result is blended with init_latent through
    mask / nmask, the way apply_blend does. Mismatched sizes fail as they do in the WebUI."""

    def __init__(self, batch=2):
        self.init_latent = torch.randn(batch, 4, H, W)
        self.mask = (torch.rand(4, H, W) > 0.5).float()  # the WebUI's latent mask is (C, H, W)
        self.nmask = 1 - self.mask
        self.weight = torch.randn(4, 9, 1, 1) * 0.1
        self.seen = []

    def __call__(self, x, sigma, cond=None, image_cond=None):
        self.seen.append({name: getattr(self, name) for name in LATENT_ATTRS} | {"x": x, "image_cond": image_cond})
        eps = F.conv2d(torch.cat([x, image_cond], dim=1), self.weight)  # "Sizes of tensors must match" if not mapped
        denoised = x - eps * sigma.reshape(-1, 1, 1, 1)
        return denoised * self.nmask + self.init_latent * self.mask  # "The size of tensor a …" if not mapped


def smea_up(t):
    """The SMEA map of SAMPLERS.md §2 applied to a tensor of rank 3 or 4."""
    up = F.interpolate(t.reshape(1, -1, H, W), scale_factor=1.25, mode="nearest-exact")
    return up.reshape(*t.shape[:-2], *up.shape[-2:])


def run(info, model, image_cond, **kwargs):
    x = torch.randn(2, 4, H, W) * 14.6
    return info.function(model, x, karras(8), extra_args={"cond": torch.randn(2, 77, 16), "image_cond": image_cond},
                         disable=True, latent_attrs=LATENT_ATTRS, **kwargs)


@pytest.mark.parametrize("info", RESAMPLING, ids=lambda info: info.label)
def test_sub_step_calls_see_every_latent_aligned_tensor_mapped_like_the_latent(info):
    model, image_cond = InpaintDenoiser(), torch.randn(2, 5, H, W)
    originals = {name: getattr(model, name) for name in LATENT_ATTRS}
    out = run(info, model, image_cond, fallback=False)
    assert out.shape == (2, 4, H, W)
    maps = {(H // 2, W // 2): lambda t: t[..., 1::2, 1::2], (10, 15): smea_up}
    sub_calls = [seen for seen in model.seen if seen["x"].shape[-2:] != (H, W)]
    assert len(sub_calls) == 2  # Dy twice, or SMEA once and Dy once
    for seen in sub_calls:
        spatial_map = maps[tuple(seen["x"].shape[-2:])]
        for name, full in [*originals.items(), ("image_cond", image_cond)]:
            assert torch.equal(seen[name], spatial_map(full)), name
    for seen in model.seen:
        if seen["x"].shape[-2:] == (H, W):
            assert all(seen[name] is originals[name] for name in LATENT_ATTRS)
    assert all(getattr(model, name) is originals[name] for name in LATENT_ATTRS)


def test_one_by_one_image_cond_dummies_are_left_alone():
    seen = []

    def model(x, sigma, cond=None, image_cond=None):
        seen.append(image_cond)
        return x * 0.5

    dummy = torch.zeros(2, 5, 1, 1)
    sample_euler_dy(model, torch.randn(2, 4, H, W), karras(6), extra_args={"image_cond": dummy}, disable=True)
    assert len(seen) == 8 and all(image_cond is dummy for image_cond in seen)


class Stop(BaseException):
    """Stands for the WebUI's InterruptedException."""


class RaisingInSubStep(InpaintDenoiser):
    def __init__(self, error):
        super().__init__()
        self.error = error
        self.raised = 0

    def __call__(self, x, sigma, **extra_args):
        if x.shape[-2:] != (H, W):
            assert self.mask.shape[-2:] == x.shape[-2:]  # mapped while the call runs
            self.raised += 1
            raise self.error
        return super().__call__(x, sigma, **extra_args)


@pytest.mark.parametrize(
    ("error", "raised"),
    [(Stop(), 1), (RuntimeError("The size of tensor a (4) must match the size of tensor b"), 2)],
)
def test_attributes_are_restored_when_the_sub_step_call_raises(error, raised):
    model = RaisingInSubStep(error)
    originals = {name: getattr(model, name) for name in LATENT_ATTRS}
    x = torch.randn(2, 4, H, W) * 14.6
    args = {"image_cond": torch.randn(2, 5, H, W)}
    with pytest.raises(Stop) if isinstance(error, Stop) else contextlib.nullcontext():
        sample_euler_smea_dy(model, x, karras(6), extra_args=args, disable=True, latent_attrs=LATENT_ATTRS)
    assert model.raised == raised  # the interrupt ends the run; shape errors fall back at both sub-steps
    assert all(getattr(model, name) is originals[name] for name in LATENT_ATTRS)


def test_without_the_mapping_the_inpaint_model_fails_the_way_the_webui_does():
    # Guards the double above: it must really reject unmapped conditioning, or the tests prove nothing.
    model = InpaintDenoiser()
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        model(torch.randn(2, 4, H // 2, W // 2), torch.ones(2), image_cond=torch.randn(2, 5, H, W))
    with pytest.raises(RuntimeError, match="must match the size"):
        model(torch.randn(2, 4, H // 2, W // 2), torch.ones(2), image_cond=torch.randn(2, 5, H // 2, W // 2))


def test_missing_and_none_attributes_are_skipped():
    class Txt2ImgDenoiser:  # the WebUI's denoiser outside img2img: mask and nmask are None
        mask = nmask = None

        def __call__(self, x, sigma, **extra_args):
            return x * 0.5

    model = Txt2ImgDenoiser()
    out = sample_euler_dy(model, torch.randn(1, 4, H, W), karras(6), disable=True,
                          latent_attrs=(*LATENT_ATTRS, "not_there"))
    assert out.shape == (1, 4, H, W)
    assert model.mask is None and not hasattr(model, "init_latent") and not hasattr(model, "not_there")


# The mapper itself: the host's objects go through untouched, copies keep their types (SAMPLERS.md §4).

Schedule = namedtuple("Schedule", ["end_at_step", "cond"])  # as the WebUI's ScheduledPromptConditioning


class Tagged(dict):
    """A dict subclass with an attribute of its own (like the WebUI's DictWithShape)."""


class HostObject:
    """An object the mapper does not know (like MulticondLearnedConditioning): never looked into."""

    def __init__(self, tensor):
        self.tensor = tensor


def halve(t):
    return t[..., ::2, ::2]


def test_objects_without_latent_aligned_tensors_come_back_as_the_very_same_objects():
    uncond = [[Schedule(3, torch.randn(77, 16)), Schedule(8, torch.randn(77, 16))]]
    extra_args = {"cond": HostObject(torch.randn(2, 4, H, W)), "uncond": uncond, "image_cond": torch.zeros(2, 5, 1, 1),
                  "cond_scale": 7.0, "sdxl": Tagged(crossattn=torch.randn(2, 77, 16), vector=torch.randn(2, 32))}
    assert map_latent_aligned(extra_args, torch.Size([H, W]), halve) is extra_args


def test_a_namedtuple_holding_a_latent_aligned_tensor_stays_that_namedtuple():
    entry = Schedule(3, torch.randn(2, 5, H, W))
    mapped = map_latent_aligned([[entry]], torch.Size([H, W]), halve)
    assert type(mapped[0][0]) is Schedule and mapped[0][0].end_at_step == 3
    assert torch.equal(mapped[0][0].cond, halve(entry.cond))


def test_copies_keep_dict_subclasses_and_their_attributes_and_share_untouched_items():
    vector = torch.randn(2, 32)
    value = Tagged(c_concat=torch.randn(2, 5, H, W), vector=vector)
    value.note = "kept"
    mapped = map_latent_aligned(value, torch.Size([H, W]), halve)
    assert type(mapped) is Tagged and mapped.note == "kept" and mapped is not value
    assert mapped["vector"] is vector and mapped["c_concat"].shape == (2, 5, H // 2, W // 2)
    assert value["c_concat"].shape == (2, 5, H, W)  # the original is not changed


def test_unknown_objects_are_left_alone_even_when_they_hold_latent_aligned_tensors():
    host = HostObject(torch.randn(2, 4, H, W))
    assert map_latent_aligned({"x": host}, torch.Size([H, W]), halve)["x"] is host
