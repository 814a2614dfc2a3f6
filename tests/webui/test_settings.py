"""The knobs in the WebUI: Settings entries, infotext keys that PNG Info restores, and X/Y/Z plot axes."""

from __future__ import annotations

import re

import pytest

from smea_sampler import KNOBS, SAMPLERS_BY_LABEL
from tests import webui_double
from tests.webui.support import Spy, txt2img

KEYS = {knob.name: f"smea_sampler_{knob.name}" for knob in KNOBS}
# Values a user may set, per knob, with what the sampler function must receive.
EXAMPLES = {
    "dy_steps": [("3", (3,)), ("2, 4", (2, 4)), ("none", ()), ("", ())],
    "smea_steps": [("1", (1,)), ("0,2", (0, 2))],
    "smea_dy_steps": [("none", ()), ("1;3", (1, 3))],
    "smea_scale": [(1.5, 1.5), ("2", 2.0)],
    "s_dy_pow": [("-1", -1.0), (0, 0.0), ("2.5", 2.5)],
}


def knob_labels_in(infotext):
    return {knob.label for knob in KNOBS if f"{knob.label}:" in infotext}


def test_each_knob_is_a_setting_restored_from_its_infotext_key(webui):
    labels = webui.shared.opts.data_labels
    for knob in KNOBS:
        option = labels[KEYS[knob.name]]
        assert (option.label, option.infotext, option.section) == (knob.label, knob.label, ("smea_samplers",
                                                                                              "SMEA samplers"))
        assert knob.help in option.comment_after
    assert labels[KEYS["smea_scale"]].component.__name__ == "Slider"
    assert labels[KEYS["smea_scale"]].default == 1.25
    assert labels[KEYS["dy_steps"]].component is None  # the WebUI shows a textbox for a str setting
    assert [labels[KEYS[name]].default for name in ("dy_steps", "smea_steps", "smea_dy_steps")] == ["2,3", "0", "1"]


@pytest.mark.parametrize("knob", KNOBS, ids=lambda knob: knob.name)
def test_setting_values_read_back_as_what_they_stand_for(webui, knob):
    glue = webui.glue
    for text, value in EXAMPLES[knob.name]:
        assert knob.parse(text) == value
        stored = glue.setting_value(knob, value)
        assert stored != "" and knob.parse(stored) == value  # "" would be dropped by the infotext parser


def test_settings_reach_only_the_samplers_that_take_them(webui):
    spy = Spy()
    chosen = ("Euler Dy", "Euler SMEA Dy", "Euler Negative")
    labels = spy.register(webui, [SAMPLERS_BY_LABEL[label] for label in chosen])
    opts = webui.shared.opts
    opts.smea_sampler_dy_steps, opts.smea_sampler_smea_scale = "3", 1.5
    results = [txt2img(webui, label, steps=6)[0] for label in labels]
    dy, smea, negative = spy.calls
    assert dy["dy_steps"] == (3,) and "smea_scale" not in dy
    assert smea["smea_scale"] == 1.5 and smea["smea_steps"] == (0,) and "dy_steps" not in smea
    assert not {"dy_steps", "smea_scale"} & set(negative)
    assert [knob_labels_in(result.infotexts[0]) for result in results] == [{"Dy steps"}, {"SMEA scale"}, set()]


def test_default_knobs_leave_the_infotext_alone(webui):
    for label in ("Euler Dy", "Euler SMEA Dy", "Euler Negative Dy"):
        result, _ = txt2img(webui, label, steps=6)
        assert knob_labels_in(result.infotexts[0]) == set()


