"""The WebUI adapter: registers the samplers in the Stable Diffusion WebUI (AUTOMATIC1111 1.6–1.10, Forge,
reForge), with their settings, infotext keys and X/Y/Z plot axes.

scripts/smea_samplers.py calls setup() when the WebUI's load_scripts() imports it; registering then, followed
by set_samplers(), reaches the dropdowns, the hires-fix list, the API and the X/Y/Z plot (WEBUI.md §2). Every
label, alias, parameter and knob comes from the registry; the sampling itself lives in the core modules.
It imports the WebUI's `modules` only inside setup(), so that a WebUI it does not fit gets one log line
and is left untouched; it must never hold any sampler math, and the core never imports it.
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import logging
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from types import SimpleNamespace

import torch

from .registry import CHURN_PARAMS, KNOBS, KNOBS_BY_NAME, SAMPLERS, SAMPLERS_BY_LABEL, shown
from .sampling import post_cfg_uncond
from .substeps import on_finer_grid

logger = logging.getLogger("smea_sampler.webui")

HOST_ARGS = ("model", "x", "sigmas", "extra_args", "callback", "disable")
# The CFG denoiser's tensors laid out on the latent grid: the inpaint blend reads them on every call (WEBUI.md §3).
LATENT_ATTRS = ("init_latent", "mask", "nmask")
# sd-webui-controlnet's ControlParams: the control images it hands the ControlNet on every UNet call, in image
# space (LATENT_FACTOR times the latent grid) or VAE-encoded on the latent grid. hint_cond is a property over
# _hint_cond in its current versions and a plain attribute in older ones.
CONTROL_ATTRS = ("_hint_cond", "hint_cond", "hr_hint_cond", "used_hint_cond", "used_hint_cond_latent",
                 "used_hint_inpaint_hijack")
LATENT_FACTOR = 8  # image pixels per latent cell along each side, in every model the WebUI runs (its opt_f)
# Which pass of a job is sampling ("hires pass" while p.is_hr_pass), so that its warnings are told apart.
SAMPLING_PASS = contextvars.ContextVar("smea_sampler_pass", default="")
# Every sampler draws its noise from p.rng, which eta noise seed delta reseeds, so ENSD belongs in the infotext.
# Option values must stay str/int/bool: the API's SamplerItem.options is dict[str, str].
OPTIONS = {"uses_ensd": True}
# The WebUI counts model calls to place prompt edits, the refiner switch and "skip early CFG"; second_order
# tells it a sampler makes about two calls per step.
TWO_CALLS_PER_STEP = {"second_order": True}
LABEL_OF_FUNCTION = {info.function.__name__: info.label for info in SAMPLERS}  # for the core's log records
SECTION = ("smea_samplers", "SMEA samplers")
CATEGORY = "sd"  # 1.7+ groups settings sections by category; "sd" is where "Sampler parameters" lives
STRICT_FLAG = "smea_strict"  # preload.py's --smea-strict
MARK = "smea_sampler_label"  # set on our constructors, so that "Reload UI" recognises the entries it made itself
REPLACES = "smea_sampler_replaces"  # on our constructors too: the WebUI's own entry that ours took the place of
# Where a WebUI's own samplers are defined (A1111's modules, Forge's and reForge's modules_forge, backend,
# ldm_patched); an extension's scripts load as modules named after their file ("smea.py").
HOST_PACKAGES = frozenset({"modules", "modules_forge", "backend", "ldm_patched", "k_diffusion"})
KEEP_BUILTINS = "smea_sampler_keep_builtins"
KEEP_BUILTINS_LABEL = "Keep the WebUI's own copies of the SMEA samplers where it has them"
AXIS_MARK = "[SMEA]"  # before our X/Y/Z axis names, as other extensions mark theirs ("[Hypertile] …")
# The WebUI modules the glue uses and what it needs of each; a missing one means a WebUI this glue does not know.
NEEDS = {
    "sd_samplers": ("all_samplers", "all_samplers_map", "set_samplers"),
    "sd_samplers_common": ("SamplerData", "InterruptedException"),
    "sd_samplers_kdiffusion": ("KDiffusionSampler", "sampler_extra_params"),
    "shared": ("opts", "cmd_opts", "OptionInfo"),
    "script_callbacks": ("on_before_ui",),
    "scripts": ("scripts_data",),
}
# Schedules of flow-matching models: Forge's backend/modules/k_prediction.py predictors and the
# ComfyUI-style model_sampling classes of reForge's ldm_patched/modules/model_sampling.py.
FLOW_SCHEDULES = frozenset({"PredictionFlux", "PredictionDiscreteFlow", "PredictionFlow", "CONST", "COSMOS_RFLOW",
                            "ModelSamplingDiscreteFlow", "ModelSamplingFlux", "ModelSamplingCosmosRFlow"})


MISSING = object()


class Incompatible(Exception):
    """The running WebUI lacks something the glue needs; the message names it."""


# --- the host --------------------------------------------------------------------------------------------------


def webui_host() -> SimpleNamespace:
    """The WebUI modules of NEEDS, checked; raises Incompatible naming the first thing missing."""
    host = {}
    for name, attributes in NEEDS.items():
        try:
            module = importlib.import_module(f"modules.{name}")
        except ImportError as error:
            raise Incompatible(f"cannot import modules.{name} ({error})") from None
        missing = [attribute for attribute in attributes if not hasattr(module, attribute)]
        if missing:
            raise Incompatible(f"modules.{name} has no {', '.join(missing)}")
        host[name] = module
    if not hasattr(host["sd_samplers_common"].SamplerData, "total_steps"):
        # SamplerData.total_steps came with 1.6, together with KDiffusionSampler accepting a callable.
        raise Incompatible("this WebUI is older than 1.6: its KDiffusionSampler only runs k-diffusion's own functions")
    return SimpleNamespace(**host)


def strict(host) -> bool:
    return bool(getattr(host.shared.cmd_opts, STRICT_FLAG, False))


# --- settings and knobs ----------------------------------------------------------------------------------------


def option_key(knob) -> str:
    return f"smea_sampler_{knob.name}"


def is_number(knob) -> bool:
    """A knob set with a slider (the SMEA scale, which has bounds); the others are step lists typed in a textbox."""
    return knob.bounds is not None


def setting_value(knob, value):
    """value as its setting stores it and the infotext shows it: a float, or the step list as text."""
    return float(value) if is_number(knob) else knob.format(value)


def in_section(info, help_text):
    """info placed in our Settings section's category, with its help text shown after the label."""
    info.category_id = CATEGORY  # an attribute 1.6 does not read
    return info.info(help_text)


