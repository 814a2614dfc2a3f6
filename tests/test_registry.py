"""The one list of samplers and knobs that the WebUI glue, the demo and the docs read."""

from __future__ import annotations

import inspect

import pytest
import torch

import smea_sampler
from smea_sampler import KNOBS, KNOBS_BY_NAME, SAMPLERS
from smea_sampler.registry import parse_steps, shown

# SAMPLERS.md §3: the original's labels, aliases and ComfyUI names, so its PNG-info and X/Y/Z presets and
# saved ComfyUI workflows keep working (Kohaku's ComfyUI name without the original's stray "sample_").
ORIGINAL = [
    ("Euler Dy", "k_euler_dy", "euler_dy", "sample_euler_dy"),
    ("Euler SMEA Dy", "k_euler_smea_dy", "euler_smea_dy", "sample_euler_smea_dy"),
    ("Euler Negative", "k_euler_negative", "euler_negative", "sample_euler_negative"),
    ("Euler Negative Dy", "k_euler_negative_dy", "euler_dy_negative", "sample_euler_dy_negative"),
    ("Kohaku_LoNyu_Yog", "k_euler_Kohaku_LoNyu_Yog", "Kohaku_LoNyu_Yog", "sample_kohaku_lonyu_yog"),
]
# docs/family.md §2: the family beyond the five, with ComfyUI-ppm's names where it has one.
FAMILY = [
    ("Euler Dy CFG++", "k_euler_dy_cfg_pp", "euler_dy_cfg_pp", "sample_euler_dy_cfg_pp"),
    ("Euler SMEA Dy CFG++", "k_euler_smea_dy_cfg_pp", "euler_smea_dy_cfg_pp", "sample_euler_smea_dy_cfg_pp"),
    ("Euler Negative CFG++", "k_euler_negative_cfg_pp", "euler_negative_cfg_pp", "sample_euler_negative_cfg_pp"),
    ("Euler Negative Dy CFG++", "k_euler_negative_dy_cfg_pp", "euler_dy_negative_cfg_pp",
     "sample_euler_dy_negative_cfg_pp"),
    ("Euler a Dy", "k_euler_a_dy", "euler_ancestral_dy", "sample_euler_ancestral_dy"),
    ("Euler a Dy CFG++", "k_euler_a_dy_cfg_pp", "euler_ancestral_dy_cfg_pp", "sample_euler_ancestral_dy_cfg_pp"),
    ("DPM++ 2M Dy", "k_dpmpp_2m_dy", "dpmpp_2m_dy", "sample_dpmpp_2m_dy"),
    ("DPM++ 2M Dy CFG++", "k_dpmpp_2m_dy_cfg_pp", "dpmpp_2m_dy_cfg_pp", "sample_dpmpp_2m_dy_cfg_pp"),
    ("DPM++ 3M Dy", "k_dpmpp_3m_dy", "dpmpp_3m_dy", "sample_dpmpp_3m_dy"),
    ("DPM++ 3M SDE Dy", "k_dpmpp_3m_sde_dy", "dpmpp_3m_sde_dy", "sample_dpmpp_3m_sde_dy"),
]
# reForge's built-in labels (modules_forge/forge_alter_samplers.py): its infotexts must select ours.
REFORGE_LABELS = {"Euler DY CFG++": "Euler Dy CFG++", "Euler SMEA DY CFG++": "Euler SMEA Dy CFG++",
                  "Euler A DY CFG++": "Euler a Dy CFG++", "DPM++ 2M DY": "DPM++ 2M Dy",
                  "DPM++ 3M DY": "DPM++ 3M Dy", "DPM++ 3M SDE DY": "DPM++ 3M SDE Dy",
                  "DPM++ 2M DY CFG++": "DPM++ 2M Dy CFG++"}
# WebUI 1.9+ splits "<sampler> <schedule>" at these suffixes (WEBUI.md §2).
SCHEDULE_SUFFIXES = ("Automatic", "Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform",
                     "KL Optimal", "Align Your Steps", "Simple", "Normal", "DDIM", "Beta")


def test_labels_aliases_and_functions_are_the_originals_then_the_family():
    names = [(info.label, info.alias, info.comfy_name, info.function.__name__) for info in SAMPLERS]
    assert names == ORIGINAL + FAMILY
    assert all(getattr(smea_sampler, info.function.__name__) is info.function for info in SAMPLERS)


def test_reforges_spellings_name_ours_and_nothing_else():
    spelled = {other: info.label for info in SAMPLERS for other in info.other_labels}
    assert spelled == REFORGE_LABELS
    labels = {info.label for info in SAMPLERS}
    assert not labels & set(spelled)
    assert all(info.cfg_pp == info.label.endswith("CFG++") for info in SAMPLERS)


def test_no_label_ends_like_a_schedule():
    assert not [info.label for info in SAMPLERS if info.label.lower().endswith(
        tuple(" " + suffix.lower() for suffix in SCHEDULE_SUFFIXES))]


@pytest.mark.parametrize("info", SAMPLERS, ids=lambda info: info.label)
def test_declared_parameters_are_exactly_what_the_function_takes(info):
    signature = inspect.signature(info.function).parameters
    common = ["model", "x", "sigmas", "extra_args", "callback", "disable"]
    assert list(signature)[:6] == common
    declared = set(info.params) | set(info.knobs) | {"noise_sampler"}
    if info.resamples:
        declared |= {"latent_attrs", "map_extra_args", "fallback", "host_state"}
    if info.cfg_pp:
        declared |= {"uncond"}
    assert set(signature) - set(common) == declared
    for name in info.knobs:
        assert signature[name].default == KNOBS_BY_NAME[name].default


