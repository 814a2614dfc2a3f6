"""Double of comfy/model_sampling.py: EPS (SD1/SDXL) and CONST (flow: SD3, Flux) noise scaling, on SD1's
discrete schedule (σ from 0.029 to 14.6)."""

import torch


class EPS:
    def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
        sigma = sigma.view(sigma.shape[:1] + (1,) * (noise.ndim - 1))
        noise = noise * torch.sqrt(1.0 + sigma ** 2.0) if max_denoise else noise * sigma
        return noise + latent_image

    def inverse_noise_scaling(self, sigma, latent):
        return latent


class CONST:
    def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
        sigma = sigma.view(sigma.shape[:1] + (1,) * (noise.ndim - 1))
        return sigma * noise + (1.0 - sigma) * latent_image

    def inverse_noise_scaling(self, sigma, latent):
        return latent / (1.0 - sigma)


class Schedule:
    """The σ table of a model_sampling, ascending."""

    sigmas: torch.Tensor

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]


class ModelSamplingDiscrete(EPS, Schedule):
    def __init__(self):
        betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        self.sigmas = (((1 - alphas_cumprod) / alphas_cumprod) ** 0.5).float()


class ModelSamplingDiscreteFlow(CONST, Schedule):
    def __init__(self):
        self.sigmas = torch.linspace(0.001, 1.0, 1000)
