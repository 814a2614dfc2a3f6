"""A test double of ComfyUI's custom-sampler contract, to test smea_sampler.comfyui on the CPU without ComfyUI.

Each module follows the ComfyUI file of the same name at Comfy-Org/ComfyUI a125cd84 (v0.3.64) in what it keeps
(COMFYUI.md; the shapes were checked against a running v0.3.64):

| double                      | follows                                                                  |
|-----------------------------|--------------------------------------------------------------------------|
| comfy/samplers.py           | the name lists, KSAMPLER, KSamplerX0Inpaint, CFGGuider, calc_cond_batch  |
|                             | with its CALC_COND_BATCH wrappers, get_area_and_mult, process_conds      |
| comfy/conds.py              | CONDRegular, CONDNoiseShape (process_cond crops by area, never to x)     |
| comfy/patcher_extension.py  | WrappersMP, add_wrapper_with_key, get_all_wrappers, WrapperExecutor      |
| comfy/model_patcher.py      | create_model_options_clone                                               |
| comfy/model_sampling.py     | EPS, CONST and their noise scaling; a discrete SD1 schedule              |
| comfy/model_base.py         | BaseModel: a toy eps model, 9 channels for inpainting (torch.cat fails)  |
| comfy/model_management.py   | InterruptProcessingException (an Exception) and its flag                 |
| comfy/sample.py             | prepare_noise and a KSampler-like run (common_ksampler, calculate_sigmas)|
| comfy/k_diffusion/sampling.py | the module ComfyUI looks sample_<name> up in                           |

install() puts a fresh double into sys.modules; uninstall() restores what was there. It never imports
smea_sampler: it doubles the host, not the package under test.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).parent
REPO = ROOT.parents[1]
MODULES = ("samplers", "conds", "patcher_extension", "model_patcher", "model_sampling", "model_base",
           "model_management", "sample", "k_diffusion.sampling")


def provided(name: str) -> bool:
    return name == "comfy" or name.startswith("comfy.")


def install() -> SimpleNamespace:
    saved = {name: module for name, module in sys.modules.items() if provided(name)}
    for name in saved:
        del sys.modules[name]
    saved_path = list(sys.path)
    sys.path.insert(0, str(ROOT))
    comfy = SimpleNamespace(**{name.replace("k_diffusion.", "k_"): importlib.import_module(f"comfy.{name}")
                               for name in MODULES})
    comfy.saved_modules, comfy.saved_path = saved, saved_path
    return comfy


def load_custom_node(name="smea-samplers"):
    """Import the repository's root __init__.py as ComfyUI's load_custom_node does: a package named after its
    folder, from its path (custom_nodes is not on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "__init__.py", submodule_search_locations=[str(REPO)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def uninstall(comfy):
    for name in [name for name in sys.modules if provided(name)]:
        del sys.modules[name]
    sys.modules.update(comfy.saved_modules)
    sys.path[:] = comfy.saved_path