def test_knob_defaults_are_the_original_look():
    defaults = {knob.name: knob.default for knob in KNOBS}
    assert defaults == {"dy_steps": (2, 3), "smea_steps": (0,), "smea_dy_steps": (1,), "smea_scale": 1.25,
                        "s_dy_pow": -1.0}
    assert {knob.name for knob in KNOBS} == {name for info in SAMPLERS for name in info.knobs}


@pytest.mark.parametrize("knob", KNOBS, ids=lambda knob: knob.name)
def test_knobs_round_trip_through_text(knob):
    assert knob.parse(knob.format(knob.default)) == knob.default


@pytest.mark.parametrize(("name", "value", "default"), [("dy_steps", [3, 2], True), ("dy_steps", (2,), False),
                                                         ("smea_dy_steps", (), False), ("smea_scale", "1.25", True),
                                                         ("smea_scale", 1.5, False)])
def test_is_default_compares_values_not_their_spelling(name, value, default):
    assert KNOBS_BY_NAME[name].is_default(value) is default


@pytest.mark.parametrize(("text", "steps"), [("2,3", (2, 3)), (" 3 , 2 ", (2, 3)), ("", ()), ("none", ()),
                                             ("[1, 4]", (1, 4)), ("5", (5,)), ("2,2", (2,)),
                                             ('"3"', (3,)), ("'1;2'", (1, 2)), ('"none"', ())])
def test_step_lists_parse_as_users_type_them(text, steps):
    assert parse_steps(text) == steps


@pytest.mark.parametrize("text", ["two", "-1", "1.5", "2,x"])
def test_bad_step_lists_are_clear_errors(text):
    with pytest.raises(ValueError, match="step"):
        parse_steps(text)


@pytest.mark.parametrize("text", ["0.5", "5", "nan"])
def test_bad_scales_are_clear_errors(text):
    with pytest.raises(ValueError, match="smea_scale"):
        KNOBS_BY_NAME["smea_scale"].parse(text)


def test_a_step_list_may_name_at_most_a_hundred_steps():
    assert len(parse_steps(",".join(map(str, range(100))))) == 100
    with pytest.raises(ValueError, match="lists 101 steps; at most 100"):
        parse_steps(",".join(map(str, range(101))))
    with pytest.raises(ValueError, match="dy_steps lists 1000 steps"):
        SAMPLERS[0].function(lambda x, s: x, torch.zeros(1, 4, 8, 8), torch.tensor([1.0, 0.0]), disable=True,
                             dy_steps=range(1000))


HUGE = ",".join(map(str, range(100_000)))  # 588,889 characters, as an API client once sent


@pytest.mark.parametrize("value", [HUGE, HUGE + ",x", "x" * 100_000])
@pytest.mark.parametrize("knob", KNOBS_BY_NAME.values(), ids=lambda knob: knob.name)
def test_a_huge_bad_value_is_refused_with_a_short_message_giving_its_length(knob, value):
    with pytest.raises(ValueError) as refused:
        knob.parse(value)
    message = str(refused.value)
    assert len(message) < 300, message
    assert value[:10] in message or "steps" in message


def test_shown_quotes_a_short_value_whole_and_a_long_one_by_its_start_and_length():
    assert shown("2,x") == "'2,x'" and shown(9.0) == "9.0"
    assert shown("y" * 1000) == f"{'y' * 40!r}… (1000 characters)"


@pytest.mark.parametrize(("name", "value"), [("dy_steps", (-1,)), ("dy_steps", (1.0,)), ("smea_steps", (True,)),
                                             ("smea_dy_steps", (-2,)), ("smea_dy_steps", (1000,)),
                                             ("smea_scale", 0.5), ("smea_scale", 4.5)])
def test_samplers_reject_bad_knob_values(name, value):
    info = next(info for info in SAMPLERS if name in info.knobs)
    with pytest.raises(ValueError, match=name):
        info.function(lambda x, s: x, torch.zeros(1, 4, 8, 8), torch.tensor([1.0, 0.0]), disable=True,
                      **{name: value})


def test_importing_the_package_and_its_adapters_imports_no_host():
    # The core imports no host; the adapters import theirs only inside setup() and their sampling functions.
    import subprocess
    import sys

    code = ("import sys, smea_sampler, smea_sampler.webui, smea_sampler.comfyui; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'modules', 'modules_forge', 'comfy', 'gradio'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("text", "value"), [("-1", -1.0), ("0", 0.0), (" 2.5 ", 2.5), (16, 16.0)])
def test_dynamic_power_reads_numbers_within_its_bounds(text, value):
    assert KNOBS_BY_NAME["s_dy_pow"].parse(text) == value


@pytest.mark.parametrize("text", ["-1.5", "16.5", "nan", "inf", "abc", "x" * 100_000])
def test_dynamic_power_refuses_the_rest_in_a_short_message(text):
    with pytest.raises(ValueError, match=r"s_dy_pow must be between -1 and 16|expected a number") as refused:
        KNOBS_BY_NAME["s_dy_pow"].parse(text)
    assert len(str(refused.value)) < 120