def option_info(host, knob):
    """The Settings entry of knob; its infotext key is the knob's label, so PNG Info restores it as an override.

    A bad value is refused when it is set (Settings' Apply, POST /sdapi/v1/options): the WebUI runs onchange
    after storing it, and puts the old value back, with our message in the console, when onchange raises."""

    def refuse_bad_value():
        setting_of(knob, host.shared.opts)

    if is_number(knob):
        import gradio as gr  # the WebUI imported it long before it loads scripts

        low, high = knob.bounds
        slider = {"minimum": low, "maximum": high, "step": knob.step}
        info = host.shared.OptionInfo(knob.default, knob.label, gr.Slider, slider, section=SECTION,
                                      infotext=knob.label, onchange=refuse_bad_value)
    else:
        info = host.shared.OptionInfo(setting_value(knob, knob.default), knob.label, section=SECTION,
                                      infotext=knob.label, onchange=refuse_bad_value)
    return in_section(info, knob.help)


def setting_of(knob, opts):
    """knob's value as Settings (or an override from infotext or X/Y/Z) have it, parsed; a ValueError naming
    the setting for a bad one."""
    setting = getattr(opts, option_key(knob), None)
    try:
        return knob.default if setting is None else knob.parse(setting)
    except ValueError as error:
        raise ValueError(f"the setting {knob.label!r} = {shown(setting)} is not valid: {error}") from None


def knob_values(info, opts) -> dict:
    """info's knobs as Settings (or an override from infotext or X/Y/Z) have them, parsed."""
    values = {}
    for name in info.knobs:
        try:
            values[name] = setting_of(KNOBS_BY_NAME[name], opts)
        except ValueError as error:
            raise ValueError(f"{info.label}: {error}") from None
    return values


