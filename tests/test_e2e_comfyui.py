"""End-to-end: every sampler through a running ComfyUI's HTTP API, by KSampler name and by our node. Opt-in.

Skipped unless SMEA_COMFYUI_URL names a running ComfyUI with this repository in custom_nodes/ (as smea-samplers):

    git clone <this repository> ComfyUI/custom_nodes/smea-samplers
    python main.py --cpu --listen 127.0.0.1 --port 8188
    SMEA_COMFYUI_URL=http://127.0.0.1:8188 python -m pytest tests/test_e2e_comfyui.py -v

It uses the first checkpoint ComfyUI lists (SMEA_COMFYUI_CKPT names another) and, for the inpainting-model
cases, SMEA_COMFYUI_INPAINT_CKPT (skipped if unset). Every graph is built from ComfyUI's own nodes, so nothing
needs uploading: img2img and inpaint start from a plain Euler image made in the same graph, the inpaint mask
is the right half (SolidMask + MaskComposite). For every run, the server's log lines of that run (GET
/internal/logs/raw) must hold no sub-step fallback. Only urllib is used.
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.request
import uuid

import pytest

from smea_sampler import SAMPLERS

URL = os.environ.get("SMEA_COMFYUI_URL", "").rstrip("/")
pytestmark = pytest.mark.skipif(not URL, reason="set SMEA_COMFYUI_URL to a running ComfyUI with this custom node")
# SMEA_E2E_SAMPLERS (a comma list of labels or ComfyUI names) runs the per-sampler cases for those only.
CHOSEN = {name.strip() for name in os.environ.get("SMEA_E2E_SAMPLERS", "").split(",") if name.strip()}
NAMES = [info.comfy_name for info in SAMPLERS if not CHOSEN or CHOSEN & {info.label, info.comfy_name}]
CFG_PP = {info.comfy_name for info in SAMPLERS if info.cfg_pp}
CFG_PP_SCALE = 1.5  # what CFG++ samplers are used at (README: CFG 1–2)
SIZE, TIMEOUT = 64, 900
FALLBACK_LINE = "sub-step at latent size"


def call(path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(URL + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body[:1] in (b"{", b"[", b'"') else body


def log_entries():
    return call("/internal/logs/raw")["entries"]


def run(graph):
    """Queue an API-format graph; wait for it; the bytes of every image it saved. The server's log lines of the
    run must hold no sub-step fallback."""
    mark = max((entry["t"] for entry in log_entries()), default="")
    prompt_id = call("/prompt", {"prompt": graph, "client_id": str(uuid.uuid4())})["prompt_id"]
    deadline = time.monotonic() + TIMEOUT
    while not (history := call(f"/history/{prompt_id}")):
        assert time.monotonic() < deadline, f"prompt {prompt_id} did not finish"
        time.sleep(0.2)  # polling a server, not a timing assumption
    entry = history[prompt_id]
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:2000]
    logged = "".join(line["m"] for line in log_entries() if line["t"] > mark)
    assert FALLBACK_LINE not in logged, logged
    images = [image for node in sorted(entry["outputs"], key=int) for image in entry["outputs"][node]["images"]]
    return [call(f"/view?filename={image['filename']}&subfolder={image['subfolder']}&type={image['type']}")
            for image in images]


@pytest.fixture(scope="module")
def checkpoints():
    listed = call("/object_info/CheckpointLoaderSimple")["CheckpointLoaderSimple"]["input"]["required"]
    names = listed["ckpt_name"][0]
    assert names, "ComfyUI lists no checkpoint"
    return os.environ.get("SMEA_COMFYUI_CKPT", names[0]), os.environ.get("SMEA_COMFYUI_INPAINT_CKPT")


CONTROLNET = os.environ.get("SMEA_COMFYUI_CONTROLNET")  # a ControlNet that fits SMEA_COMFYUI_CKPT


class Graph:
    """An API-format ComfyUI graph built node by node; add() returns the new node's id."""

    def __init__(self):
        self.nodes = {}

    def add(self, class_type, **inputs):
        node = str(len(self.nodes) + 1)
        self.nodes[node] = {"class_type": class_type, "inputs": inputs}
        return node


