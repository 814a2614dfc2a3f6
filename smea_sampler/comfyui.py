"""The ComfyUI adapter: the samplers under their KSampler names, and a "SMEA sampler" node for SamplerCustom.

The root __init__.py calls setup() when ComfyUI loads this folder from custom_nodes/ (COMFYUI.md §7).
- Names: each sampler is set as comfy.k_diffusion.sampling.sample_<comfy_name> and appended to ComfyUI's
  live name lists in place, so KSampler, KSamplerAdvanced, KSamplerSelect and /object_info list it (§1).
- Seeds: the noise comes from ComfyUI's seed (extra_args["seed"]), one generator per run, as ComfyUI's own
  ancestral samplers draw theirs (§3).
- Sub-steps: the inpaint wrapper's latent_image and noise, extra_args["denoise_mask"] and, in the guider's
  conds, model_conds tensors on the latent grid (c_concat), masks and areas follow the resampled latent for
  that one call; the guider's own conds are never changed (§2, §4).
ComfyUI's modules are imported only inside functions; the core never imports this module.
"""

from __future__ import annotations

import logging
import math

import torch

from .registry import KNOBS_BY_NAME, SAMPLERS, shown
from .sampling import post_cfg_uncond
from .substeps import map_latent_aligned

logger = logging.getLogger("smea_sampler.comfyui")

BY_NAME = {info.comfy_name: info for info in SAMPLERS}
MARK = "smea_sampler_label"  # set on our sampler functions, so that a second setup() recognises them
# KSamplerX0Inpaint's tensors on the latent grid: it blends with them on every model call.
LATENT_ATTRS = ("latent_image", "noise")
WRAPPER_KEY = "smea_sampler.sub_step"
CATEGORY = "sampling/custom_sampling/samplers"
NODE = "SMEASampler"
NODE_DISPLAY_NAME = "SMEA sampler"
# Knobs that came after the node was published: optional inputs after the others, so that a saved workflow keeps
# its widget values in their places and a saved API prompt without them still validates.
LATE_KNOBS = ("s_dy_pow",)


class FlowModelError(ValueError):
    """Our churn step assumes a VE-scaled (SD1/SDXL) model; a flow model (SD3, Flux) would get pure noise."""


# --- what runs at sampling time --------------------------------------------------------------------------------


def seeded_noise(x: torch.Tensor, seed):
    """A noise sampler drawing from one generator on x's device, seeded once with ComfyUI's seed.

    The same seed and settings give the same image. As with ComfyUI's own ancestral samplers, the draws
    cover the whole batch at once, so an image depends on the batch size it was made in."""
    generator = torch.Generator(device=x.device).manual_seed(int(seed))
    return lambda sigma, sigma_next: torch.randn(x.size(), generator=generator, device=x.device, dtype=x.dtype)


def is_flow_model(model) -> bool:
    """Whether model (ComfyUI's inpaint wrapper around the guider) samples a flow model (CONST model_sampling)."""
    import comfy.model_sampling

    flow = tuple(getattr(comfy.model_sampling, name) for name in ("CONST", "COSMOS_RFLOW")
                 if hasattr(comfy.model_sampling, name))
    model_sampling = getattr(getattr(getattr(model, "inner_model", None), "inner_model", None), "model_sampling", None)
    return isinstance(model_sampling, flow)


def scaled_area(area, full: torch.Size, size: torch.Size) -> tuple:
    """A cond's area (sizes then offsets, in latent units, last two dims spatial) on a resampled latent."""
    area = list(area)
    dims = len(area) // 2
    for k in range(dims - 2, dims):  # the spatial dims: sizes at k, offsets at dims + k
        ratio = size[k - dims + 2] / full[k - dims + 2]
        start = math.floor(area[dims + k] * ratio)
        end = math.ceil((area[dims + k] + area[k]) * ratio)
        area[k], area[dims + k] = max(1, end - start), start
    return tuple(area)


