"""Registration in the WebUI (WEBUI.md §1, §2): what the dropdowns, the API, infotext and the samplers see."""

from __future__ import annotations

import inspect
import logging
import sys

import pytest

from smea_sampler import KNOBS, SAMPLERS, SAMPLERS_BY_LABEL
from tests import webui_double
from tests.webui.support import LABELS, records, txt2img

SPELLED = {other: info.label for info in SAMPLERS for other in info.other_labels}  # reForge's labels -> ours


def ours(webui):
    return [data for data in webui.sd_samplers.all_samplers if data.name in LABELS]


def test_every_sampler_is_listed_once_with_its_alias_after_the_built_ins(webui):
    names = [data.name for data in webui.sd_samplers.all_samplers]
    assert names == ["Euler a", "Euler", *LABELS]
    assert webui.sd_samplers.visible_sampler_names() == names  # the txt2img, img2img and hires-fix dropdowns
    assert webui.sd_samplers.samplers is webui.sd_samplers.all_samplers  # set_samplers() ran
    for info in SAMPLERS:
        data = webui.sd_samplers.all_samplers_map[info.label]
        assert data.aliases == [info.alias, *info.other_labels]
        assert webui.sd_samplers.samplers_map[info.label.lower()] == info.label
        assert webui.sd_samplers.samplers_map[info.alias.lower()] == info.label
        # an infotext or API request that names it as reForge does finds ours, though the list shows it once
        assert all(webui.sd_samplers.all_samplers_map[other] is data for other in info.other_labels)


def test_other_spellings_survive_forge_rebuilding_its_map(make_webui):
    webui = make_webui("forge")
    webui.sd_samplers.add_sampler(webui.sd_samplers_common.SamplerData("Late", None, [], {}))  # another extension's
    assert "Euler DY CFG++" not in webui.sd_samplers.all_samplers_map  # Forge's add_sampler rebuilt the map
    webui.script_callbacks.app_started_callback(None, None)
    assert webui.sd_samplers.all_samplers_map["Euler DY CFG++"] is webui.sd_samplers.all_samplers_map["Euler Dy CFG++"]


def test_api_sampler_options_are_plain_strings_ints_or_bools(webui):
    # /sdapi/v1/samplers validates options as dict[str, str]; pydantic coerces these, not None or objects.
    for data in ours(webui):
        assert all(isinstance(value, (str, int, bool)) for value in data.options.values())
        second_order = {"second_order": True} if data.name == "Kohaku_LoNyu_Yog" else {}
        assert data.options == {"uses_ensd": True, **second_order}


def test_kohaku_counts_two_model_calls_per_step_for_prompt_edits(webui):
    # CFGDenoiser.total_steps sizes the prompt-edit schedule by model calls: Kohaku makes ~2 per step.
    totals = {data.name: data.total_steps(10) for data in ours(webui)}
    assert totals == {info.label: 10 * info.calls_per_step for info in SAMPLERS}
    assert totals["Kohaku_LoNyu_Yog"] == 20


def test_the_registered_callable_shows_the_webui_parameters_and_keys_its_extra_params(webui):
    extra_params = webui.sd_samplers_kdiffusion.sampler_extra_params
    for info, data in zip(SAMPLERS, ours(webui), strict=True):
        sampler = data.constructor(webui.shared.sd_model)
        assert isinstance(sampler, webui.sd_samplers_kdiffusion.KDiffusionSampler)
        parameters = list(inspect.signature(sampler.func).parameters)
        assert parameters == ["model", "x", "sigmas", "extra_args", "callback", "disable", *info.params]
        # keyed by the very callable KDiffusionSampler looks up, not by a name it never uses
        assert extra_params[sampler.func] == ["s_churn", "s_tmin", "s_tmax", "s_noise"]
        assert sampler.extra_params == ["s_churn", "s_tmin", "s_tmax", "s_noise"]
    assert not any(isinstance(key, str) and key.startswith("sample_euler_") for key in extra_params)


def test_reload_ui_adds_nothing_twice_and_logs_nothing(webui, caplog):
    before = list(webui.sd_samplers.all_samplers)
    extra_params = dict(webui.sd_samplers_kdiffusion.sampler_extra_params)
    script = webui.script_loading.loaded_scripts[str(webui_double.GLUE)]
    with caplog.at_level(logging.INFO):
        webui_double.load_scripts(webui)  # "Reload UI" imports every script again, and ours runs setup() again
    assert webui.script_loading.loaded_scripts[str(webui_double.GLUE)] is not script
    assert webui.sd_samplers.all_samplers == before
    assert webui.sd_samplers_kdiffusion.sampler_extra_params == extra_params
    assert not records(caplog, level=logging.INFO)
    webui.script_callbacks.before_ui_callback()
    webui.script_callbacks.before_ui_callback()
    labels = [option.label for option in webui.xyz_grid.axis_options]
    assert len(labels) == len(set(labels))


