"""The ComfyUI example in docs/: the UI workflow, the API graph and the PNG a real ComfyUI saved. Offline.

docs/comfyui_smea_sampler_workflow.json is what users load (or drag in); docs/comfyui_smea_sampler_api.json is
the same graph in API form; docs/comfyui_smea_sampler_example.png was saved by ComfyUI's SaveImage from that
graph run on a small random-weight test checkpoint (64×64, 6 steps), so its embedded workflow and prompt name
that checkpoint and size. These tests read the files only: no ComfyUI, no server, no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from smea_sampler import SAMPLERS
from smea_sampler.comfyui import NODE, SMEASampler
from smea_sampler.registry import KNOBS_BY_NAME

DOCS = Path(__file__).resolve().parent.parent / "docs"
WORKFLOW = DOCS / "comfyui_smea_sampler_workflow.json"
API = DOCS / "comfyui_smea_sampler_api.json"
PNG = DOCS / "comfyui_smea_sampler_example.png"
COMFY_NAMES = [info.comfy_name for info in SAMPLERS]
# The widgets the PNG's run changed from the docs workflow: (node type, widget index) -> value there.
BED_VALUES = {("CheckpointLoaderSimple", 0): "sd15tiny.safetensors", ("EmptyLatentImage", 0): 64,
              ("EmptyLatentImage", 1): 64, ("BasicScheduler", 1): 6}


def load_workflow() -> dict:
    return json.loads(WORKFLOW.read_text())


def png_text() -> dict[str, str]:
    with Image.open(PNG) as image:
        assert image.format == "PNG"
        return dict(image.text)


def smea_nodes(workflow: dict) -> list[dict]:
    return [node for node in workflow["nodes"] if node["type"] == NODE]


def assert_links_consistent(workflow: dict):
    """Each link [id, from node, from slot, to node, to slot, type] is held by both nodes it names, with the
    type of both slots; each link a node holds is in `links` with that node at the right end."""
    nodes = {node["id"]: node for node in workflow["nodes"]}
    assert len(nodes) == len(workflow["nodes"]), "node ids are not unique"
    links = {link[0]: link for link in workflow["links"]}
    assert len(links) == len(workflow["links"]), "link ids are not unique"
    assert workflow["last_node_id"] >= max(nodes)
    assert workflow["last_link_id"] >= max(links, default=0)
    for link_id, link in links.items():
        assert len(link) == 6, link
        _, origin, origin_slot, target, target_slot, kind = link
        output = nodes[origin]["outputs"][origin_slot]
        target_input = nodes[target]["inputs"][target_slot]
        assert link_id in (output["links"] or []), f"link {link_id} missing from node {origin}'s output"
        assert target_input["link"] == link_id, f"link {link_id} missing from node {target}'s input"
        assert output["type"] == kind == target_input["type"], link
    for node in nodes.values():
        for slot, node_input in enumerate(node.get("inputs", [])):
            if node_input.get("link") is not None:
                assert links[node_input["link"]][3:5] == [node["id"], slot], (node["id"], node_input)
        for slot, output in enumerate(node.get("outputs", [])):
            for link_id in output.get("links") or []:
                assert links[link_id][1:3] == [node["id"], slot], (node["id"], output)


def node_spec() -> dict:
    """The SMEASampler node's inputs, required then optional, as ComfyUI orders its widgets."""
    spec = SMEASampler.INPUT_TYPES()
    return {**spec["required"], **spec.get("optional", {})}


def smea_widget_inputs(node: dict) -> dict:
    """The SMEASampler node's widgets_values by input name, in INPUT_TYPES order. A workflow saved before the
    optional inputs existed lacks their values; ComfyUI then gives them their defaults."""
    names = list(node_spec())
    values = node["widgets_values"]
    assert len(SMEASampler.INPUT_TYPES()["required"]) <= len(values) <= len(names), (names, values)
    return dict(zip(names, values, strict=False))


def assert_valid_smea_inputs(inputs: dict):
    spec = node_spec()
    assert list(inputs) == list(spec)[:len(inputs)]
    assert inputs["sampler_name"] in COMFY_NAMES
    assert inputs["sampler_name"] in spec["sampler_name"][0]
    for name, value in inputs.items():
        if name in KNOBS_BY_NAME:
            KNOBS_BY_NAME[name].parse(value)  # raises on a value the node would refuse
        kind, options = spec[name]
        if kind == "FLOAT":
            assert isinstance(value, (int, float)) and options["min"] <= value <= options["max"], (name, value)
        elif kind == "STRING":
            assert isinstance(value, str), (name, value)