def mapped_cond(cond: dict, full: torch.Size, size: torch.Size, spatial_map) -> dict:
    """One processed cond of the guider as a sub-step's call must see it; the very same dict if nothing changes."""
    changed = {}
    model_conds = cond.get("model_conds")
    if model_conds:
        mapped = {key: remapped(value, full, spatial_map) for key, value in model_conds.items()}
        if any(mapped[key] is not value for key, value in model_conds.items()):
            changed["model_conds"] = mapped
    if isinstance(cond.get("mask"), torch.Tensor):
        changed["mask"] = map_latent_aligned(cond["mask"], full, spatial_map)
    if cond.get("area") is not None:
        changed["area"] = scaled_area(cond["area"], full, size)
    return {**cond, **changed} if changed else cond


def remapped(value, full: torch.Size, spatial_map):
    """A model_conds entry (a comfy.conds object such as c_concat's CONDNoiseShape) with its tensor mapped."""
    tensor = getattr(value, "cond", None)
    if isinstance(tensor, torch.Tensor) and hasattr(value, "_copy_with"):
        mapped = map_latent_aligned(tensor, full, spatial_map)
        return value if mapped is tensor else value._copy_with(mapped)
    return value


def conds_wrapper(full: torch.Size, spatial_map):
    """A CALC_COND_BATCH wrapper that hands the guider's conds, mapped, to this one sub-step call."""

    def wrapper(executor, model, conds, x_in, timestep, model_options):
        size = x_in.shape[-2:]
        mapped = [None if group is None else [mapped_cond(cond, full, size, spatial_map) for cond in group]
                  for group in conds]
        return executor(model, mapped, x_in, timestep, model_options)

    return wrapper


def map_extra_args(extra_args: dict, size: torch.Size, spatial_map) -> dict:
    """ComfyUI's extra_args for a sub-step's call: denoise_mask mapped, model_options a clone whose
    CALC_COND_BATCH wrapper maps the guider's conds (COMFYUI.md §4, option a). The originals are untouched."""
    import comfy.model_patcher
    import comfy.patcher_extension

    args = map_latent_aligned({key: value for key, value in extra_args.items() if key != "model_options"},
                              size, spatial_map)
    options = comfy.model_patcher.create_model_options_clone(extra_args.get("model_options", {}))
    comfy.patcher_extension.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.CALC_COND_BATCH, WRAPPER_KEY,
                                                 conds_wrapper(size, spatial_map), options, is_model_options=True)
    return {**args, "model_options": options}


def with_uncond(extra_args: dict):
    """(extra_args, uncond) for a CFG++ run (docs/family.md §6): model_options cloned with a post-CFG function that
    records each call's uncond_denoised (None where the call had no uncond) and disable_cfg1_optimization, so that
    CFG 1 still runs the uncond pass. The caller's model_options are untouched."""
    import comfy.model_patcher

    record, uncond = post_cfg_uncond()
    options = comfy.model_patcher.create_model_options_clone(extra_args.get("model_options", {}))
    options = comfy.model_patcher.set_model_options_post_cfg_function(options, record, disable_cfg1_optimization=True)
    return {**extra_args, "model_options": options}, uncond


def sampler_function(info):
    """The function ComfyUI runs for info: info.function with ComfyUI's seed and its latent-grid state.

    KSAMPLER calls it as fn(model, x, sigmas, extra_args=, callback=, disable=, **extra_options); the
    options are info's parameters and knobs (the SMEA sampler node passes them; KSampler passes none)."""
    accepted = {*info.params, *info.knobs}

    def sample(model, x, sigmas, extra_args=None, callback=None, disable=None, **options):
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise TypeError(f"{info.comfy_name} takes no option {', '.join(unknown)}")
        if is_flow_model(model):
            raise FlowModelError(
                f"{info.comfy_name} cannot sample flow models (SD3, Flux and the like): its churn step is made for "
                f"the noise scale of SD1/SDXL models and would leave pure noise. Choose a sampler made for them, "
                f"such as euler.")
        extra_args = {} if extra_args is None else extra_args
        seed = extra_args.get("seed")
        noise_sampler = None if seed is None else seeded_noise(x, seed)
        if noise_sampler is None:
            logger.warning("%s: ComfyUI passed no seed; the noise comes from torch's global generator",
                           info.comfy_name)
        host = {"latent_attrs": LATENT_ATTRS, "map_extra_args": map_extra_args} if info.resamples else {}
        if info.cfg_pp:
            extra_args, host["uncond"] = with_uncond(extra_args)
        return info.function(model, x, sigmas, extra_args=extra_args, callback=callback, disable=disable,
                             noise_sampler=noise_sampler, **host, **options)

    sample.__name__ = sample.__qualname__ = info.function.__name__
    sample.__doc__ = info.function.__doc__
    setattr(sample, MARK, info.label)
    return sample