KEEP = "smea_sampler_keep_builtins"


def test_the_webuis_own_copies_are_replaced_in_place_keeping_their_aliases_with_one_log_line(make_webui, caplog):
    before = [(data.name, data.aliases) for data in make_webui("reforge", load=False).sd_samplers.all_samplers]
    with caplog.at_level(logging.INFO):
        webui = make_webui("reforge")
    after = webui.sd_samplers.all_samplers
    # the same places, under our labels (reForge's "Euler DY CFG++" is our "Euler Dy CFG++"), then the rest of ours
    replaced = [SPELLED.get(name, name) for name, _ in before]
    assert [data.name for data in after] == replaced + [label for label in LABELS if label not in replaced]
    assert all(webui.sd_samplers.all_samplers_map[data.name] is data for data in after)
    for (name, aliases), data in zip(before, after, strict=False):
        if SPELLED.get(name, name) in LABELS:
            assert hasattr(data.constructor, "smea_sampler_label") and data.options["uses_ensd"]
            assert set(aliases) <= set(data.aliases)  # what named reForge's entry still finds ours
            assert all(webui.sd_samplers.samplers_map[alias.lower()] == data.name for alias in data.aliases)
            assert webui.sd_samplers.all_samplers_map[name] is data  # its infotexts select ours
    [line] = records(caplog, level=logging.INFO)
    message = line.getMessage()
    assert all(repr(label) in message for label in LABELS if label in replaced)
    assert "modules.sd_samplers_kdiffusion" in message and "modules_forge.forge_alter_samplers" in message
    _, p = txt2img(webui, "Euler SMEA Dy", steps=4)
    assert (10, 10) in webui.shared.sd_model.calls  # ours ran: its SMEA sub-step
    assert p.sampler.func.__name__ == "sample_euler_smea_dy"


def test_a_setting_keeps_the_webuis_own_copies_with_one_log_line(make_webui, caplog):
    with caplog.at_level(logging.INFO):
        webui = make_webui("reforge", settings={KEEP: True})
    kept = [data.name for data in webui.sd_samplers.all_samplers if not hasattr(data.constructor, "smea_sampler_label")]
    assert sorted(name for name in kept if SPELLED.get(name, name) in LABELS) == sorted([*LABELS[:5], *SPELLED])
    assert all(webui.sd_samplers.all_samplers_map[name].name == name for name in SPELLED)  # reForge's own
    [line] = records(caplog, level=logging.INFO)
    assert "keeping this WebUI's own" in line.getMessage()
    # what reForge has no copy of is ours, with the settings of its knobs
    added = [info for info in SAMPLERS if info.label not in kept and info.label not in SPELLED.values()]
    assert [data.name for data in webui.sd_samplers.all_samplers if hasattr(data.constructor, "smea_sampler_label")
            ] == [info.label for info in added]
    knobs = {name for info in added for name in info.knobs}
    assert {key for key in webui.shared.opts.data_labels if key.startswith("smea_sampler_")} == {
        KEEP, *(f"smea_sampler_{name}" for name in knobs)}


def test_reload_ui_after_changing_the_setting_swaps_the_entries_back_and_forth_in_place(make_webui, caplog):
    webui = make_webui("reforge", load=False)
    builtins = list(webui.sd_samplers.all_samplers)
    webui_double.load_scripts(webui)
    names = [data.name for data in webui.sd_samplers.all_samplers]
    webui.shared.opts.data[KEEP] = True
    webui_double.load_scripts(webui)  # Reload UI
    # the very entries reForge made, in their places, then ours that it has no copy of
    assert webui.sd_samplers.all_samplers[:len(builtins)] == builtins
    assert all(webui.sd_samplers.all_samplers_map[data.name] is data for data in builtins)
    assert not any(hasattr(data.constructor, "smea_sampler_label") for data in builtins)
    assert "Euler Dy CFG++" not in webui.sd_samplers.all_samplers_map  # ours, no longer listed, is not named
    webui.shared.opts.data[KEEP] = False
    caplog.clear()
    with caplog.at_level(logging.INFO):
        webui_double.load_scripts(webui)
        webui_double.load_scripts(webui)  # a second reload changes nothing and says nothing
    assert [data.name for data in webui.sd_samplers.all_samplers] == names
    assert all(hasattr(webui.sd_samplers.all_samplers_map[name].constructor, "smea_sampler_label") for name in LABELS)
    assert len(records(caplog, level=logging.INFO)) == 1  # the first reload's "ours take their place"


