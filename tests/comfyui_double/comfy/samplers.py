"""Double of comfy/samplers.py (a125cd84): the name lists, KSAMPLER, KSamplerX0Inpaint, CFGGuider.

Kept as ComfyUI has them: SAMPLER_NAMES is a new list built from KSAMPLER_NAMES at import, and KSampler.SAMPLERS
is SAMPLER_NAMES itself; sampler_object(name) looks up k_diffusion.sampling.sample_<name> when a prompt runs.
KSAMPLER.sample puts denoise_mask into extra_args, wraps the guider in KSamplerX0Inpaint (latent_image, noise),
scales the noise and calls fn(model_k, x, sigmas, extra_args=, callback=, disable=, **extra_options), the
callback getting (i, denoised, x, total_steps). The guider processes its conds once per run (areas in latent
units, masks at the noise's size, the model's c_concat) and, per call, runs the CALC_COND_BATCH wrappers of the
call's model_options around calc_cond_batch, which crops x to each cond's area, weighs it by the cond's mask
and calls the model with the cond's model_conds: full-size conds meet a smaller x there and fail as in ComfyUI.
The guider's call is sampling_function's: the CFG 1 shortcut and the post-CFG functions.
"""

import math

import torch
import torch.nn.functional as F
from comfy import patcher_extension
from comfy.k_diffusion import sampling as k_diffusion_sampling

KSAMPLER_NAMES = ["euler", "euler_ancestral"]
SAMPLER_NAMES = [*KSAMPLER_NAMES, "ddim", "uni_pc", "uni_pc_bh2"]


class KSampler:
    SAMPLERS = SAMPLER_NAMES


class KSamplerX0Inpaint:
    def __init__(self, model, sigmas):
        self.inner_model = model
        self.sigmas = sigmas

    def __call__(self, x, sigma, denoise_mask, model_options={}, seed=None):  # noqa: B006 (ComfyUI's signature)
        if denoise_mask is not None:
            latent_mask = 1.0 - denoise_mask
            x = x * denoise_mask + self.inner_model.inner_model.scale_latent_inpaint(
                x=x, sigma=sigma, noise=self.noise, latent_image=self.latent_image) * latent_mask
        out = self.inner_model(x, sigma, model_options=model_options, seed=seed)
        if denoise_mask is not None:
            out = out * denoise_mask + self.latent_image * latent_mask
        return out


class KSAMPLER:
    def __init__(self, sampler_function, extra_options={}, inpaint_options={}):  # noqa: B006
        self.sampler_function = sampler_function
        self.extra_options = extra_options
        self.inpaint_options = inpaint_options

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        extra_args["denoise_mask"] = denoise_mask
        model_k = KSamplerX0Inpaint(model_wrap, sigmas)
        model_k.latent_image = latent_image
        model_k.noise = noise
        model_sampling = model_wrap.inner_model.model_sampling
        noise = model_sampling.noise_scaling(sigmas[0], noise, latent_image, max_denoise=True)
        total_steps = len(sigmas) - 1
        k_callback = None if callback is None else (lambda d: callback(d["i"], d["denoised"], d["x"], total_steps))
        samples = self.sampler_function(model_k, noise, sigmas, extra_args=extra_args, callback=k_callback,
                                        disable=disable_pbar, **self.extra_options)
        return model_sampling.inverse_noise_scaling(sigmas[-1], samples)


def ksampler(sampler_name, extra_options={}, inpaint_options={}):  # noqa: B006
    return KSAMPLER(getattr(k_diffusion_sampling, f"sample_{sampler_name}"), extra_options, inpaint_options)


def sampler_object(name):
    return ksampler("euler" if name == "ddim" else name)