def test_the_workflow_is_a_ui_workflow_with_consistent_links():
    workflow = load_workflow()
    assert workflow["version"] == 0.4
    assert {"SamplerCustom", NODE, "SaveImage"} <= {node["type"] for node in workflow["nodes"]}
    for node in workflow["nodes"]:
        assert {"id", "type", "pos", "size", "mode", "widgets_values"} <= set(node), node["type"]
    assert_links_consistent(workflow)


def test_the_smea_node_has_one_widget_value_per_input_in_order():
    (node,) = smea_nodes(load_workflow())
    inputs = smea_widget_inputs(node)
    assert list(inputs) == list(node_spec())  # the docs workflow has every input, the optional ones too
    assert_valid_smea_inputs(inputs)
    sampler_link = next(link for link in load_workflow()["links"] if link[1] == node["id"])
    assert sampler_link[5] == "SAMPLER"


def test_sampler_custom_keeps_the_seed_control_value_after_the_seed():
    (node,) = [node for node in load_workflow()["nodes"] if node["type"] == "SamplerCustom"]
    add_noise, seed, control, cfg = node["widgets_values"]
    assert add_noise is True and isinstance(seed, int) and control == "fixed" and isinstance(cfg, (int, float))


def test_the_workflow_and_the_api_graph_are_the_same_graph():
    workflow, api = load_workflow(), json.loads(API.read_text())
    nodes = {str(node["id"]): node for node in workflow["nodes"]}
    assert {key: node["type"] for key, node in nodes.items()} == {key: entry["class_type"]
                                                                   for key, entry in api.items()}
    links = {link[0]: link for link in workflow["links"]}
    for key, node in nodes.items():
        wired = {node_input["name"]: [str(links[node_input["link"]][1]), links[node_input["link"]][2]]
                 for node_input in node.get("inputs", []) if node_input.get("link") is not None}
        assert wired == {name: value for name, value in api[key]["inputs"].items() if isinstance(value, list)}, key
    (smea,) = smea_nodes(workflow)
    assert smea_widget_inputs(smea) == api[str(smea["id"])]["inputs"]


def test_the_png_embeds_the_workflow_and_the_prompt_comfyui_ran():
    assert PNG.stat().st_size < 50_000
    text = png_text()
    embedded = json.loads(text["workflow"])
    assert_links_consistent(embedded)
    (node,) = smea_nodes(embedded)
    inputs = smea_widget_inputs(node)
    assert_valid_smea_inputs(inputs)
    prompt = json.loads(text["prompt"])
    (entry,) = [entry for entry in prompt.values() if entry["class_type"] == NODE]
    assert entry["inputs"] == inputs
    assert "SamplerCustom" in {entry["class_type"] for entry in prompt.values()}


def test_the_png_workflow_is_the_docs_workflow_at_the_test_size():
    """Dragging the PNG in gives the docs graph with the run's checkpoint, size and steps (BED_VALUES)."""
    docs, embedded = load_workflow(), json.loads(png_text()["workflow"])
    assert embedded["links"] == docs["links"]
    assert [(node["id"], node["type"]) for node in embedded["nodes"]] == [(node["id"], node["type"])
                                                                           for node in docs["nodes"]]
    for ours, theirs in zip(docs["nodes"], embedded["nodes"], strict=True):
        expected = list(ours["widgets_values"])
        if ours["type"] == NODE:  # saved before the optional inputs: the docs give them their defaults
            defaults = [options["default"] for _, options in SMEASampler.INPUT_TYPES()["optional"].values()]
            assert expected[len(theirs["widgets_values"]):] == defaults
            expected = expected[:len(theirs["widgets_values"])]
        for (kind, index), value in BED_VALUES.items():
            if ours["type"] == kind:
                expected[index] = value
        assert theirs["widgets_values"] == expected, ours["type"]


@pytest.mark.parametrize("value", ["2,x", "-1"])
def test_a_bad_knob_value_would_be_caught(value):
    with pytest.raises(ValueError):
        KNOBS_BY_NAME["dy_steps"].parse(value)