def record_knobs(p, values: dict) -> None:
    """Write the non-default knobs to p's infotext.

    Into a copy of p's extra_generation_params: the X/Y/Z plot's cells are shallow copies of one job that
    share that dict, and a value written into it would show in the infotext of every later cell."""
    params = getattr(p, "extra_generation_params", None)
    knobs = [(KNOBS_BY_NAME[name], value) for name, value in values.items()]
    written = {knob.label: setting_value(knob, value) for knob, value in knobs if not knob.is_default(value)}
    if params is not None and written:
        p.extra_generation_params = {**params, **written}


# --- what runs at sampling time --------------------------------------------------------------------------------


def _attribute(owner, name):
    """getattr for probing the WebUI's model wrappers, whose properties may raise on a model they do not fit."""
    try:
        return getattr(owner, name, None)
    except Exception:
        return None


def is_flow_model(model) -> bool:
    """Whether the CFG denoiser `model` wraps a flow-matching model (Flux, SD3, AuraFlow: σ in [0, 1]).

    Forge v2: its inner model is a ForgeScheduleLinker whose predictor has prediction_type 'const'.
    reForge / ComfyUI-style: a model_sampling of a CONST or *Flow class. Otherwise the schedule itself:
    no k-diffusion (VE-scaled) model tops out at σ ≤ 1 (SD1/2/XL: 14.6, EDM-style: 80 and more)."""
    inner = _attribute(model, "inner_model")
    schedules = (_attribute(inner, "predictor"), _attribute(inner, "model_sampling"),
                 _attribute(_attribute(inner, "inner_model"), "model_sampling"))
    for schedule in schedules:
        if schedule is None:
            continue
        if _attribute(schedule, "prediction_type") == "const":
            return True
        if any(cls.__name__ in FLOW_SCHEDULES for cls in type(schedule).__mro__):
            return True
    sigmas = _attribute(inner, "sigmas")
    return isinstance(sigmas, torch.Tensor) and sigmas.numel() > 0 and float(sigmas.max()) <= 1.0


def refuse_flow_model(model, label: str) -> None:
    if is_flow_model(model):
        raise RuntimeError(
            f"{label} cannot sample flow-matching models (Flux, SD3 and the like): its churn step is made for "
            f"the noise scale of SD1/SDXL models and would leave pure noise. Choose a sampler made for them, "
            f"such as Euler.")


def seeded_noise(p, x, label: str):
    """A noise sampler drawing from the WebUI's per-image seeded generator p.rng (1.6+), or None.

    rng.next() draws one latent per image from that image's own generator (seed, variation seed, ENSD),
    so an image does not depend on its batch, like the WebUI's own ancestral samplers. Without a usable
    p.rng, torch's global generator is used (the package's default) and the seed no longer reproduces
    the image; that is logged (once per job, see OncePerJob)."""
    rng = getattr(p, "rng", None)
    if not callable(getattr(rng, "next", None)):
        logger.warning("%s: this run has no per-image seeded generator (p.rng); the noise comes from torch's "
                       "global generator, so the seed will not reproduce the image", label)
        return None
    fallen_back = False

    def noise_sampler(sigma, sigma_next):
        nonlocal fallen_back
        if not fallen_back:
            noise = rng.next()
            if noise.shape == x.shape:
                return noise.to(device=x.device, dtype=x.dtype)
            fallen_back = True
            logger.warning("%s: the seeded generator (p.rng) gives noise of shape %s for a latent of shape %s; "
                           "using torch's global generator for the rest of this run, so the seed will not "
                           "reproduce the image", label, tuple(noise.shape), tuple(x.shape))
        return torch.randn_like(x)

    return noise_sampler


def control_units(p) -> list:
    """The units of sd-webui-controlnet's hook for job p (its script's latest_network.control_params), or []."""
    runner = getattr(p, "scripts", None)
    units = []
    for script in getattr(runner, "alwayson_scripts", None) or ():
        units.extend(getattr(getattr(script, "latest_network", None), "control_params", None) or ())
    return units


