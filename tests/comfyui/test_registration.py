"""The names in ComfyUI's lists, the SMEA sampler node, and the root __init__.py ComfyUI loads (COMFYUI.md §1, §7)."""

from __future__ import annotations

import importlib
import logging
import sys

import pytest

from smea_sampler import SAMPLERS
from tests import comfyui_double
from tests.comfyui.support import NAMES


def test_every_name_is_appended_to_the_live_lists_and_resolves_to_our_function(adapter, comfy):
    assert comfy.samplers.KSAMPLER_NAMES[-len(NAMES):] == NAMES
    assert comfy.samplers.SAMPLER_NAMES[-len(NAMES):] == NAMES
    assert comfy.samplers.KSampler.SAMPLERS is comfy.samplers.SAMPLER_NAMES  # so KSampler's dropdown has them
    for info in SAMPLERS:
        sampler = comfy.samplers.sampler_object(info.comfy_name)  # as a prompt resolves the name
        assert sampler.sampler_function.__name__ == info.function.__name__
        assert sampler.sampler_function.smea_sampler_label == info.label


def test_kohaku_is_listed_under_a_name_comfyui_can_resolve(adapter, comfy):
    # The original listed "sample_Kohaku_LoNyu_Yog", which ComfyUI looks up as sample_sample_Kohaku_LoNyu_Yog.
    assert "Kohaku_LoNyu_Yog" in comfy.samplers.SAMPLER_NAMES
    assert hasattr(comfy.k_sampling, "sample_Kohaku_LoNyu_Yog")


def test_setup_twice_adds_nothing_twice_and_logs_nothing(adapter, comfy, caplog):
    functions = [getattr(comfy.k_sampling, f"sample_{name}") for name in NAMES]
    with caplog.at_level(logging.INFO):
        adapter.setup()
    assert [comfy.samplers.SAMPLER_NAMES.count(name) for name in NAMES] == [1] * len(NAMES)
    assert [getattr(comfy.k_sampling, f"sample_{name}") for name in NAMES] == functions
    assert not caplog.records


def test_a_name_comfyui_or_another_pack_has_is_left_to_it_with_one_log_line(comfy, caplog):
    from smea_sampler import comfyui

    theirs = comfy.k_sampling.sample_euler
    comfy.k_sampling.sample_euler_dy = theirs  # another pack's euler_dy, listed
    comfy.samplers.SAMPLER_NAMES.append("euler_dy")
    with caplog.at_level(logging.INFO):
        assert comfyui.register_names() == ["euler_dy"]
    assert comfy.k_sampling.sample_euler_dy is theirs
    assert comfy.samplers.SAMPLER_NAMES.count("euler_dy") == 1
    assert "euler_dy" not in comfy.samplers.KSAMPLER_NAMES
    [line] = caplog.records
    assert "euler_dy already provided" in line.getMessage()


def test_the_node_lists_every_sampler_and_knob_with_tooltips(adapter):
    spec = adapter.SMEASampler.INPUT_TYPES()
    inputs = spec["required"]
    assert inputs["sampler_name"][0] == NAMES
    assert list(inputs) == ["sampler_name", "dy_steps", "smea_steps", "smea_dy_steps", "smea_scale", "s_noise", "eta"]
    # added later, so optional and last: saved workflows keep their widget values in place, saved prompts validate
    assert list(spec["optional"]) == ["s_dy_pow"]
    assert spec["optional"]["s_dy_pow"][1]["default"] == -1.0
    assert all(options.get("tooltip") for _, options in [*inputs.values(), *spec["optional"].values()])
    assert inputs["dy_steps"] == ("STRING", {"default": "2,3", "tooltip": inputs["dy_steps"][1]["tooltip"]})
    assert inputs["smea_scale"][1]["default"] == 1.25 and inputs["smea_scale"][1]["step"] == 0.05
    assert adapter.SMEASampler.CATEGORY == "sampling/custom_sampling/samplers"
    assert adapter.SMEASampler.RETURN_TYPES == ("SAMPLER",)


@pytest.mark.parametrize(("name", "knobs", "message"), [
    ("euler_dy", {"dy_steps": "two"}, "not a valid Dy steps"),
    ("euler_dy_negative", {"dy_steps": "-1"}, "not a valid Dy steps"),
    ("euler_smea_dy", {"smea_scale": 9.0}, "not a valid SMEA scale"),
    ("euler_smea_dy", {"smea_dy_steps": "1000"}, "not a valid SMEA Dy steps"),
    ("nope", {}, "unknown SMEA sampler"),
])
def test_the_node_refuses_bad_values_before_sampling(adapter, name, knobs, message):
    with pytest.raises(ValueError, match=message):
        adapter.SMEASampler().get_sampler(name, **knobs)


@pytest.mark.parametrize(("name", "knobs"), [("euler_dy", {"dy_steps": ",".join(map(str, range(100_000)))}),
                                             ("euler_smea_dy", {"smea_scale": "9" * 100_000}),
                                             ("x" * 100_000, {})])
def test_the_node_refuses_a_huge_value_with_a_short_message(adapter, name, knobs):
    with pytest.raises(ValueError) as refused:
        adapter.SMEASampler().get_sampler(name, **knobs)
    assert len(str(refused.value)) < 300, str(refused.value)[:1000]


def test_the_node_passes_only_the_chosen_samplers_options(adapter):
    (sampler,) = adapter.SMEASampler().get_sampler("euler_smea_dy", dy_steps="none", smea_steps="0,2",
                                                   smea_dy_steps="1", smea_scale=1.5, s_noise=0.5, eta=0.0)
    assert sampler.extra_options == {"s_noise": 0.5, "smea_steps": (0, 2), "smea_dy_steps": (1,), "smea_scale": 1.5}
    (kohaku,) = adapter.SMEASampler().get_sampler("Kohaku_LoNyu_Yog", s_noise=1.0, eta=0.5)
    assert kohaku.extra_options == {"s_noise": 1.0, "eta": 0.5}


def test_the_root_init_registers_the_node_inside_comfyui(comfy):
    module = comfyui_double.load_custom_node()
    try:
        assert module.NODE_CLASS_MAPPINGS["SMEASampler"].__name__ == "SMEASampler"
        assert module.NODE_DISPLAY_NAME_MAPPINGS == {"SMEASampler": "SMEA sampler"}
        assert comfy.samplers.SAMPLER_NAMES[-len(NAMES):] == NAMES
    finally:
        for name in [name for name in sys.modules if name.startswith("smea-samplers")]:
            del sys.modules[name]


def test_a_failure_inside_comfyui_costs_one_log_line_and_never_its_start_up(comfy, monkeypatch, caplog):
    monkeypatch.delattr(comfy.samplers, "KSAMPLER_NAMES")  # a ComfyUI whose lists moved
    with caplog.at_level(logging.INFO):
        module = comfyui_double.load_custom_node()  # raises if anything escapes
    for name in [name for name in sys.modules if name.startswith("smea-samplers")]:
        del sys.modules[name]
    assert module.NODE_CLASS_MAPPINGS == {}
    [line] = caplog.records
    assert "smea-samplers: not loaded" in line.getMessage() and "KSAMPLER_NAMES" in line.getMessage()


def test_the_root_init_does_nothing_outside_comfyui():
    assert "comfy.samplers" not in sys.modules
    spec = importlib.util.spec_from_file_location("smea-samplers", comfyui_double.REPO / "__init__.py",
                                                  submodule_search_locations=[str(comfyui_double.REPO)])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.NODE_CLASS_MAPPINGS == {} and "smea-samplers.smea_sampler" not in sys.modules
