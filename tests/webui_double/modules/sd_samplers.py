"""Double of modules/sd_samplers.py (v1.10.1), plus Forge's add_sampler (dfdcbab6) as `forge_add_sampler`,
which the double's install() exposes as `add_sampler` for the Forge flavour only.

As in the WebUI: all_samplers and all_samplers_map are built once at import; set_samplers() points
samplers / samplers_for_img2img at all_samplers and refills samplers_map with lowercase names and
aliases; create_sampler asserts on an unknown name. get_sampler_and_scheduler keeps the 1.9+ behaviour
the API relies on: an unknown name silently becomes samplers[0]; on reForge (3b56b268, its forge_alter_samplers
module loaded) a name found in forge_alter_samplers.samplers_data_alter, in any case, gives that entry's name.
"""

import sys

from modules import sd_samplers_common, sd_samplers_kdiffusion, shared

all_samplers = [*sd_samplers_kdiffusion.samplers_data_k_diffusion]
all_samplers_map = {x.name: x for x in all_samplers}

samplers: list[sd_samplers_common.SamplerData] = []
samplers_for_img2img: list[sd_samplers_common.SamplerData] = []
samplers_map = {}
samplers_hidden = {}


def find_sampler_config(name):
    return all_samplers_map.get(name) if name is not None else all_samplers[0]


def create_sampler(name, model):
    config = find_sampler_config(name)
    assert config is not None, f"bad sampler name: {name}"
    sampler = config.constructor(model)
    sampler.config = config
    return sampler


def set_samplers():
    global samplers, samplers_for_img2img, samplers_hidden

    samplers_hidden = set(shared.opts.hide_samplers)
    samplers = all_samplers
    samplers_for_img2img = all_samplers

    samplers_map.clear()
    for sampler in all_samplers:
        samplers_map[sampler.name.lower()] = sampler.name
        for alias in sampler.aliases:
            samplers_map[alias.lower()] = sampler.name


def forge_add_sampler(sampler):
    global all_samplers, all_samplers_map
    if sampler.name not in [x.name for x in all_samplers]:
        all_samplers.append(sampler)
        all_samplers_map = {x.name: x for x in all_samplers}
        set_samplers()


def visible_sampler_names():
    return [x.name for x in samplers if x.name not in samplers_hidden]


def get_sampler_and_scheduler(sampler_name, scheduler_name):
    alter = sys.modules.get("modules_forge.forge_alter_samplers")
    for data in getattr(alter, "samplers_data_alter", ()):
        if data.name.lower() == sampler_name.lower():
            return data.name, scheduler_name
    return all_samplers_map.get(sampler_name, samplers[0]).name, scheduler_name


set_samplers()