def control_following(p):
    """host_state for the sub-steps: sd-webui-controlnet's hints mapped like the latent for one sub-step call.

    That extension feeds its hint to the ControlNet at every UNet call and adds the hint's embedding to the
    UNet's first features, so a hint made for the full-size latent cannot meet a resampled one (WEBUI.md §3).
    Its hook picks the hint, the hires one or the other, by size; mapping both, and the VAE-encoded copies
    it keeps, lets it pick the same one at the sub-step's size. The instance attributes are written
    directly: hint_cond's setter would drop those copies. All are put back after the call."""

    @contextmanager
    def following(size, spatial_map):
        pixels = torch.Size(LATENT_FACTOR * n for n in size)
        on_pixels = on_finer_grid(spatial_map, LATENT_FACTOR)

        def follow(value):
            if not isinstance(value, torch.Tensor) or value.ndim < 2:
                return value
            if value.shape[-2:] == pixels:
                return on_pixels(value)
            return spatial_map(value) if value.shape[-2:] == size else value

        saved = []
        try:
            for unit in control_units(p):
                state = getattr(unit, "__dict__", {})
                mapped = {}  # by id: the hook tells which hint is in use by identity (used_hint_cond is hint_cond)
                for name in CONTROL_ATTRS:
                    if name in state:
                        value = state[name]
                        saved.append((state, name, value))
                        if id(value) not in mapped:
                            mapped[id(value)] = follow(value)
                        state[name] = mapped[id(value)]
            yield
        finally:
            for state, name, value in reversed(saved):
                state[name] = value

    return following


def forge_unet(model):
    """The UNet patcher of Forge's and reForge's CFG denoiser (model.inner_model.inner_model.forge_objects.unet),
    or None on A1111."""
    objects = _attribute(_attribute(_attribute(model, "inner_model"), "inner_model"), "forge_objects")
    return _attribute(objects, "unet")


def takes_keywords(function) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)


@contextmanager
def unconditional(model, extra_args):
    """(extra_args, uncond) for a CFG++ run on the WebUI's CFG denoiser `model`: uncond(x, σ) gives the
    unconditional x0 prediction of model's last call, or None where the WebUI has none (docs/family.md §6).

    - reForge: its forward() merges extra_args' model_options into the UNet's, so a post-CFG function there
      records uncond_denoised (None on a step where it skipped the uncond), and disable_cfg1_optimization
      keeps the uncond pass at CFG 1. The UNet's own options are not touched.
    - Forge: last_noise_uncond holds ε_u, so D_u = x − σ·ε_u; its forward() takes no model_options, so
      disable_cfg1_optimization goes into the UNet's options for the run and is put back afterwards.
    - A1111 1.10+: last_noise_uncond holds D_u. Where it skipped the uncond (skip early CFG, NGMS) it holds the
      cond prediction, the same as the sampler's last_latent: that is no D_u.
    - Older WebUIs have none; the sampler then runs its plain steps and says so."""
    options = _attribute(forge_unet(model), "model_options")
    forge = isinstance(options, dict)
    if forge and takes_keywords(getattr(model, "forward", None)):
        record, uncond = post_cfg_uncond()
        ours = {"sampler_post_cfg_function": [*options.get("sampler_post_cfg_function", []), record],
                "disable_cfg1_optimization": True}
        yield {**extra_args, "model_options": {**extra_args.get("model_options", {}), **ours}}, uncond
    elif not hasattr(model, "need_last_noise_uncond"):
        yield extra_args, None
    else:
        with temporarily(model.__dict__, "need_last_noise_uncond", True), \
                (temporarily(options, "disable_cfg1_optimization", True) if forge else nullcontext()):
            model.last_noise_uncond = None
            yield extra_args, forge_uncond(model) if forge else a1111_uncond(model)


@contextmanager
def temporarily(mapping: dict, key, value):
    """mapping[key] = value inside the block; afterwards as it was, absent if it was absent."""
    saved = mapping.get(key, MISSING)
    mapping[key] = value
    try:
        yield
    finally:
        if saved is MISSING:
            mapping.pop(key, None)
        else:
            mapping[key] = saved


def forge_uncond(model):
    """Forge's D_u: its last_noise_uncond is ε_u = (x − D_u)/σ."""
    return lambda x, sigma: None if model.last_noise_uncond is None else x - sigma * model.last_noise_uncond


def a1111_uncond(model):
    """A1111's D_u: its last_noise_uncond, unless it is the cond prediction it put there for a skipped uncond."""

    def uncond(x, sigma):
        denoised = model.last_noise_uncond
        cond = getattr(getattr(model, "sampler", None), "last_latent", None)
        skipped = (isinstance(cond, torch.Tensor) and isinstance(denoised, torch.Tensor)
                   and cond.shape == denoised.shape and torch.equal(cond, denoised))
        return None if denoised is None or skipped else denoised

    return uncond