def sampled(graph, via, name, model, positive, negative, latent, seed, steps, denoise=1.0, cfg=None):
    """A sampling node for name, KSampler or SamplerCustom with our node and BasicScheduler; its output link.
    positive, negative and latent are links [node, output]; cfg is 5, or 1.5 for a CFG++ sampler, unless given."""
    cfg = cfg if cfg is not None else CFG_PP_SCALE if name in CFG_PP else 5.0
    if via == "ksampler":
        node = graph.add("KSampler", model=[model, 0], seed=seed, steps=steps, cfg=cfg, sampler_name=name,
                         scheduler="karras", positive=positive, negative=negative, latent_image=latent,
                         denoise=denoise)
        return [node, 0]
    sampler = graph.add("SMEASampler", sampler_name=name, dy_steps="2,3", smea_steps="0", smea_dy_steps="1",
                        smea_scale=1.25, s_noise=1.0, eta=1.0, s_dy_pow=-1.0)
    sigmas = graph.add("BasicScheduler", model=[model, 0], scheduler="karras", steps=steps, denoise=denoise)
    node = graph.add("SamplerCustom", model=[model, 0], add_noise=True, noise_seed=seed, cfg=cfg,
                     positive=positive, negative=negative, sampler=[sampler, 0], sigmas=[sigmas, 0],
                     latent_image=latent)
    return [node, 0]


