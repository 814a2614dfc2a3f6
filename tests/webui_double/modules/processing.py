"""Double of modules/processing.py (v1.10.1): the path from a request to the sampler, without text encoder or VAE.

Kept from the WebUI, in order: process_images applies p.override_settings to opts and restores them
afterwards (that is how infotext "Override settings" and X/Y/Z overrides reach a sampler); seeds are
seed + k for image k and each batch gets `p.rng = ImageRNG((C, H/8, W/8), seeds, subseeds, ...)`; the
first rng.next() is the starting noise; txt2img calls sampler.sample with image conditioning of
shape (B, 5, 1, 1), or (B, 5, H, W) for an inpainting model; the hires pass makes a new sampler,
upscales the latent, rebuilds p.rng at the new shape and calls sample_img2img with explicit steps;
img2img with a mask sets p.mask = 1 − latmask and p.nmask = latmask (C, H, W) and blends after
sampling; create_infotext writes p.extra_generation_params with infotext_utils.quote.
Images are the final latents; prompts become fixed pseudo-random conditioning tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from modules import infotext_utils, prompt_parser, rng, sd_samplers, shared
from modules.shared import opts

LATENT_CHANNELS, OPT_F = 4, 8


@dataclass(repr=False)
class StableDiffusionProcessing:
    prompt: str = "a toy"
    negative_prompt: str = ""
    seed: int = 1
    subseed: int = -1
    subseed_strength: float = 0.0
    seed_resize_from_h: int = 0
    seed_resize_from_w: int = 0
    sampler_name: str = "Euler"
    scheduler: str = "Automatic"
    batch_size: int = 1
    n_iter: int = 1
    steps: int = 8
    cfg_scale: float = 5.0
    width: int = 64
    height: int = 64
    eta: float = None
    s_min_uncond: float = None
    s_churn: float = None
    s_tmax: float = None
    s_tmin: float = None
    s_noise: float = None
    denoising_strength: float = None
    override_settings: dict = None
    override_settings_restore_afterwards: bool = True
    extra_generation_params: dict = None
    is_hr_pass: bool = field(default=False, init=False)
    rng: rng.ImageRNG = field(default=None, init=False)
    scripts: object = field(default=None, init=False)

    def __post_init__(self):
        self.sampler_noise_scheduler_override = None
        self.extra_generation_params = self.extra_generation_params or {}
        self.override_settings = self.override_settings or {}
        self.sampler = None

    def fill_fields_from_opts(self):
        self.s_min_uncond = self.s_min_uncond if self.s_min_uncond is not None else opts.s_min_uncond
        self.s_churn = self.s_churn if self.s_churn is not None else opts.s_churn
        self.s_tmin = self.s_tmin if self.s_tmin is not None else opts.s_tmin
        self.s_tmax = (self.s_tmax if self.s_tmax is not None else opts.s_tmax) or float("inf")
        self.s_noise = self.s_noise if self.s_noise is not None else opts.s_noise

    def conds(self, steps):
        """(cond, uncond) for the batch as the WebUI's setup_conds builds them (prompt_parser)."""
        total_steps = sd_samplers.find_sampler_config(self.sampler_name).total_steps(steps)
        prompts = [self.prompt] * self.batch_size
        negative_prompts = [self.negative_prompt] * self.batch_size
        cond = prompt_parser.get_multicond_learned_conditioning(shared.sd_model, prompts, total_steps)
        uncond = prompt_parser.get_learned_conditioning(shared.sd_model, negative_prompts, total_steps)
        return cond, uncond

    def image_conditioning(self, x, mask=None, latent=None):
        if shared.sd_model.model.conditioning_key != "hybrid":
            return x.new_zeros(x.shape[0], 5, 1, 1)
        mask = torch.ones_like(x[:, :1]) if mask is None else mask.expand(x.shape[0], 1, *x.shape[-2:])
        latent = torch.zeros_like(x) if latent is None else latent * (1 - mask)
        return torch.cat([mask, latent], dim=1)