# --- the names and the node ------------------------------------------------------------------------------------


def register_names() -> list[str]:
    """Set each sampler as k_diffusion.sampling.sample_<name> and append the name to ComfyUI's live lists, in place.

    A name ComfyUI or another pack already has is left to it (one log line). Calling this again adds nothing."""
    import comfy.k_diffusion.sampling as k_sampling
    import comfy.samplers

    name_lists = [comfy.samplers.KSAMPLER_NAMES, comfy.samplers.SAMPLER_NAMES]
    taken = []
    for info in SAMPLERS:
        name = info.comfy_name
        present = getattr(k_sampling, f"sample_{name}", None)
        if present is None and not any(name in names for names in name_lists):
            setattr(k_sampling, f"sample_{name}", sampler_function(info))
        elif not hasattr(present, MARK):
            taken.append(name)
            continue
        for names in name_lists:
            if name not in names:
                names.append(name)
    if taken:
        logger.warning("smea-samplers: %s already provided by ComfyUI or another custom node; that one stays active "
                       "and ours is not added (the SMEA sampler node still gives ours)", ", ".join(taken))
    return taken


def knob_input(knob) -> tuple:
    if knob.bounds is not None:
        low, high = knob.bounds
        return "FLOAT", {"default": knob.default, "min": low, "max": high, "step": knob.step, "tooltip": knob.help}
    return "STRING", {"default": knob.format(knob.default), "tooltip": knob.help}


class SMEASampler:
    """A SAMPLER for SamplerCustom / SamplerCustomAdvanced: one of our samplers with its knobs.

    The defaults give the original look. Each knob applies to the samplers its tooltip names."""

    CATEGORY = CATEGORY
    RETURN_TYPES = ("SAMPLER",)
    FUNCTION = "get_sampler"
    DESCRIPTION = "The Euler Smea Dyn samplers with their Dy and SMEA knobs, seeded from the sampler node's seed."

    @classmethod
    def INPUT_TYPES(cls):
        inputs = {"sampler_name": ([info.comfy_name for info in SAMPLERS], {"tooltip": "Which sampler."})}
        inputs.update((knob.name, knob_input(knob)) for knob in KNOBS_BY_NAME.values() if knob.name not in LATE_KNOBS)
        inputs["s_noise"] = ("FLOAT", {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.01,
                                       "tooltip": "Scales every noise the sampler adds (1: the original look)."})
        inputs["eta"] = ("FLOAT", {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.01,
                                   "tooltip": "Kohaku_LoNyu_Yog: the ancestral noise of its first half; Euler a Dy "
                                   "(and its CFG++), DPM++ 3M SDE Dy: their ancestral or SDE noise (0: none)."})
        return {"required": inputs, "optional": {name: knob_input(KNOBS_BY_NAME[name]) for name in LATE_KNOBS}}

    def get_sampler(self, sampler_name, s_noise=1.0, eta=1.0, **knobs):
        import comfy.samplers

        info = BY_NAME.get(sampler_name)
        if info is None:
            raise ValueError(f"unknown SMEA sampler {shown(sampler_name)}; choose one from the sampler_name list")
        options = {"s_noise": float(s_noise), **({"eta": float(eta)} if "eta" in info.params else {})}
        for name in info.knobs:
            knob = KNOBS_BY_NAME[name]
            value = knobs.get(name, knob.format(knob.default))
            try:
                options[name] = knob.parse(value)
            except ValueError as error:
                raise ValueError(f"SMEA sampler: {shown(value)} is not a valid {knob.label} for {sampler_name}: "
                                 f"{error}") from None
        return (comfy.samplers.KSAMPLER(sampler_function(info), extra_options=options),)


def setup() -> tuple[dict, dict]:
    """Register the names; returns ComfyUI's (NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS)."""
    register_names()
    return {NODE: SMEASampler}, {NODE: NODE_DISPLAY_NAME}
