"""Double of modules/sd_samplers_cfg_denoiser.py (v1.10.1): the CFG denoiser every k-diffusion sampler calls.

forward() keeps what matters to a sampler: it raises InterruptedException when the user interrupts or
skips; it batches cond and uncond copies of x, sigma and image_cond and calls the inner model with
{c_crossattn, c_concat}; it combines them with the CFG scale; with a mask it blends
`denoised * nmask + init_latent * mask` (apply_blend), which fails with torch's "The size of tensor a …"
error if x is not at init_latent's size; it records last_latent and counts its calls in `step`.
"""

import torch
from modules import sd_samplers_common
from modules.shared import state


class CFGDenoiser(torch.nn.Module):
    def __init__(self, sampler):
        super().__init__()
        self.model_wrap = None
        self.mask = None
        self.nmask = None
        self.init_latent = None
        self.steps = None
        self.total_steps = None
        self.step = 0
        self.image_cfg_scale = None
        self.sampler = sampler
        self.p = None
        self.mask_before_denoising = False

    @property
    def inner_model(self):
        raise NotImplementedError()

    def forward(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond):
        if state.interrupted or state.skipped:
            raise sd_samplers_common.InterruptedException

        def apply_blend(current_latent):
            return current_latent * self.nmask + self.init_latent * self.mask

        batch_size = x.shape[0]
        x_in = torch.cat([x, x])
        sigma_in = torch.cat([sigma, sigma])
        image_cond_in = torch.cat([image_cond, image_cond])
        cond_in = torch.cat([cond, uncond])

        x_out = self.inner_model(x_in, sigma_in, cond={"c_crossattn": [cond_in], "c_concat": [image_cond_in]})
        denoised_uncond = x_out[batch_size:]
        denoised = denoised_uncond + (x_out[:batch_size] - denoised_uncond) * cond_scale

        if not self.mask_before_denoising and self.mask is not None:
            denoised = apply_blend(denoised)

        self.sampler.last_latent = denoised
        sd_samplers_common.store_latent(denoised)
        self.step += 1
        return denoised