def webui_signature(info) -> inspect.Signature:
    """info.function's signature cut to what the WebUI may pass: HOST_ARGS and info.params.

    KDiffusionSampler reads it: `sigmas` gets it the schedule, `eta` the eta setting, and each s_* name
    that sampler_extra_params lists the Settings value. Absent on purpose: `n` and `sigma_min`, which
    would make it pass those too, and the knobs, which it knows nothing of."""
    parameters = inspect.signature(info.function).parameters
    return inspect.Signature([parameter for name, parameter in parameters.items()
                              if name in HOST_ARGS or name in info.params])


def keep_last_latent_full_size(model, denoised) -> None:
    """On an interrupt the WebUI returns its sampler's last_latent, the prediction of the last model call; after a
    sub-step that is a resampled latent, which the WebUI would decode or blend at the wrong size. Put back the
    last full-size prediction."""
    sampler = getattr(model, "sampler", None)
    last = getattr(sampler, "last_latent", None)
    if isinstance(last, torch.Tensor) and last.shape != denoised.shape:
        sampler.last_latent = denoised


@contextmanager
def in_pass_of(p):
    """Marks which pass of job p samples inside the block (SAMPLING_PASS), so that its warnings are its own."""
    token = SAMPLING_PASS.set("hires pass" if getattr(p, "is_hr_pass", False) else "")
    try:
        yield
    finally:
        SAMPLING_PASS.reset(token)


def sampler_function(host, info):
    """The callable the WebUI runs for info: info.function with seeded noise, the knobs, the inpaint attributes."""

    def sample(model, x, sigmas, extra_args=None, callback=None, disable=None, **params):
        refuse_flow_model(model, info.label)
        p = getattr(model, "p", None)
        knobs = knob_values(info, host.shared.opts)
        record_knobs(p, knobs)
        with in_pass_of(p), (unconditional(model, extra_args or {}) if info.cfg_pp else
                             nullcontext((extra_args, None))) as (extra_args, uncond):
            noise_sampler = seeded_noise(p, x, info.label)
            if info.cfg_pp:
                params["uncond"] = uncond
            if not info.resamples:
                return info.function(model, x, sigmas, extra_args=extra_args, callback=callback, disable=disable,
                                     noise_sampler=noise_sampler, **params, **knobs)
            latest = {"denoised": x}  # what the WebUI's last_latent holds before the first model call

            def report(step):
                latest["denoised"] = step["denoised"]  # the step's full-size prediction
                if callback is not None:
                    callback(step)

            try:
                return info.function(model, x, sigmas, extra_args=extra_args, callback=report, disable=disable,
                                     noise_sampler=noise_sampler, latent_attrs=LATENT_ATTRS,
                                     fallback=not strict(host), host_state=control_following(p), **params, **knobs)
            except host.sd_samplers_common.InterruptedException:
                keep_last_latent_full_size(model, latest["denoised"])
                raise

    sample.__signature__ = webui_signature(info)
    sample.__name__ = sample.__qualname__ = info.function.__name__
    sample.__doc__ = info.function.__doc__
    return sample


# --- registration ----------------------------------------------------------------------------------------------


def sampler_entry(host, info, replaces=None):
    """(function, SamplerData) for info; the function is also the sampler_extra_params key (WEBUI.md §1).

    replaces: the WebUI's own entry of the same label that ours takes the place of; its aliases are kept, so
    that everything that named it still finds ours, and it is remembered for the keep-built-ins setting."""
    function = sampler_function(host, info)

    def constructor(model):
        return host.sd_samplers_kdiffusion.KDiffusionSampler(function, model)

    setattr(constructor, MARK, info.label)
    setattr(constructor, REPLACES, replaces)
    aliases = list(dict.fromkeys([info.alias, *getattr(replaces, "aliases", ()), *info.other_labels]))
    options = {**OPTIONS, **(TWO_CALLS_PER_STEP if info.calls_per_step == 2 else {})}
    return function, host.sd_samplers_common.SamplerData(info.label, constructor, aliases, options)


def provider(data) -> str:
    """The module a sampler entry comes from: where its constructor was defined."""
    return getattr(data.constructor, "__module__", None) or "?"


def is_ours(data) -> bool:
    return hasattr(data.constructor, MARK)