@dataclass(repr=False)
class StableDiffusionProcessingTxt2Img(StableDiffusionProcessing):
    enable_hr: bool = False
    hr_scale: float = 2.0
    hr_second_pass_steps: int = 0
    hr_sampler_name: str = None
    hr_scheduler: str = None

    def sample(self, cond, uncond):
        self.sampler = sd_samplers.create_sampler(self.sampler_name, shared.sd_model)
        x = self.rng.next()
        samples = self.sampler.sample(self, x, cond, uncond, image_conditioning=self.image_conditioning(x))
        if not self.enable_hr:
            return samples

        self.is_hr_pass = True
        self.sampler = sd_samplers.create_sampler(self.hr_sampler_name or self.sampler_name, shared.sd_model)
        samples = F.interpolate(samples, scale_factor=self.hr_scale, mode="nearest")
        self.rng = rng.ImageRNG(samples.shape[1:], self.seeds, subseeds=self.subseeds,
                                subseed_strength=self.subseed_strength)
        noise = self.rng.next()
        hr_steps = self.hr_second_pass_steps or self.steps
        cond, uncond = self.conds(hr_steps)
        samples = self.sampler.sample_img2img(self, samples, noise, cond, uncond, steps=hr_steps,
                                              image_conditioning=self.image_conditioning(samples))
        self.is_hr_pass = False
        return samples


@dataclass(repr=False)
class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    init_latent: torch.Tensor = None
    image_mask: torch.Tensor = None  # (H/8, W/8), 1 where the image is repainted
    denoising_strength: float = 0.75

    def init(self):
        self.sampler = sd_samplers.create_sampler(self.sampler_name, shared.sd_model)
        self.init_latent = self.init_latent.expand(self.batch_size, -1, -1, -1).clone()
        self.mask = self.nmask = None
        if self.image_mask is not None:
            latmask = self.image_mask.round().expand(self.init_latent.shape[1], -1, -1)
            self.mask = 1.0 - latmask
            self.nmask = latmask
        self.image_conditioning_tensor = self.image_conditioning(
            self.init_latent, None if self.image_mask is None else self.image_mask[None, None], self.init_latent)

    def sample(self, cond, uncond):
        x = self.rng.next()
        samples = self.sampler.sample_img2img(self, self.init_latent, x, cond, uncond,
                                              image_conditioning=self.image_conditioning_tensor)
        if self.mask is not None:
            samples = samples * self.nmask + self.init_latent * self.mask
        return samples


@dataclass
class Processed:
    images: torch.Tensor
    infotexts: list
    seeds: list


def create_infotext(p, index):
    generation_params = {"Steps": p.steps, "Sampler": p.sampler_name, "Seed": p.all_seeds[index],
                         **p.extra_generation_params}
    return ", ".join(f"{k}: {infotext_utils.quote(v)}" for k, v in generation_params.items() if v is not None)


def process_images(p):
    stored_opts = {k: opts.data[k] for k in p.override_settings if k in opts.data}
    try:
        for k, v in p.override_settings.items():
            opts.set(k, v, is_api=True, run_callbacks=False)
        p.sampler_name, p.scheduler = sd_samplers.get_sampler_and_scheduler(p.sampler_name, p.scheduler)
        return process_images_inner(p)
    finally:
        if p.override_settings_restore_afterwards:
            for k, v in stored_opts.items():
                setattr(opts, k, v)


def process_images_inner(p):
    p.fill_fields_from_opts()
    count = p.n_iter * p.batch_size
    p.all_seeds = [p.seed + i for i in range(count)]
    p.all_subseeds = [(p.subseed if p.subseed >= 0 else 0) + i for i in range(count)]
    if isinstance(p, StableDiffusionProcessingImg2Img):
        p.init()
    images, infotexts = [], []
    for n in range(p.n_iter):
        p.iteration = n
        p.seeds = p.all_seeds[n * p.batch_size:(n + 1) * p.batch_size]
        p.subseeds = p.all_subseeds[n * p.batch_size:(n + 1) * p.batch_size]
        p.rng = rng.ImageRNG((LATENT_CHANNELS, p.height // OPT_F, p.width // OPT_F), p.seeds, subseeds=p.subseeds,
                             subseed_strength=p.subseed_strength)
        images.append(p.sample(*p.conds(p.steps)))
        infotexts += [create_infotext(p, n * p.batch_size + i) for i in range(p.batch_size)]
    return Processed(torch.cat(images), infotexts, p.all_seeds)
