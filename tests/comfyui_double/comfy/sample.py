"""Double of comfy/sample.py and nodes.common_ksampler: seeded noise and a KSampler-like run.

prepare_noise seeds torch's global generator and draws on the CPU, as ComfyUI does; the schedule is Karras
over the model's σ range (ComfyUI's "karras"), and denoise < 1 takes the tail of a longer schedule.
"""

import torch
from comfy import samplers


def prepare_noise(latent_image, seed):
    generator = torch.manual_seed(seed)
    return torch.randn(latent_image.size(), dtype=latent_image.dtype, generator=generator, device="cpu")


def karras(n, sigma_min, sigma_max, rho=7.0):
    ramp = torch.linspace(0, 1, n)
    sigmas = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def calculate_sigmas(model, steps, denoise=1.0):
    total = steps if denoise >= 1 else int(steps / denoise)
    sigmas = karras(total, float(model.model_sampling.sigma_min), float(model.model_sampling.sigma_max))
    return sigmas[-(steps + 1):]


def common_ksampler(model, seed, steps, cfg, sampler, positive, negative, latent_image, denoise=1.0,
                    noise_mask=None, callback=None):
    """sampler: a KSampler name, or a SAMPLER object (SamplerCustom's input)."""
    sampler = samplers.sampler_object(sampler) if isinstance(sampler, str) else sampler
    noise = prepare_noise(latent_image, seed)
    if noise_mask is not None:
        noise_mask = noise_mask.expand_as(latent_image)
    guider = samplers.CFGGuider(model, positive, negative, cfg)
    return guider.sample(noise, latent_image, sampler, calculate_sigmas(model, steps, denoise), noise_mask,
                         callback, seed=seed)
