"""Double of modules/sd_samplers_cfg_denoiser.py (v1.10.1): the CFG denoiser every k-diffusion sampler calls.

forward() keeps what matters to a sampler: it raises InterruptedException when the user interrupts or
skips; it reads cond (a MulticondLearnedConditioning) and uncond (lists of ScheduledPromptConditioning
namedtuples) by attribute through prompt_parser, picking the prompt-edit schedule entry by its call count
`step`; it batches one copy of x, sigma and image_cond per AND-prompt of each image plus one uncond copy
and calls the inner model with {c_crossattn, c_concat} (SDXL: the cond dict's keys and c_concat); it
combines them with the CFG scale and each AND-prompt's weight; with a mask it blends
`denoised * nmask + init_latent * mask` (apply_blend), which fails with torch's "The size of tensor a …"
error if x is not at init_latent's size; it records last_latent (stored as the live preview) and counts its
calls in `step`.

The unconditional prediction, as each host gives it (what a CFG++ sampler reads, docs/family.md §6):
- CFGDenoiser (A1111 1.10.1): "Ignore negative prompt during early sampling" (skip_early_cond) and
  "Negative Guidance minimum sigma" (NGMS) drop the uncond rows and put the cond prediction in their place;
  with need_last_noise_uncond it keeps last_noise_uncond = x_out's uncond rows (x0 for k-diffusion), and
  last_latent is the cond prediction of each image, before the blend.
- ForgeCFGDenoiser (Forge dfdcbab6): skipping forces cond_scale to 1; at cond_scale 1 the uncond is not
  computed (zeros) unless the UNet's model_options has disable_cfg1_optimization; last_noise_uncond holds
  ε_u = (x − uncond_pred)/σ; last_latent is the blended denoised.
- ReforgeCFGDenoiser (reForge 3b56b268): forward(**kwargs) merges kwargs['model_options'] into a copy of the
  UNet's; skipping passes no uncond (its prediction: zeros); each sampler_post_cfg_function gets ComfyUI's args
  dict (uncond None where there was none) and returns the denoised.
"""

import math

import torch
from modules import prompt_parser, sd_samplers_common, shared
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
        self.need_last_noise_uncond = False
        self.last_noise_uncond = None

    @property
    def inner_model(self):
        raise NotImplementedError()

    def skips_uncond(self, sigma, s_min_uncond):
        """A1111's two reasons to leave the uncond out of a call (forge and reForge share them)."""
        if shared.opts.skip_early_cond != 0 and self.step / self.total_steps <= shared.opts.skip_early_cond:
            return True
        return bool((self.step % 2 or shared.opts.s_min_uncond_all) and s_min_uncond > 0 and sigma[0] < s_min_uncond)

    def predictions(self, x, sigma, uncond, cond, image_cond, with_uncond):
        """(conds_list, x_out): the inner model's x0 per AND-prompt of each image, then per image's uncond if asked."""
        conds_list, tensor = prompt_parser.reconstruct_multicond_batch(cond, self.step)
        uncond = prompt_parser.reconstruct_cond_batch(uncond, self.step)
        repeats = [len(conds) for conds in conds_list]

        def per_cond(t):
            return torch.cat([torch.stack([t[i]] * n) for i, n in enumerate(repeats)] + [t] * with_uncond)

        x_in, sigma_in, image_cond_in = per_cond(x), per_cond(sigma), per_cond(image_cond)
        cond_in = catenate_conds([tensor, uncond]) if with_uncond else tensor
        return conds_list, self.inner_model(x_in, sigma_in, cond=make_condition_dict(cond_in, image_cond_in))

    @staticmethod
    def combine(x_out, conds_list, denoised_uncond, cond_scale):
        denoised = denoised_uncond.clone()
        for i, conds in enumerate(conds_list):
            for cond_index, weight in conds:
                denoised[i] += (x_out[cond_index] - denoised_uncond[i]) * (weight * cond_scale)
        return denoised

    def finish(self, denoised, last_latent=None):
        """The blend, then last_latent (the blended denoised unless given) as the live preview shows it."""
        if not self.mask_before_denoising and self.mask is not None:
            denoised = denoised * self.nmask + self.init_latent * self.mask
        self.sampler.last_latent = denoised if last_latent is None else last_latent
        sd_samplers_common.store_latent(self.sampler.last_latent)  # live_preview_content "Prompt"
        self.step += 1
        return denoised

    def forward(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond):
        if state.interrupted or state.skipped:
            raise sd_samplers_common.InterruptedException
        skip_uncond = self.skips_uncond(sigma, s_min_uncond)
        conds_list, x_out = self.predictions(x, sigma, uncond, cond, image_cond, not skip_uncond)
        first_conds = torch.cat([x_out[conds[0][0]:conds[0][0] + 1] for conds in conds_list])
        if skip_uncond:  # the cond prediction where the uncond one should be
            x_out = torch.cat([x_out, first_conds])
        if getattr(self, "need_last_noise_uncond", False):  # (the attribute came with 1.10)
            self.last_noise_uncond = torch.clone(x_out[-len(conds_list):])
        denoised = self.combine(x_out, conds_list, x_out[-len(conds_list):], 1.0 if skip_uncond else cond_scale)
        return self.finish(denoised, last_latent=first_conds)


class ForgeCFGDenoiser(CFGDenoiser):
    def forward(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond):
        if state.interrupted or state.skipped:
            raise sd_samplers_common.InterruptedException
        if self.skips_uncond(sigma, s_min_uncond):
            cond_scale = 1.0
        options = self.inner_model.inner_model.forge_objects.unet.model_options
        with_uncond = not (math.isclose(cond_scale, 1.0) and not options.get("disable_cfg1_optimization", False))
        conds_list, x_out = self.predictions(x, sigma, uncond, cond, image_cond, with_uncond)
        uncond_pred = x_out[-len(conds_list):] if with_uncond else torch.zeros_like(x)
        denoised = self.combine(x_out, conds_list, uncond_pred, cond_scale)
        if self.need_last_noise_uncond:
            self.last_noise_uncond = (x - uncond_pred) / sigma[:, None, None, None]
        return self.finish(denoised)


class ReforgeCFGDenoiser(CFGDenoiser):
    def forward(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond, **kwargs):
        if state.interrupted or state.skipped:
            raise sd_samplers_common.InterruptedException
        options = self.inner_model.inner_model.forge_objects.unet.model_options
        if kwargs.get("model_options"):
            options = options.copy()
            options.update(kwargs["model_options"])
        skip_uncond = self.skips_uncond(sigma, s_min_uncond)
        if skip_uncond:
            cond_scale = 1.0
        with_uncond = not skip_uncond and not (math.isclose(cond_scale, 1.0)
                                               and not options.get("disable_cfg1_optimization", False))
        conds_list, x_out = self.predictions(x, sigma, uncond, cond, image_cond, with_uncond)
        first_conds = torch.cat([x_out[conds[0][0]:conds[0][0] + 1] for conds in conds_list])
        uncond_pred = x_out[-len(conds_list):] if with_uncond else torch.zeros_like(x)
        denoised = self.combine(x_out, conds_list, uncond_pred, cond_scale) if with_uncond else first_conds
        for function in options.get("sampler_post_cfg_function", []):
            denoised = function({"denoised": denoised, "cond": cond, "uncond": uncond if with_uncond else None,
                                 "cond_scale": cond_scale, "model": None, "uncond_denoised": uncond_pred,
                                 "cond_denoised": first_conds, "sigma": sigma, "model_options": options, "input": x})
        return self.finish(denoised)