@pytest.mark.parametrize(("flavor", "shown"), [("a1111", False), ("forge", False), ("reforge", True)])
def test_the_keep_built_ins_setting_shows_only_where_the_webui_has_its_own_copies(make_webui, flavor, shown):
    webui = make_webui(flavor)
    assert (KEEP in webui.shared.opts.data_labels) is shown
    webui.shared.opts.data_labels.pop(KEEP, None)
    webui_double.load_scripts(webui)  # Reload UI: on reForge ours now stand in the built-ins' places
    assert (KEEP in webui.shared.opts.data_labels) is shown


def test_labels_another_extension_provides_are_left_to_it_with_one_log_line(make_webui, caplog):
    with caplog.at_level(logging.INFO):
        webui = make_webui(original=True)
    original = ["Euler Dy", "Euler SMEA Dy", "Euler Negative", "Euler Negative Dy"]
    names = [data.name for data in webui.sd_samplers.all_samplers]
    assert names == ["Euler a", "Euler", *original, *LABELS[4:]]
    for label in original:
        assert webui.sd_samplers.all_samplers_map[label].constructor.__module__ == "smea.py"
    [line] = records(caplog, level=logging.INFO)
    message = line.getMessage()
    assert all(repr(label) in message for label in original) and "smea.py" in message
    assert "another extension" in message and "Kohaku" not in message


def test_knobs_of_samplers_left_to_another_extension_get_no_settings(make_webui):
    webui = make_webui(original=True)  # the original's four are its own, the rest ours
    knobs = [knob for knob in KNOBS if any(knob.name in SAMPLERS_BY_LABEL[data.name].knobs for data in ours(webui)
                                           if hasattr(data.constructor, "smea_sampler_label"))]
    assert [key for key in webui.shared.opts.data_labels if key.startswith("smea_sampler_")] == [
        f"smea_sampler_{knob.name}" for knob in knobs]
    webui.script_callbacks.before_ui_callback()
    assert [option.label for option in webui.xyz_grid.axis_options] == ["Nothing", "Seed", "Sampler", "Sigma Churn",
                                                                         *(f"[SMEA] {knob.label}" for knob in knobs)]


def test_forge_registers_through_add_sampler(make_webui, monkeypatch):
    webui = make_webui("forge", load=False)
    added = []
    forge_add_sampler = webui.sd_samplers.add_sampler
    monkeypatch.setattr(webui.sd_samplers, "add_sampler",
                        lambda data: (added.append(data.name), forge_add_sampler(data)))
    old_map = webui.sd_samplers.all_samplers_map
    webui.glue = webui_double.load_scripts(webui)
    assert added == LABELS
    assert webui.sd_samplers.all_samplers_map is not old_map  # Forge rebuilds its map
    assert all(label in webui.sd_samplers.all_samplers_map for label in LABELS)
    assert webui.sd_samplers.samplers_map["k_euler_smea_dy"] == "Euler SMEA Dy"
    result, _ = txt2img(webui, "Euler SMEA Dy", steps=4)
    assert result.images.shape == (1, 4, 8, 8)


def refusal(webui, caplog):
    """Import the glue into a WebUI it does not fit; check it added nothing and said so in one line; the line."""
    samplers = list(webui.sd_samplers.all_samplers)
    extra_params = dict(webui.sd_samplers_kdiffusion.sampler_extra_params)
    settings = set(webui.shared.opts.data_labels)
    with caplog.at_level(logging.INFO):
        glue = webui_double.import_glue(webui)  # raises if anything escapes the script's import
    [line] = records(caplog, level=logging.INFO)
    assert webui.sd_samplers.all_samplers == samplers
    assert webui.sd_samplers_kdiffusion.sampler_extra_params == extra_params
    assert set(webui.shared.opts.data_labels) == settings
    assert not any(webui.script_callbacks.callback_map.values())
    assert glue is None or glue.setup() is None
    return line.getMessage()


def test_a_webui_without_all_samplers_map_is_left_untouched_with_one_log_line(make_webui, caplog):
    webui = make_webui(load=False)
    del webui.sd_samplers.all_samplers_map
    assert "modules.sd_samplers has no all_samplers_map" in refusal(webui, caplog)


