"""Helpers for the WebUI glue tests: running jobs through the WebUI double, and spying on sampler functions."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging

import torch

from smea_sampler import SAMPLERS

LABELS = [info.label for info in SAMPLERS]
RESAMPLING = [info.label for info in SAMPLERS if info.resamples]
GLUE_LOGGER = "smea_sampler.webui"


def txt2img(webui, sampler, **fields):
    """A txt2img job: the job begins (as the UI's and API's wrappers begin one), then process_images."""
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name=sampler, **fields)
    webui.shared.state.begin()
    return webui.processing.process_images(p), p


def img2img(webui, sampler, mask=True, **fields):
    """An 8×8-latent img2img job; with mask, the right half of the latent is repainted (inpaint)."""
    init = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(7))
    image_mask = None
    if mask:
        image_mask = torch.zeros(8, 8)
        image_mask[:, 4:] = 1
    p = webui.processing.StableDiffusionProcessingImg2Img(sampler_name=sampler, init_latent=init,
                                                          image_mask=image_mask, **fields)
    webui.shared.state.begin()
    return webui.processing.process_images(p), p


def records(caplog, logger=GLUE_LOGGER, level=logging.WARNING):
    return [r for r in caplog.records if r.name == logger and r.levelno >= level]


class Spy:
    """Sampler infos whose functions record the arguments of every call by name, under labels "Spy <label>"."""

    def __init__(self):
        self.calls = []

    def infos(self, infos=SAMPLERS):
        return [dataclasses.replace(info, label=f"Spy {info.label}", alias=f"spy_{info.alias}",
                                    function=self._wrap(info.function)) for info in infos]

    def _wrap(self, function):
        signature = inspect.signature(function)

        @functools.wraps(function)  # the glue reads the signature through __wrapped__
        def spy(*args, **kwargs):
            self.calls.append(signature.bind(*args, **kwargs).arguments)
            return function(*args, **kwargs)

        return spy

    def register(self, webui, infos=SAMPLERS):
        """Register the spies in webui the way the glue registers ours; returns their labels."""
        spies = self.infos(infos)
        assert webui.glue.setup(spies) is not None
        return [info.label for info in spies]
