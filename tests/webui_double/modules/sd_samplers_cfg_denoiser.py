"""Double of modules/sd_samplers_cfg_denoiser.py (v1.10.1): the CFG denoiser every k-diffusion sampler calls.

forward() keeps what matters to a sampler: it raises InterruptedException when the user interrupts or
skips; it reads cond (a MulticondLearnedConditioning) and uncond (lists of ScheduledPromptConditioning
namedtuples) by attribute through prompt_parser, picking the prompt-edit schedule entry by its call count
`step`; it batches one copy of x, sigma and image_cond per AND-prompt of each image plus one uncond copy
and calls the inner model with {c_crossattn, c_concat} (SDXL: the cond dict's keys and c_concat); it
combines them with the CFG scale and each AND-prompt's weight; with a mask it blends
`denoised * nmask + init_latent * mask` (apply_blend), which fails with torch's "The size of tensor a …"
error if x is not at init_latent's size; it records last_latent and counts its calls in `step`.
"""

import torch
from modules import prompt_parser, sd_samplers_common
from modules.shared import state


def catenate_conds(conds):
    if isinstance(conds[0], dict):
        return {key: torch.cat([cond[key] for cond in conds]) for key in conds[0]}
    return torch.cat(conds)


def make_condition_dict(c_crossattn, c_concat):
    if isinstance(c_crossattn, dict):
        return {**c_crossattn, "c_concat": [c_concat]}
    return {"c_crossattn": [c_crossattn], "c_concat": [c_concat]}


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

        conds_list, tensor = prompt_parser.reconstruct_multicond_batch(cond, self.step)
        uncond = prompt_parser.reconstruct_cond_batch(uncond, self.step)
        repeats = [len(conds) for conds in conds_list]

        def per_cond(t):
            return torch.cat([torch.stack([t[i]] * n) for i, n in enumerate(repeats)] + [t])

        x_in, sigma_in, image_cond_in = per_cond(x), per_cond(sigma), per_cond(image_cond)
        cond_in = catenate_conds([tensor, uncond])
        x_out = self.inner_model(x_in, sigma_in, cond=make_condition_dict(cond_in, image_cond_in))

        denoised_uncond = x_out[-uncond.shape[0]:]
        denoised = denoised_uncond.clone()
        for i, conds in enumerate(conds_list):
            for cond_index, weight in conds:
                denoised[i] += (x_out[cond_index] - denoised_uncond[i]) * (weight * cond_scale)

        if not self.mask_before_denoising and self.mask is not None:
            denoised = apply_blend(denoised)

        self.sampler.last_latent = denoised
        sd_samplers_common.store_latent(denoised)
        self.step += 1
        return denoised
