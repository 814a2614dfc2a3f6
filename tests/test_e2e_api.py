"""End-to-end: every sampler through a running WebUI's HTTP API (txt2img, hires fix, img2img, inpaint). Opt-in.

Skipped unless SMEA_WEBUI_URL names a running WebUI (A1111 1.6+, Forge or reForge) started with --api and
this repository installed as an extension (extensions/smea-samplers). It needs no model of its own; the
A1111 CI recipe runs on a CPU with the repository's empty test checkpoint:

    cd stable-diffusion-webui && git clone <this repository> extensions/smea-samplers
    python launch.py --skip-torch-cuda-test --test-server --do-not-download-clip --no-half --use-cpu all
    # --test-server = --api --ckpt test/test_files/empty.pt --disable-nan-check; then, from this repository:
    SMEA_WEBUI_URL=http://127.0.0.1:7860 python -m pytest tests/test_e2e_api.py -v

Requests are 64×64 with a few steps. The API answers an unknown sampler name with HTTP 200 and runs
another sampler, so every response's `info.sampler_name` is checked. Only urllib is used.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import urllib.request
import zlib

import pytest

from smea_sampler import KNOBS_BY_NAME, SAMPLERS

URL = os.environ.get("SMEA_WEBUI_URL", "").rstrip("/")
pytestmark = pytest.mark.skipif(not URL, reason="set SMEA_WEBUI_URL to a running WebUI with this extension")
SIZE, STEPS, TIMEOUT = 64, 8, 600
BASE = {"prompt": "a red cube on a table", "negative_prompt": "", "seed": 1234, "steps": STEPS,
        "width": SIZE, "height": SIZE, "cfg_scale": 5, "batch_size": 1, "n_iter": 1}


def call(path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(URL + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read())


def png(width, height, pixel):
    """A grayscale PNG with pixel(x, y) in 0..255, written with the standard library only."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + bytes(pixel(x, y) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def webui_samplers():
    return {item["name"]: item for item in call("/sdapi/v1/samplers")}


@pytest.fixture(scope="module")
def init_image():
    return call("/sdapi/v1/txt2img", {**BASE, "sampler_name": "Euler"})["images"][0]


def request_for(mode, label, init_image):
    if mode == "txt2img":
        return "/sdapi/v1/txt2img", {**BASE, "sampler_name": label}
    if mode == "hires":
        return "/sdapi/v1/txt2img", {**BASE, "sampler_name": label, "enable_hr": True, "hr_scale": 2,
                                     "hr_upscaler": "Latent", "hr_second_pass_steps": STEPS,
                                     "denoising_strength": 0.6, "hr_sampler_name": label}
    payload = {**BASE, "sampler_name": label, "init_images": [init_image], "denoising_strength": 0.6}
    if mode == "inpaint":
        right_half = png(SIZE, SIZE, lambda x, y: 255 if x >= SIZE // 2 else 0)
        payload.update(mask=base64.b64encode(right_half).decode(), mask_blur=0, inpainting_fill=1,
                       inpaint_full_res=False)
    return "/sdapi/v1/img2img", payload


@pytest.mark.parametrize("mode", ["txt2img", "hires", "img2img", "inpaint"])
@pytest.mark.parametrize("label", [info.label for info in SAMPLERS])
def test_sampler_runs_under_its_own_name_and_a_seed_reproduces_the_image(webui_samplers, init_image, label, mode):
    assert label in webui_samplers, f"{label} is not registered: is the extension installed and enabled?"
    path, payload = request_for(mode, label, init_image)
    first = call(path, payload)
    assert json.loads(first["info"])["sampler_name"] == label  # an unknown name would have run DPM++ 2M
    if "uses_ensd" not in webui_samplers[label]["options"]:
        pytest.skip(f"{label} is the WebUI's or another extension's own sampler, not this extension's")
    second = call(path, payload)
    assert first["images"] == second["images"]


def test_a_knob_set_through_override_settings_reaches_the_infotext(webui_samplers):
    key = "smea_sampler_dy_steps"
    if key not in call("/sdapi/v1/options") or "uses_ensd" not in webui_samplers["Euler Dy"]["options"]:
        pytest.skip("Euler Dy is not this extension's here")
    info = json.loads(call("/sdapi/v1/txt2img", {**BASE, "sampler_name": "Euler Dy",
                                                 "override_settings": {key: "3"}})["info"])
    assert f"{KNOBS_BY_NAME['dy_steps'].label}: 3" in info["infotexts"][0]
