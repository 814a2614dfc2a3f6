"""A test double of the Stable Diffusion WebUI, to test the extension's glue (scripts/, preload.py) on the CPU.

The real WebUI cannot be imported here (it needs its own repositories, gradio and a checkpoint;
WEBUI.md §6), so this package provides the names the glue and the WebUI's sampling path use, each
file following the WebUI file of the same name at AUTOMATIC1111 v1.10.1 (82a973c) in what it keeps:

| double                                   | follows (v1.10.1 unless said)                               |
|------------------------------------------|-------------------------------------------------------------|
| modules/options.py                       | modules/options.py                                          |
| modules/shared_cmd_options.py            | modules/shared_cmd_options.py, cmd_args.py                  |
| modules/shared.py                        | modules/shared.py, shared_options.py, shared_state.py       |
| modules/sd_samplers.py                   | modules/sd_samplers.py; add_sampler: Forge dfdcbab6         |
| modules/sd_samplers_common.py            | modules/sd_samplers_common.py                               |
| modules/sd_samplers_kdiffusion.py        | modules/sd_samplers_kdiffusion.py                           |
| modules/sd_samplers_cfg_denoiser.py      | modules/sd_samplers_cfg_denoiser.py                         |
| modules/rng.py                           | modules/rng.py                                              |
| modules/processing.py                    | modules/processing.py (no text encoder, no VAE)             |
| modules/infotext_utils.py                | modules/infotext_utils.py                                   |
| modules/script_callbacks.py, scripts.py, | modules/script_callbacks.py, scripts.py, script_loading.py  |
|   script_loading.py                      |                                                             |
| modules/sd_models.py                     | a loaded checkpoint: toy SD1 / inpainting / Forge flow model|
| scripts/xyz_grid.py                      | scripts/xyz_grid.py                                         |
| modules/prompt_parser.py                 | modules/prompt_parser.py                                    |
| modules_forge/forge_alter_samplers.py    | reForge 3b56b268's file of that name                        |
| extensions/Euler-Smea-Dyn-Sampler/       | the original extension's scripts/smea.py (its registration) |
| k_diffusion/                             | k-diffusion ab527a9; ForgeScheduleLinker: Forge dfdcbab6    |
| sd_webui_controlnet.py                   | sd-webui-controlnet 56cec5b2: scripts/hook.py's hint use    |
| gradio.py                                | the gradio component classes settings name                  |

Flavours of install(): "a1111" (v1.10.1); "forge" (sd_samplers.add_sampler, as Forge dfdcbab6 has
it); "reforge" (all five of our labels built in, as reForge 3b56b268 lists them: four in
sd_samplers_kdiffusion.py, Kohaku_LoNyu_Yog in modules_forge/forge_alter_samplers.py);
"v1.5" (SamplerData without total_steps: v1.5's KDiffusionSampler takes only k-diffusion
function names, so a callable cannot be registered).

It never imports smea_sampler: it doubles the host, not the package under test.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).parent
REPO = ROOT.parents[1]
GLUE = REPO / "scripts" / "smea_samplers.py"
XYZ = ROOT / "scripts" / "xyz_grid.py"
ORIGINAL = ROOT / "extensions" / "Euler-Smea-Dyn-Sampler"  # the original extension, which registers four labels
TOP_LEVEL = ("modules", "modules_forge", "k_diffusion", "gradio")
MODULES = ("options", "shared", "sd_models", "rng", "sd_samplers_common", "sd_samplers_cfg_denoiser",
           "sd_samplers_kdiffusion", "sd_samplers", "infotext_utils", "processing", "script_callbacks",
           "script_loading", "scripts")
FLAVORS = ("a1111", "forge", "reforge", "v1.5")


def provided(name: str) -> bool:
    return name.split(".")[0] in TOP_LEVEL


def install(flavor: str = "a1111", argv=()) -> SimpleNamespace:
    """Put a fresh double into sys.modules; returns its modules as attributes, plus what uninstall() restores."""
    assert flavor in FLAVORS, flavor
    saved = {name: module for name, module in sys.modules.items() if provided(name)}
    for name in saved:
        del sys.modules[name]
    saved_path = list(sys.path)
    sys.path.insert(0, str(ROOT))

    # As shared_cmd_options does: extensions' preload(parser) first, then the command line is parsed.
    cmd = importlib.import_module("modules.shared_cmd_options")
    script_loading = importlib.import_module("modules.script_loading")
    script_loading.load_module(str(REPO / "preload.py")).preload(cmd.parser)
    cmd.cmd_opts = cmd.parser.parse_args(list(argv))

    webui = SimpleNamespace(**{name: importlib.import_module(f"modules.{name}") for name in MODULES})
    webui.flavor, webui.saved_modules, webui.saved_path = flavor, saved, saved_path
    webui.xyz_grid = None
    if flavor in ("forge", "reforge"):
        use_forge_denoiser(webui, flavor)
    if flavor == "forge":
        webui.sd_samplers.add_sampler = webui.sd_samplers.forge_add_sampler
    elif flavor == "reforge":
        add_reforge_builtins(webui)
    elif flavor == "v1.5":
        webui.sd_samplers_common.SamplerData = namedtuple("SamplerData", ["name", "constructor", "aliases", "options"])
    return webui


def use_forge_denoiser(webui, flavor):
    """Forge's or reForge's CFG denoiser, and models that carry forge_objects (sd_samplers_cfg_denoiser's doc)."""
    cfg = webui.sd_samplers_cfg_denoiser
    base = cfg.ForgeCFGDenoiser if flavor == "forge" else cfg.ReforgeCFGDenoiser
    kdiffusion = webui.sd_samplers_kdiffusion
    kdiffusion.CFGDenoiserKDiffusion = type("CFGDenoiserKDiffusion", (base,),
                                            {"inner_model": kdiffusion.CFGDenoiserKDiffusion.inner_model})
    webui.sd_models.FORGE_OBJECTS = True
    webui.shared.sd_model = webui.sd_models.ToyCheckpoint()


def add_reforge_builtins(webui):
    alter = importlib.import_module("modules_forge.forge_alter_samplers")
    entries = [*webui.sd_samplers_kdiffusion.reforge_samplers_data(), *alter.samplers_data_alter]
    webui.sd_samplers.all_samplers.extend(entries)
    webui.sd_samplers.all_samplers_map.update((data.name, data) for data in entries)
    webui.sd_samplers.set_samplers()


def load_scripts(webui, original=False):
    """The WebUI's load_scripts() over the built-in X/Y/Z script and ours (with original, the original extension's
    first, as its folder name sorts before ours); returns our adapter module (None if our script failed: the
    WebUI reports such a failure and goes on, see webui.scripts.load_errors)."""
    others = [(ORIGINAL / "scripts" / "smea.py", ORIGINAL)] if original else []
    webui.scripts.load_scripts([(XYZ, ROOT / "scripts"), *others, (GLUE, REPO)])
    modules = {Path(data.path).name: data.module for data in webui.scripts.scripts_data}
    webui.xyz_grid = modules.get("xyz_grid.py")
    return adapter() if str(GLUE) in webui.script_loading.loaded_scripts else None


def adapter():
    """The WebUI adapter module that scripts/smea_samplers.py set up, or None if it could not be imported."""
    return sys.modules.get("smea_sampler.webui")


def import_glue(webui):
    """Import scripts/smea_samplers.py as load_module does, letting any exception out (the WebUI would catch it);
    returns the adapter module it set up."""
    sys.path.insert(0, str(REPO))
    try:
        webui.script_loading.load_module(str(GLUE))
    finally:
        sys.path.remove(str(REPO))
    return adapter()


def uninstall(webui):
    for name in ("smea_sampler", "smea_sampler.webui"):  # the glue's OncePerJob filters hold this double's state
        target = logging.getLogger(name)
        for log_filter in [f for f in target.filters if type(f).__name__ == "OncePerJob"]:
            target.removeFilter(log_filter)
    for name in [name for name in sys.modules if provided(name)]:
        del sys.modules[name]
    sys.modules.update(webui.saved_modules)
    sys.path[:] = webui.saved_path