def test_webui_1_5_is_refused_with_one_log_line(make_webui, caplog):
    assert "older than 1.6" in refusal(make_webui("v1.5", load=False), caplog)


def test_a_webui_module_that_cannot_be_imported_adds_nothing(make_webui, monkeypatch, caplog):
    webui = make_webui(load=False)
    monkeypatch.setitem(sys.modules, "modules.scripts", None)  # makes `import modules.scripts` fail
    assert "cannot import modules.scripts" in refusal(webui, caplog)


def test_without_its_package_the_glue_adds_nothing_with_one_log_line(make_webui, monkeypatch, caplog):
    webui = make_webui(load=False)
    monkeypatch.setitem(sys.modules, "smea_sampler", None)  # makes `import smea_sampler` fail
    monkeypatch.setitem(sys.modules, "smea_sampler.webui", None)
    assert "smea_sampler package cannot be imported" in refusal(webui, caplog)


def test_a_webui_failing_part_way_through_registration_gets_one_line_and_starts(make_webui, monkeypatch, caplog):
    webui = make_webui("forge", load=False)

    def add_sampler(data):
        raise RuntimeError("the sampler list is locked")

    monkeypatch.setattr(webui.sd_samplers, "add_sampler", add_sampler)
    with caplog.at_level(logging.INFO):
        glue = webui_double.import_glue(webui)  # raises if anything escapes the script's import
    [line] = records(caplog, level=logging.INFO)
    assert "registration failed part-way (RuntimeError: the sampler list is locked)" in line.getMessage()
    assert glue is not None


def test_a_surprise_while_building_the_entries_adds_nothing(make_webui, caplog):
    webui = make_webui(load=False)

    class SamplerData(webui.sd_samplers_common.SamplerData):  # a WebUI whose SamplerData takes more fields
        def __new__(cls, name, constructor, aliases, options, extra):
            return super().__new__(cls, name, constructor, aliases, options)

    webui.sd_samplers_common.SamplerData = SamplerData
    assert "TypeError" in refusal(webui, caplog)


@pytest.mark.parametrize("flavor", ["a1111", "forge"])
def test_loading_reports_no_error_to_the_webui(make_webui, flavor):
    webui = make_webui(flavor)
    assert webui.glue is not None and webui.scripts.load_errors == []


def test_the_double_leaves_sys_modules_and_sys_path_as_it_found_them():
    modules_before, path_before = set(sys.modules), list(sys.path)
    webui = webui_double.install("forge")
    webui_double.load_scripts(webui)
    assert "modules.sd_samplers" in sys.modules
    webui_double.uninstall(webui)
    assert not {name for name in sys.modules if name.split(".")[0] in ("modules", "k_diffusion", "gradio")}
    assert not [name for name in set(sys.modules) - modules_before if not name.startswith("smea_sampler")]
    assert sys.path == path_before


@pytest.mark.parametrize("keep", [False, True])
def test_reforges_own_lookup_by_name_finds_ours_under_our_label(make_webui, keep):
    """reForge's get_sampler_and_scheduler (API requests, infotexts) looks a name up, in any case, in its
    samplers_data_alter first: a real run named reForge's "Euler DY CFG++" in the infotext of ours."""
    webui = make_webui("reforge", settings={KEEP: keep})
    alter = sys.modules["modules_forge.forge_alter_samplers"]
    for asked in ("Euler Dy CFG++", "Euler DY CFG++", "dpm++ 3m sde dy", "Kohaku_LoNyu_Yog"):
        name, _ = webui.sd_samplers.get_sampler_and_scheduler(asked, None)
        data = webui.sd_samplers.find_sampler_config(name)
        assert hasattr(data.constructor, "smea_sampler_label") is not keep, asked
        assert name == (SPELLED.get(name, name) if not keep else name)
    assert all(any(entry is data for data in webui.sd_samplers.all_samplers) for entry in alter.samplers_data_alter)


def test_reload_ui_puts_reforges_own_entries_back_in_its_other_list(make_webui):
    webui = make_webui("reforge", load=False)
    alter = sys.modules["modules_forge.forge_alter_samplers"]
    builtins = list(alter.samplers_data_alter)
    webui_double.load_scripts(webui)
    assert not any(data is entry for data, entry in zip(builtins, alter.samplers_data_alter, strict=True))
    webui.shared.opts.data[KEEP] = True
    webui_double.load_scripts(webui)  # Reload UI
    assert all(data is entry for data, entry in zip(builtins, alter.samplers_data_alter, strict=True))