def get_area_and_mult(cond, x_in):
    """(input_x, mult, area, conditioning) for one cond, as ComfyUI crops and weighs it."""
    dims = x_in.shape[2:]
    area = None
    input_x = x_in
    if "area" in cond:
        area = list(cond["area"])
        for i in range(len(dims)):
            area[i] = min(input_x.shape[i + 2] - area[len(dims) + i], area[i])
            input_x = input_x.narrow(i + 2, area[len(dims) + i], area[i])
    if "mask" in cond:
        mask = cond["mask"][:input_x.shape[0]]
        if area is not None:
            for i in range(len(dims)):
                mask = mask.narrow(i + 1, area[len(dims) + i], area[i])
        mult = mask.unsqueeze(1).repeat((input_x.shape[0] // mask.shape[0], input_x.shape[1]) + (1,) * len(dims))
    else:
        mult = torch.ones_like(input_x)
    mult = mult * cond.get("strength", 1.0)
    conditioning = {key: value.process_cond(batch_size=x_in.shape[0], area=area).cond
                    for key, value in cond["model_conds"].items()}
    return input_x, mult, area, conditioning


def _calc_cond_batch(model, conds, x_in, timestep, model_options):
    out = []
    for group in conds:
        total, counts = torch.zeros_like(x_in), torch.ones_like(x_in) * 1e-37
        for cond in group or []:
            input_x, mult, area, conditioning = get_area_and_mult(cond, x_in)
            control = cond.get("control")
            if control is not None:  # a ControlNet computes its residual for this very x (it resizes its hint)
                control = control.get_control(input_x, timestep, conditioning, len(conds))
            output = model.apply_model(input_x, timestep, control=control, **conditioning)
            region = (slice(None), slice(None)) if area is None else (
                slice(None), slice(None), *(slice(area[2 + i], area[2 + i] + area[i]) for i in range(2)))
            total[region] += output * mult
            counts[region] += mult
        out.append(total / counts)
    return out


def calc_cond_batch(model, conds, x_in, timestep, model_options):
    wrappers = patcher_extension.get_all_wrappers(patcher_extension.WrappersMP.CALC_COND_BATCH, model_options,
                                                  is_model_options=True)
    return patcher_extension.WrapperExecutor.new_executor(_calc_cond_batch, wrappers).execute(
        model, conds, x_in, timestep, model_options)


def process_conds(model, noise, conds, latent_image=None, denoise_mask=None):
    """Per run: each cond copied, its mask resized to the noise's H×W, its model_conds completed by the model."""
    processed = {}
    for key, group in conds.items():
        processed[key] = []
        for cond in group:
            cond = dict(cond)
            if "mask" in cond:
                mask = cond["mask"] if cond["mask"].ndim == 3 else cond["mask"][None]
                cond["mask"] = F.interpolate(mask[:, None], size=noise.shape[2:], mode="bilinear")[:, 0]
            cond["model_conds"] = {**cond["model_conds"],
                                   **model.extra_conds(noise, latent_image=latent_image, denoise_mask=denoise_mask)}
            processed[key].append(cond)
    return processed


class CFGGuider:
    def __init__(self, model, positive, negative, cfg):
        self.inner_model = model
        self.model_options = {"transformer_options": {}}
        self.original_conds = {"positive": positive, "negative": negative}
        self.cfg = cfg

    def __call__(self, x, timestep, model_options={}, seed=None):  # noqa: B006
        """sampling_function and cfg_function: at CFG 1 no uncond pass (its prediction: zeros) unless model_options
        has disable_cfg1_optimization; then each sampler_post_cfg_function gets ComfyUI's args dict."""
        negative = self.conds["negative"]
        if math.isclose(self.cfg, 1.0) and not model_options.get("disable_cfg1_optimization", False):
            negative = None
        cond_pred, uncond_pred = calc_cond_batch(self.inner_model, [self.conds["positive"], negative], x, timestep,
                                                 model_options)
        denoised = uncond_pred + (cond_pred - uncond_pred) * self.cfg
        for function in model_options.get("sampler_post_cfg_function", []):
            denoised = function({"denoised": denoised, "cond": self.conds["positive"], "uncond": negative,
                                 "cond_scale": self.cfg, "model": self.inner_model, "uncond_denoised": uncond_pred,
                                 "cond_denoised": cond_pred, "sigma": timestep, "model_options": model_options,
                                 "input": x})
        return denoised

    def sample(self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=True,
               seed=None):
        self.conds = process_conds(self.inner_model, noise, self.original_conds, latent_image, denoise_mask)
        extra_args = {"model_options": patcher_extension.copy_nested_dicts(self.model_options), "seed": seed}
        return sampler.sample(self, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar)