def test_non_default_knobs_round_trip_through_png_info(webui):
    """Generate, parse the infotext as PNG Info does, paste its overrides into a new job: same knobs arrive."""
    spy = Spy()
    [label] = spy.register(webui, [SAMPLERS_BY_LABEL["Euler SMEA Dy"]])
    opts = webui.shared.opts
    opts.smea_sampler_smea_steps, opts.smea_sampler_smea_dy_steps, opts.smea_sampler_smea_scale = "0,2", "", 2.0
    result, _ = txt2img(webui, label, steps=6)
    assert 'SMEA steps: "0,2"' in result.infotexts[0] and "SMEA Dy steps: none" in result.infotexts[0]

    for name in ("smea_steps", "smea_dy_steps", "smea_scale"):  # back to defaults, as on another machine
        setattr(opts, KEYS[name], opts.get_default(KEYS[name]))
    params = webui.infotext_utils.parse_generation_parameters(result.infotexts[0])
    overrides = {key: value for _, key, value in webui.infotext_utils.get_override_settings(params)}
    assert overrides == {KEYS["smea_steps"]: "0,2", KEYS["smea_dy_steps"]: "none", KEYS["smea_scale"]: 2.0}
    txt2img(webui, label, steps=6, override_settings=overrides)
    first, pasted = spy.calls
    assert [pasted[name] for name in ("smea_steps", "smea_dy_steps", "smea_scale")] == [(0, 2), (), 2.0]
    assert all(first[name] == pasted[name] for name in ("smea_steps", "smea_dy_steps", "smea_scale"))
    assert opts.smea_sampler_smea_scale == 1.25  # overrides are undone after the job


def test_an_invalid_setting_stops_the_job_with_a_message_naming_it(webui):
    webui.shared.opts.smea_sampler_dy_steps = "two"
    with pytest.raises(ValueError, match="Euler Dy: the setting 'Dy steps' = 'two' is not valid"):
        txt2img(webui, "Euler Dy", steps=6)


HUGE = ",".join(map(str, range(100_000)))  # 588,889 characters, as an API client once sent


def test_a_huge_setting_is_refused_at_the_job_with_a_short_message(webui):
    webui.shared.opts.smea_sampler_dy_steps = HUGE  # as an infotext override sets it, without onchange
    with pytest.raises(ValueError) as refused:
        txt2img(webui, "Euler Dy", steps=6)
    message = str(refused.value)
    assert len(message) < 300 and "(588889 characters)" in message, message


@pytest.mark.parametrize(("knob", "bad", "good"), [("dy_steps", "abc", "3"), ("smea_steps", HUGE, "1"),
                                                   ("smea_scale", 9.0, 1.5)])
def test_settings_apply_refuses_a_bad_value_and_keeps_the_stored_one(webui, knob, bad, good):
    opts, key = webui.shared.opts, KEYS[knob]
    before = getattr(opts, key)
    assert opts.set(key, bad) is False  # Settings' Apply does not count it as changed
    assert getattr(opts, key) == before
    [(_, error)] = webui.options.displayed_errors
    assert "is not valid" in str(error) and len(str(error)) < 300, str(error)[:1000]
    assert opts.set(key, good) is True and getattr(opts, key) == good


def test_each_knob_is_an_xyz_axis_as_soon_as_the_extension_loads(webui):
    # An API-only WebUI builds the plot's axis list for /sdapi/v1/script-info before its before_ui callbacks.
    axes = {option.label: option for option in webui.xyz_grid.axis_options}
    assert [axes[f"[SMEA] {knob.label}"].type for knob in KNOBS] == [str, str, str, float, float]
    webui.script_callbacks.before_ui_callback()
    labels = [option.label for option in webui.xyz_grid.axis_options]
    assert len(labels) == len(set(labels))


def test_a_plot_script_that_loads_after_ours_gets_the_axes_before_the_ui(make_webui):
    webui = make_webui(load=False)
    webui.scripts.load_scripts([(webui_double.GLUE, webui_double.REPO),
                                (webui_double.XYZ, webui_double.ROOT / "scripts")])
    xyz_grid = webui.script_loading.loaded_scripts[str(webui_double.XYZ)]
    assert "[SMEA] Dy steps" not in [option.label for option in xyz_grid.axis_options]
    webui.script_callbacks.before_ui_callback()
    assert [option.label for option in xyz_grid.axis_options][-len(KNOBS):] == [f"[SMEA] {knob.label}"
                                                                                 for knob in KNOBS]