def build(case, via, name, checkpoints, seed=1234, steps=6, width=SIZE, height=SIZE, cfg=None):
    """The graph of one case: txt2img, img2img (denoise 0.6), inpaint (SetLatentNoiseMask), vae_encode_for_inpaint,
    area_and_mask_conds, controlnet and controlnet_img2img (ControlNetApplyAdvanced, a white square on black as
    its hint), or with the inpainting checkpoint txt2img_inpaint_model and inpaint_model
    (InpaintModelConditioning)."""
    graph = Graph()
    ckpt = checkpoints[1] if case.endswith("inpaint_model") else checkpoints[0]
    loader = graph.add("CheckpointLoaderSimple", ckpt_name=ckpt)
    positive = [graph.add("CLIPTextEncode", text="a red cube on a table", clip=[loader, 1]), 0]
    negative = [graph.add("CLIPTextEncode", text="blurry", clip=[loader, 1]), 0]
    empty = [graph.add("EmptyLatentImage", width=width, height=height, batch_size=1), 0]
    kwargs = dict(seed=seed, steps=steps, cfg=cfg)
    if case.startswith("controlnet"):
        square = graph.add("SolidMask", value=1.0, width=width // 2, height=height // 2)
        black = graph.add("SolidMask", value=0.0, width=width, height=height)
        hint_mask = graph.add("MaskComposite", destination=[black, 0], source=[square, 0], x=width // 4,
                              y=height // 4, operation="add")
        hint = graph.add("MaskToImage", mask=[hint_mask, 0])
        control_net = graph.add("ControlNetLoader", control_net_name=CONTROLNET)
        applied = graph.add("ControlNetApplyAdvanced", positive=positive, negative=negative,
                            control_net=[control_net, 0], image=[hint, 0], strength=1.0, start_percent=0.0,
                            end_percent=1.0)
        positive, negative = [applied, 0], [applied, 1]
        case = case.removeprefix("controlnet").removeprefix("_") or "txt2img"
    if case in ("txt2img", "txt2img_inpaint_model"):
        latent = sampled(graph, via, name, loader, positive, negative, empty, **kwargs)
    else:
        base = graph.add("KSampler", model=[loader, 0], seed=7, steps=4, cfg=5.0, sampler_name="euler",
                         scheduler="karras", positive=positive, negative=negative, latent_image=empty, denoise=1.0)
        pixels = [graph.add("VAEDecode", samples=[base, 0], vae=[loader, 2]), 0]
        encoded = [graph.add("VAEEncode", pixels=pixels, vae=[loader, 2]), 0]
        zeros = graph.add("SolidMask", value=0.0, width=width, height=height)
        ones = graph.add("SolidMask", value=1.0, width=width // 2, height=height)
        mask = [graph.add("MaskComposite", destination=[zeros, 0], source=[ones, 0], x=width // 2, y=0,
                          operation="add"), 0]
        if case == "img2img":
            latent = sampled(graph, via, name, loader, positive, negative, encoded, denoise=0.6, **kwargs)
        elif case == "inpaint":
            masked = [graph.add("SetLatentNoiseMask", samples=encoded, mask=mask), 0]
            latent = sampled(graph, via, name, loader, positive, negative, masked, **kwargs)
        elif case == "vae_encode_for_inpaint":
            masked = [graph.add("VAEEncodeForInpaint", pixels=pixels, vae=[loader, 2], mask=mask, grow_mask_by=6), 0]
            latent = sampled(graph, via, name, loader, positive, negative, masked, **kwargs)
        elif case == "area_and_mask_conds":  # ConditioningSetArea and ConditioningSetMask, combined
            house = graph.add("CLIPTextEncode", text="a house", clip=[loader, 1])
            area = graph.add("ConditioningSetArea", conditioning=[house, 0], width=width // 2, height=height // 2,
                             x=width // 2, y=height // 4, strength=1.0)
            tree = graph.add("CLIPTextEncode", text="a tree", clip=[loader, 1])
            masked = graph.add("ConditioningSetMask", conditioning=[tree, 0], mask=mask, strength=0.8,
                               set_cond_area="default")
            both = graph.add("ConditioningCombine", conditioning_1=[area, 0], conditioning_2=[masked, 0])
            combined = [graph.add("ConditioningCombine", conditioning_1=positive, conditioning_2=[both, 0]), 0]
            latent = sampled(graph, via, name, loader, combined, negative, empty, **kwargs)
        else:
            conditioned = graph.add("InpaintModelConditioning", positive=positive, negative=negative,
                                    vae=[loader, 2], pixels=pixels, mask=mask, noise_mask=True)
            latent = sampled(graph, via, name, loader, [conditioned, 0], [conditioned, 1], [conditioned, 2],
                             **kwargs)
    decoded = graph.add("VAEDecode", samples=latent, vae=[loader, 2])
    graph.add("SaveImage", images=[decoded, 0], filename_prefix=f"smea_e2e_{case}_{via}_{name}")
    return graph.nodes


def test_object_info_lists_every_name_and_the_node():
    listed = call("/object_info/KSampler")["KSampler"]["input"]["required"]["sampler_name"][0]
    assert [name for name in NAMES if name in listed] == NAMES
    select = call("/object_info/KSamplerSelect")["KSamplerSelect"]["input"]["required"]["sampler_name"][0]
    assert all(name in select for name in NAMES)
    node = call("/object_info/SMEASampler")["SMEASampler"]
    assert node["display_name"] == "SMEA sampler" and node["output"] == ["SAMPLER"]
    assert node["input"]["required"]["sampler_name"][0] == [info.comfy_name for info in SAMPLERS]
    assert list(node["input"]["optional"]) == ["s_dy_pow"]  # after the others: saved workflows keep their values


VIAS = ["ksampler", "node"]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", NAMES)
def test_txt2img_at_6_and_20_steps_and_the_same_seed_gives_the_same_pixels(checkpoints, name, via):
    first = run(build("txt2img", via, name, checkpoints, steps=6))
    other = run(build("txt2img", via, name, checkpoints, steps=6, seed=4321))  # evicts the cached result
    again = run(build("txt2img", via, name, checkpoints, steps=6))  # so this one really samples again
    assert first == again and first != other
    assert run(build("txt2img", via, name, checkpoints, steps=20))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", ["odd_size", "img2img", "inpaint"])
def test_odd_sizes_img2img_and_inpaint_with_a_latent_noise_mask(checkpoints, name, via, case):
    if case == "odd_size":
        assert run(build("txt2img", via, name, checkpoints, width=72, height=88))
    else:
        assert run(build(case, via, name, checkpoints))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", NAMES)
def test_vae_encode_for_inpaint_and_area_and_masked_conditioning(checkpoints, name, via):
    assert run(build("vae_encode_for_inpaint", via, name, checkpoints))
    assert run(build("area_and_mask_conds", via, name, checkpoints, width=2 * SIZE, height=2 * SIZE))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", ["txt2img_inpaint_model", "inpaint_model"])
def test_an_inpainting_checkpoint_with_inpaint_model_conditioning(checkpoints, name, via, case):
    if not checkpoints[1]:
        pytest.skip("set SMEA_COMFYUI_INPAINT_CKPT to an inpainting (9-channel) checkpoint")
    assert run(build(case, via, name, checkpoints))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", NAMES)
def test_controlnet_changes_the_image_in_txt2img_and_img2img(checkpoints, name, via):
    if not CONTROLNET:
        pytest.skip("set SMEA_COMFYUI_CONTROLNET to a ControlNet that fits the checkpoint")
    image = pytest.importorskip("PIL.Image")
    [plain] = run(build("txt2img", via, name, checkpoints))
    [controlled] = run(build("controlnet", via, name, checkpoints))
    # pixels, not files: each PNG embeds its own graph
    assert image.open(io.BytesIO(controlled)).tobytes() != image.open(io.BytesIO(plain)).tobytes()
    assert run(build("controlnet_img2img", via, name, checkpoints))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", [name for name in NAMES if name in CFG_PP])
def test_cfg_pp_at_cfg_1_and_1_5_uses_the_unconditional_prediction(checkpoints, name, via):
    """At CFG 1 ComfyUI would skip the uncond pass; a CFG++ step needs it (README)."""
    mark = max((entry["t"] for entry in log_entries()), default="")
    one = run(build("txt2img", via, name, checkpoints, cfg=1.0))
    one_and_a_half = run(build("txt2img", via, name, checkpoints, cfg=1.5))  # evicts the cached result
    again = run(build("txt2img", via, name, checkpoints, cfg=1.0))  # so this one really samples again
    assert "gave no unconditional prediction" not in "".join(line["m"] for line in log_entries() if line["t"] > mark)
    assert one == again  # the same graph, the same file
    assert pixels(one[0]) != pixels(one_and_a_half[0])  # the files differ anyway: they embed their graphs


def pixels(png: bytes) -> bytes:
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()
