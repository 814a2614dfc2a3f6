"""Helpers for the ComfyUI adapter tests: conds as ComfyUI's nodes make them, and runs through the double."""

from __future__ import annotations

import torch

from smea_sampler import SAMPLERS

NAMES = [info.comfy_name for info in SAMPLERS]
RESAMPLING = [info.comfy_name for info in SAMPLERS if info.resamples]
H, W = 8, 12
SUB_STEP_SIZES = {(4, 6), (10, 15)}  # the Dy lattice of an 8×12 latent and its 1.25× SMEA enlargement


def cond(comfy, text="a toy", **extra):
    """A cond as CLIPTextEncode makes it (plus ConditioningSetArea's area or ConditioningSetMask's mask)."""
    generator = torch.Generator().manual_seed(len(text))
    cross_attn = torch.randn(1, 77, 8, generator=generator)
    return [{"model_conds": {"c_crossattn": comfy.conds.CONDCrossAttn(cross_attn)}, **extra}]


def latent(batch=1, seed=5):
    return torch.randn(batch, 4, H, W, generator=torch.Generator().manual_seed(seed))


def run(comfy, sampler, model=None, seed=1, steps=8, positive=None, negative=None, image=None, cfg=5.0, **kwargs):
    """A KSampler / SamplerCustom run: sampler is a KSampler name or a SAMPLER."""
    model = model or comfy.model_base.BaseModel()
    positive = positive or cond(comfy)
    negative = negative or cond(comfy, "")
    image = torch.zeros(1, 4, H, W) if image is None else image
    return comfy.sample.common_ksampler(model, seed, steps, cfg, sampler, positive, negative, image, **kwargs)
