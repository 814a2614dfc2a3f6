"""Double of comfy/model_base.py's BaseModel: a toy eps model that records the spatial size of every call.

Like the real one, apply_model concatenates c_concat to x (so a latent of another size fails with torch's
"Sizes of tensors must match" error) and returns the denoised prediction; an inpainting model (9 input
channels) gets its c_concat from concat_cond: the denoise mask and the masked latent, at the noise's size.
"""

import torch
from comfy import conds, model_sampling


class BaseModel:
    def __init__(self, inpainting=False, flow=False, seed=0):
        generator = torch.Generator().manual_seed(seed)
        self.in_channels = 9 if inpainting else 4
        self.weight = torch.randn(4, self.in_channels, generator=generator) * 0.2
        self.model_sampling = model_sampling.ModelSamplingDiscreteFlow() if flow else \
            model_sampling.ModelSamplingDiscrete()
        self.calls = []

    def apply_model(self, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options=None, **kwargs):
        self.calls.append(tuple(x.shape[-2:]))
        sigma = t.reshape(-1, 1, 1, 1)
        xc = x / (sigma**2 + 1) ** 0.5
        if c_concat is not None:
            xc = torch.cat([xc, c_concat], dim=1)
        eps = (self.weight[None, :, :, None, None] * xc[:, None]).sum(2)
        if c_crossattn is not None:
            eps = eps + 0.1 * c_crossattn.mean(dim=(1, 2)).reshape(-1, 1, 1, 1)
        if control is not None:
            eps = eps + control
        return x - eps * sigma

    def scale_latent_inpaint(self, sigma, noise, latent_image, **kwargs):
        return self.model_sampling.noise_scaling(sigma.reshape([sigma.shape[0]] + [1] * (len(noise.shape) - 1)),
                                                 noise, latent_image)

    def extra_conds(self, noise, latent_image=None, denoise_mask=None, **kwargs):
        """model_conds for a cond: c_concat for an inpainting model, laid out like the noise."""
        if self.in_channels != 9:
            return {}
        mask = torch.ones_like(noise[:, :1]) if denoise_mask is None else denoise_mask[:, :1]
        latent = torch.zeros_like(noise) if latent_image is None else latent_image * (1 - mask)
        return {"c_concat": conds.CONDNoiseShape(torch.cat([mask, latent], dim=1))}
