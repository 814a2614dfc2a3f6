"""Double of comfy/model_base.py's BaseModel: a toy eps model that records the spatial size of every call.

Like the real one, apply_model concatenates c_concat to x (so a latent of another size fails with torch's
"Sizes of tensors must match" error) and returns the denoised prediction; an inpainting model (9 input
channels) gets its c_concat from concat_cond: the denoise mask and the masked latent, at the noise's size.
An SDXL model (sdxl=True) also gets `y`, the ADM vector of pooled text and size embeddings (B, 2816, made for
the full image's size), as a CONDRegular, and cannot run without it.
"""

import torch
from comfy import conds, model_sampling


class BaseModel:
    ADM_CHANNELS = 2816

    def __init__(self, inpainting=False, flow=False, seed=0, sdxl=False):
        generator = torch.Generator().manual_seed(seed)
        self.sdxl = sdxl
        self.adm = torch.randn(1, self.ADM_CHANNELS, generator=generator)
        self.adm_seen = []  # the y of every call
        self.in_channels = 9 if inpainting else 4
        self.weight = torch.randn(4, self.in_channels, generator=generator) * 0.2
        self.model_sampling = model_sampling.ModelSamplingDiscreteFlow() if flow else \
            model_sampling.ModelSamplingDiscrete()
        self.calls = []

    def apply_model(self, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options=None, y=None,
                    **kwargs):
        self.calls.append(tuple(x.shape[-2:]))
        if self.sdxl:
            assert y is not None and y.shape == (x.shape[0], self.ADM_CHANNELS), "SDXL needs its ADM vector y"
            self.adm_seen.append(y)
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
        """model_conds for a cond: c_concat for an inpainting model, laid out like the noise; y for SDXL."""
        extra = {"y": conds.CONDRegular(self.adm)} if self.sdxl else {}
        if self.in_channels != 9:
            return extra
        mask = torch.ones_like(noise[:, :1]) if denoise_mask is None else denoise_mask[:, :1]
        latent = torch.zeros_like(noise) if latent_image is None else latent_image * (1 - mask)
        return {**extra, "c_concat": conds.CONDNoiseShape(torch.cat([mask, latent], dim=1))}