def is_builtin(data) -> bool:
    """Whether the WebUI itself ships the entry (reForge's copies of our samplers) rather than an extension."""
    return provider(data).split(".")[0] in HOST_PACKAGES


@dataclass
class Plan:
    """What setup() will change in the sampler list, worked out before anything is changed.

    added: (info, function, data) for labels the WebUI does not have; replaced: (index, info, function, data)
    for the WebUI's built-in copies that ours take the place of; restored: (index, data) for built-ins put
    back where an earlier load replaced them and Settings now keeps them; left: (info, data) for entries
    that stay someone else's (another extension's, or built-ins kept)."""

    added: list = field(default_factory=list)
    replaced: list = field(default_factory=list)
    restored: list = field(default_factory=list)
    left: list = field(default_factory=list)

    def ours(self, infos) -> list:
        others = {info.label for info, _ in self.left}
        return [info for info in infos if info.label not in others]


def listed_name(info, index):
    """The name under which the sampler list has info: its label, or another host's spelling of it (reForge's
    "Euler DY CFG++"), so that ours takes the place of that entry; None if neither is listed."""
    return next((name for name in (info.label, *info.other_labels) if name in index), None)


def plan(host, infos, keep_builtins: bool) -> Plan:
    entries = host.sd_samplers.all_samplers
    index = {data.name: i for i, data in enumerate(entries)}
    result = Plan()
    for info in infos:
        name = listed_name(info, index)
        if name is None:
            result.added.append((info, *sampler_entry(host, info)))
            continue
        i, data = index[name], entries[index[name]]
        original = getattr(data.constructor, REPLACES, None) if is_ours(data) else data
        if is_ours(data) and not (keep_builtins and original is not None):
            continue  # an earlier load's (Reload UI): kept as it is
        if is_builtin(original) and not keep_builtins:
            result.replaced.append((i, info, *sampler_entry(host, info, replaces=original)))
            continue
        if original is not data:
            result.restored.append((i, original))
        result.left.append((info, original))
    return result


def log_plan(result: Plan) -> None:
    """One line for each kind of change that is not just adding our samplers."""
    def names(pairs):
        return ", ".join(f"{info.label!r} (from {provider(data)})" for info, data in pairs)

    if result.replaced:
        replaced = [getattr(data.constructor, REPLACES) for _, _, _, data in result.replaced]
        logger.warning("smea-samplers: this WebUI ships its own %s; ours take their places in the list, under our "
                       "labels, and their names still find ours (Settings > SMEA samplers > %r keeps the WebUI's)",
                       ", ".join(f"{theirs.name!r} (from {provider(theirs)})" +
                                 (f" as {info.label!r}" if theirs.name != info.label else "")
                                 for (_, info, _, _), theirs in zip(result.replaced, replaced, strict=True)),
                       KEEP_BUILTINS_LABEL)
    builtins = [(info, data) for info, data in result.left if is_builtin(data)]
    if builtins:
        logger.warning("smea-samplers: keeping this WebUI's own %s, as Settings asks; our knobs and seeded noise do "
                       "not apply to them", names(builtins))
    foreign = [(info, data) for info, data in result.left if not is_builtin(data)]
    if foreign:
        logger.warning("smea-samplers: %s already provided by another extension; that one stays active and ours is "
                       "not added (our settings and seeded noise do not apply to it)", names(foreign))


def apply_plan(sd_samplers, result: Plan) -> None:
    """Change the sampler list in place (the WebUI's other modules hold these very list and dict objects)."""
    for i, data in [*((i, data) for i, _, _, data in result.replaced), *result.restored]:
        swap_in_other_lists(sd_samplers.all_samplers[i], data)
        sd_samplers.all_samplers[i] = data
        sd_samplers.all_samplers_map[data.name] = data
    added = [data for _, _, data in result.added]
    if added and hasattr(sd_samplers, "add_sampler"):  # Forge: appends, rebuilds its map, calls set_samplers
        for data in added:
            sd_samplers.add_sampler(data)
    elif added or result.replaced or result.restored:
        sd_samplers.all_samplers.extend(added)
        sd_samplers.all_samplers_map.update((data.name, data) for data in added)
        sd_samplers.set_samplers()
    map_other_spellings(sd_samplers)