def test_xyz_axis_overrides_each_cell_and_writes_only_its_own_infotext(webui):
    spy = Spy()
    [label] = spy.register(webui, [SAMPLERS_BY_LABEL["Euler Dy"]])
    webui.script_callbacks.before_ui_callback()
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name=label, steps=6)
    results = webui.xyz_grid.Script().run(p, "[SMEA] Dy steps", '3, 2;3, none, "1,4"')
    assert [call["dy_steps"] for call in spy.calls] == [(3,), (2, 3), (), (1, 4)]
    infotexts = [result.infotexts[0] for result in results]
    assert "Dy steps: 3" in infotexts[0]
    assert "Dy steps" not in infotexts[1]  # default: the entry an earlier cell left in the shared dict is gone
    assert "Dy steps: none" in infotexts[2] and 'Dy steps: "1,4"' in infotexts[3]
    assert webui.shared.opts.smea_sampler_dy_steps == "2,3"


def test_a_quoted_cell_works_in_the_plot_of_webuis_before_1_10(webui, monkeypatch):
    """Found on the real 1.9.4: its plot hands ' "3"' over as '"3"', quotes included."""
    monkeypatch.setattr(webui.xyz_grid, "SKIP_INITIAL_SPACE", False)
    spy = Spy()
    [label] = spy.register(webui, [SAMPLERS_BY_LABEL["Euler Dy"]])
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name=label, steps=6)
    webui.xyz_grid.Script().run(p, "[SMEA] Dy steps", '2;3, "3", "none"')
    assert [call["dy_steps"] for call in spy.calls] == [(2, 3), (3,), ()]


@pytest.mark.parametrize(("axis", "values", "message"), [
    ("[SMEA] Dy steps", "3, x", "'x' is not a valid value for Dy steps: .* write a cell's steps as 2;3"),
    ("[SMEA] SMEA Dy steps", "-1", "'-1' is not a valid value for SMEA Dy steps"),
    ("[SMEA] SMEA scale", "1.5, 9", "9.0 is not a valid value for SMEA scale"),
])
def test_invalid_xyz_values_are_refused_before_anything_runs(webui, axis, values, message):
    webui.script_callbacks.before_ui_callback()
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name="Euler SMEA Dy", steps=6)
    with pytest.raises(RuntimeError, match=message):
        webui.xyz_grid.Script().run(p, axis, values)
    assert webui.shared.sd_model.calls == []


@pytest.mark.parametrize("cell", [";".join(map(str, range(20_000))), "x" * 100_000])  # csv caps a cell at 128 KiB
def test_a_huge_xyz_cell_is_refused_with_a_short_message(webui, cell):
    # A number axis (SMEA scale) is converted with float() by the plot script itself, before we see it.
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name="Euler SMEA Dy", steps=6)
    with pytest.raises(RuntimeError) as refused:
        webui.xyz_grid.Script().run(p, "[SMEA] Dy steps", cell)
    assert len(str(refused.value)) < 300, str(refused.value)[:1000]


def test_a_settings_search_for_smea_finds_every_option_of_the_section(webui):
    # The WebUI's Settings search matches the text shown with a setting: its label and its help (.info()).
    ours = [option for option in webui.shared.opts.data_labels.values()
            if option.section and option.section[0] == "smea_samplers"]
    assert len(ours) == len(KNOBS)  # and on reForge, the keep-built-ins setting
    shown = [option.label + option.comment_after for option in ours]
    assert all("SMEA" in text for text in shown), shown
    helps = [re.findall(r"<span class='info'>\((.*?)\)</span>", option.comment_after) for option in ours]
    assert all(len(found) == 1 and "(" not in found[0] for found in helps), helps  # "(… (…))" reads badly


def test_knob_labels_are_distinct_from_the_webuis_own_infotext_keys(webui):
    theirs = {option.infotext for key, option in webui.shared.opts.data_labels.items()
              if option.infotext and not key.startswith("smea_sampler_")}
    assert not theirs & {knob.label for knob in KNOBS}


def test_knobs_are_written_to_a_copy_so_other_x_y_z_cells_do_not_inherit_them(webui):
    # X/Y/Z cells are shallow copies of one job sharing its extra_generation_params dict.
    webui.shared.opts.smea_sampler_dy_steps = "3"
    p = webui.processing.StableDiffusionProcessingTxt2Img(sampler_name="Euler Dy", steps=6)
    shared = p.extra_generation_params
    webui.shared.state.begin()
    webui.processing.process_images(p)
    assert p.extra_generation_params["Dy steps"] == "3"
    assert "Dy steps" not in shared