def swap_in_other_lists(old, new) -> None:
    """Put new where old stands in the WebUI's other sampler lists: reForge's get_sampler_and_scheduler() looks a
    name up, in any case, in modules_forge.forge_alter_samplers.samplers_data_alter before all_samplers_map, and
    would otherwise hand the API and infotexts its own entry ("Euler DY CFG++" for our "Euler Dy CFG++")."""
    alter = sys.modules.get("modules_forge.forge_alter_samplers")
    entries = getattr(alter, "samplers_data_alter", None)
    if isinstance(entries, list):
        entries[:] = [new if data is old else data for data in entries]


def map_other_spellings(sd_samplers) -> None:
    """Make all_samplers_map name our listed samplers also by the other hosts' spellings (info.other_labels).

    The WebUI finds an infotext's or an API request's sampler by its exact label in that map, and reForge writes
    "Euler DY CFG++" where ours is "Euler Dy CFG++"; the extra keys stay out of the dropdowns. A key is left
    alone where it names an entry in the list under that very label (someone else's sampler). Keys of ours no
    longer listed (Settings now keeps the WebUI's own) go. Forge rebuilds the map whenever an extension adds a
    sampler, so this runs again before the UI and at app start."""
    entries = sd_samplers.all_samplers_map
    listed = {id(data) for data in sd_samplers.all_samplers}
    for key, data in list(entries.items()):
        if is_ours(data) and id(data) not in listed:
            del entries[key]
    for data in sd_samplers.all_samplers:
        info = SAMPLERS_BY_LABEL.get(getattr(data.constructor, MARK, None))
        for name in info.other_labels if info else ():
            if id(entries.get(name)) not in listed:
                entries[name] = data


def find_xyz_grid(scripts_module):
    """The loaded module of the built-in X/Y/Z plot script, or None."""
    for data in scripts_module.scripts_data:
        if data.script_class.__module__ == "xyz_grid.py":
            return getattr(data, "module", None)
    return None


def axis_option(xyz_grid, knob):
    """An X/Y/Z axis for knob, applied as a settings override like the WebUI's own "Schedule rho" axis."""

    # The plot splits an axis's text at commas, so a cell's step list needs another separator or quotes.
    how = "" if is_number(knob) else " (in the plot, write a cell's steps as 2;3 or in quotes, \"2,3\")"

    def confirm(p, values):
        for value in values:
            try:
                knob.parse(value)
            except ValueError as error:
                raise RuntimeError(
                    f"X/Y/Z plot: {shown(value)} is not a valid value for {knob.label}: {error}{how}") from None

    def apply(p, value, values):
        p.override_settings[option_key(knob)] = setting_value(knob, knob.parse(value))

    return xyz_grid.AxisOption(axis_label(knob), float if is_number(knob) else str, apply, confirm=confirm)


def axis_label(knob) -> str:
    """The X/Y/Z axis name: marked as ours among the plot's many, as other extensions mark theirs. The cells'
    infotext keys stay the knob labels, so saved images and presets keep working."""
    return f"{AXIS_MARK} {knob.label}"


def add_xyz_axes(host, knobs) -> None:
    """One X/Y/Z axis per knob, unless the plot script is off or has them already.

    Run at setup, when the built-in plot script has usually loaded already: an API-only WebUI (Forge's
    --nowebui, A1111's too) builds the plot's axis list for /sdapi/v1/script-info before its before_ui
    callbacks run. Run again at before_ui for a plot script that loads after ours."""
    xyz_grid = find_xyz_grid(host.scripts)
    if xyz_grid is None:
        return
    present = {option.label for option in xyz_grid.axis_options}
    xyz_grid.axis_options.extend(axis_option(xyz_grid, knob) for knob in knobs if axis_label(knob) not in present)


class OncePerJob(logging.Filter):
    """Lets each warning through once per sampler, WebUI job and pass: the samplers warn once per sampling run,
    and a job with a batch count of 50 has 50 runs of its first pass (and 50 of its hires pass, whose warnings
    are its own). A job is told by its start time, a pass by SAMPLING_PASS.

    The core names a sampler by its function; the record is rewritten to name it by its WebUI label, and the
    hires pass's records say so."""

    def __init__(self, state):
        super().__init__()
        self.state = state
        self.job, self.seen = None, set()

    def filter(self, record):
        job = getattr(self.state, "time_start", None), getattr(self.state, "job_timestamp", None)
        if job != self.job:
            self.job, self.seen = job, set()
        sampler = record.args[0] if isinstance(record.args, tuple) and record.args else None
        sampling_pass = SAMPLING_PASS.get()
        if sampler in LABEL_OF_FUNCTION or sampler in LABEL_OF_FUNCTION.values():
            sampler = LABEL_OF_FUNCTION.get(sampler, sampler)
            record.args = (f"{sampler} ({sampling_pass})" if sampling_pass else sampler, *record.args[1:])
        key = (record.name, record.msg, sampler, sampling_pass)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def log_once_per_job(host) -> None:
    """Put one OncePerJob filter on the package's and the glue's loggers (replacing a Reload UI's earlier one)."""
    for name in ("smea_sampler", logger.name):
        target = logging.getLogger(name)
        for old in [f for f in target.filters if type(f).__name__ == OncePerJob.__name__]:
            target.removeFilter(old)
        target.addFilter(OncePerJob(host.shared.state))


def has_builtin_copies(host, infos) -> bool:
    """Whether this WebUI ships its own copies of some of infos (reForge), whether ours took their place or not."""
    labels = {name for info in infos for name in (info.label, *info.other_labels)}
    return any(data.name in labels and (is_builtin(data) or getattr(data.constructor, REPLACES, None) is not None)
               for data in host.sd_samplers.all_samplers)


def keep_builtins_info(host):
    info = in_section(host.shared.OptionInfo(False, KEEP_BUILTINS_LABEL, section=SECTION),
                      "unticked, this extension's samplers take the place of the WebUI's own")
    needs_reload = getattr(info, "needs_reload_ui", None)  # 1.6+: Settings says a Reload UI applies it
    return needs_reload() if needs_reload else info


def setup(infos=None):
    """Register the samplers, the settings and X/Y/Z axes of their knobs; or nothing, with one log line, in a
    WebUI this does not fit. Everything is built before anything is added, so a failure leaves the WebUI as it was.

    A label the WebUI ships itself (reForge) is replaced in place by ours, unless Settings keeps the WebUI's;
    one another extension provides is left to it; one an earlier load of this script registered ("Reload UI")
    is kept as it is, and its knobs still get their settings and axes."""
    infos = SAMPLERS if infos is None else infos
    try:
        host = webui_host()
        keep_builtins = bool(host.shared.opts.data.get(KEEP_BUILTINS, False))
        result = plan(host, infos, keep_builtins)
        ours = result.ours(infos)
        knobs = [knob for knob in KNOBS if any(knob.name in info.knobs for info in ours)]
        options = [(option_key(knob), option_info(host, knob)) for knob in knobs]
        if has_builtin_copies(host, infos):  # the setting does nothing elsewhere, so it is not shown there
            options.append((KEEP_BUILTINS, keep_builtins_info(host)))
    except Exception as error:  # whatever this WebUI is, it must start as it would without us
        logger.warning("smea-samplers: not loaded, this WebUI does not fit (%s); it runs on without these samplers",
                       error if isinstance(error, Incompatible) else f"{type(error).__name__}: {error}")
        return None
    log_plan(result)
    try:
        # Settings are added now rather than in on_ui_settings: an API-only WebUI (--nowebui) never runs those
        # callbacks, and an override naming a setting nobody added is a KeyError in opts.set.
        for key, option in options:
            host.shared.opts.add_option(key, option)
        for info, function, _ in [*result.added, *((info, function, data) for _, info, function, data in
                                                   result.replaced)]:
            host.sd_samplers_kdiffusion.sampler_extra_params[function] = [n for n in info.params if n in CHURN_PARAMS]
        apply_plan(host.sd_samplers, result)
        add_xyz_axes(host, knobs)
        host.script_callbacks.on_before_ui(lambda: (add_xyz_axes(host, knobs), map_other_spellings(host.sd_samplers)))
        if hasattr(host.script_callbacks, "on_app_started"):  # the API-only WebUI runs no before_ui callbacks
            host.script_callbacks.on_app_started(lambda *args: map_other_spellings(host.sd_samplers))
        log_once_per_job(host)
    except Exception as error:  # the WebUI's own code raised part-way: say so once, never stop its start-up
        logger.warning("smea-samplers: registration failed part-way (%s: %s); some samplers or settings may be "
                       "missing", type(error).__name__, error)
        return None
    return host
