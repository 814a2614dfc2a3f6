"""End-to-end: the acceptance run of every sampler on a running WebUI (A1111 1.6+, Forge, reForge), over its HTTP API.

Opt-in. Skipped unless SMEA_WEBUI_URL names a WebUI started with --api and this repository installed as an
extension (extensions/smea-samplers):

    SMEA_WEBUI_URL=http://127.0.0.1:7860 SMEA_WEBUI_LOG=/path/to/server.log \\
    SMEA_WEBUI_INPAINT_CKPT=<title of an inpainting checkpoint> python -m pytest tests/test_e2e_webui.py -v

SMEA_WEBUI_LOG (the server's console output, redirected to a file) lets every request check that no sub-step fell
back ("… sub-step … skipped"); SMEA_WEBUI_INPAINT_CKPT names a 9-channel inpainting checkpoint for the cases that
need one (skipped if unset); SMEA_WEBUI_CONTROLNET names a ControlNet model that fits the checkpoint, for the
ControlNet cases (sd-webui-controlnet on A1111, the built-in one on Forge and reForge; skipped if unset).
SMEA_WEBUI_CKPT runs every request on that checkpoint (an SDXL one, say); with SMEA_WEBUI_SETTINGS, a JSON object
of settings is saved first (SDXL on A1111 wants {"show_progress_type": "Approx cheap"}, or its live preview
downloads a model). Requests are small (64×64, few steps) so that a CPU-only WebUI with a small random-weight
checkpoint runs them. The API answers an unknown sampler name with HTTP 200 and runs another sampler, so every
response's sampler is checked. Pixels are compared, not PNG files (their infotext differs with the seed). Before
the run it saves "Sigma noise" and this extension's settings at their defaults in the WebUI's settings (see
saved_settings). Needs pillow (the dev extra).
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import urllib.request

import pytest

from smea_sampler import KNOBS_BY_NAME, SAMPLERS
from smea_sampler.webui import axis_label, option_key, setting_value

URL = os.environ.get("SMEA_WEBUI_URL", "").rstrip("/")
LOG = os.environ.get("SMEA_WEBUI_LOG")
INPAINT_CKPT = os.environ.get("SMEA_WEBUI_INPAINT_CKPT")
CONTROLNET = os.environ.get("SMEA_WEBUI_CONTROLNET")
CKPT = os.environ.get("SMEA_WEBUI_CKPT")
SETTINGS = json.loads(os.environ.get("SMEA_WEBUI_SETTINGS") or "{}")
pytestmark = pytest.mark.skipif(not URL, reason="set SMEA_WEBUI_URL to a running WebUI with this extension")
Image = pytest.importorskip("PIL.Image") if URL else None

# SMEA_E2E_SAMPLERS (a comma list of labels) runs the per-sampler cases for those only: the whole list is long
# on a CPU-only WebUI.
CHOSEN = {label.strip() for label in os.environ.get("SMEA_E2E_SAMPLERS", "").split(",") if label.strip()}
LABELS = [info.label for info in SAMPLERS if not CHOSEN or info.label in CHOSEN]
CFG_PP = [info.label for info in SAMPLERS if info.cfg_pp and info.label in LABELS]
CFG_PP_SCALE = 1.5  # what CFG++ samplers are used at (README: CFG 1–2)
SIZE, TIMEOUT, SEED = 64, 900, 1234
BASE = {"prompt": "a red cube on a table", "negative_prompt": "blurry", "seed": SEED, "steps": 6, "width": SIZE,
        "height": SIZE, "cfg_scale": 5, "batch_size": 1, "n_iter": 1,
        **({"override_settings": {"sd_model_checkpoint": CKPT}} if CKPT else {})}
FALLBACK = "sub-step at latent size"  # the core's fallback log line (substeps.py)
# A batch is not bit-identical to its images made alone even with the WebUI's own samplers: batched float
# arithmetic rounds differently (Forge's Euler a on CPU: one pixel off by one level). Noise that depends on
# the batch (the original's global generator) changes pixels by up to 255.
BATCH_ROUNDING = 2
# A knob value that differs from its default, per knob, as the X/Y/Z plot and PNG Info take it.
OTHER_VALUE = {"dy_steps": "3", "smea_steps": "none", "smea_dy_steps": "1;2", "smea_scale": "1.5", "s_dy_pow": "2"}


def post(path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(URL + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{path}: HTTP {error.code}: {error.read()[:2000]!r}") from None


def post_get(path):
    with urllib.request.urlopen(URL + path, timeout=TIMEOUT) as response:
        return json.loads(response.read())


def log_size():
    return os.path.getsize(LOG) if LOG else 0


def generate(path, payload, label=None):
    """One generation; checks the sampler that ran and that the server logged no sub-step fallback."""
    start = log_size()
    result = post(path, payload)
    if LOG:
        with open(LOG, encoding="utf-8", errors="replace") as log:
            log.seek(start)
            logged = log.read()
        assert FALLBACK not in logged, logged[-3000:]
    info = json.loads(result["info"])
    if label is not None:
        assert info["sampler_name"] == label  # an unknown name would have run another sampler with HTTP 200
    return result, info


def pixels(image_b64):
    return Image.open(io.BytesIO(base64.b64decode(image_b64))).convert("RGB").tobytes()


def largest_difference(image_a, image_b):
    return max(abs(a - b) for a, b in zip(pixels(image_a), pixels(image_b), strict=True))


def png_mask():
    """A 64×64 mask whose right half is white (repainted)."""
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (SIZE // 2, 0, SIZE, SIZE))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def with_base(fields):
    """BASE with fields; override_settings are merged, so that SMEA_WEBUI_CKPT stays in force."""
    overrides = {**BASE.get("override_settings", {}), **fields.get("override_settings", {})}
    return {**BASE, **fields, **({"override_settings": overrides} if overrides else {})}


def scale_for(label):
    return {"cfg_scale": CFG_PP_SCALE} if label in CFG_PP else {}


def txt2img(label, **fields):
    return generate("/sdapi/v1/txt2img", with_base({"sampler_name": label, **scale_for(label), **fields}), label)


def img2img(label, init_image, mask=False, **fields):
    payload = with_base({"sampler_name": label, "init_images": [init_image], "denoising_strength": 0.6,
                         **scale_for(label), **fields})
    if mask:
        payload.update(mask=png_mask(), mask_blur=payload.get("mask_blur", 0), inpainting_fill=1,
                       inpaint_full_res=payload.get("inpaint_full_res", False))
    return generate("/sdapi/v1/img2img", payload, label)


@pytest.fixture(scope="module")
def samplers():
    return {item["name"]: item for item in post("/sdapi/v1/samplers")}


@pytest.fixture(scope="module")
def init_image():
    return post("/sdapi/v1/txt2img", with_base({"sampler_name": "Euler"}))["images"][0]


@pytest.fixture(scope="module")
def scripts():
    """The WebUI's scripts with their arguments, by tab."""
    try:
        listed = post("/sdapi/v1/script-info")
    except AssertionError as error:
        if "validation errors for ScriptInfo" in str(error):  # 1.6.0's own bug with gradio's tuple choices
            pytest.skip(f"this WebUI cannot list its scripts' arguments: {str(error)[:200]}")
        raise
    return {tab: [script for script in listed if script["is_img2img"] == (tab == "img2img")]
            for tab in ("txt2img", "img2img")}


@pytest.fixture(scope="module", autouse=True)
def saved_settings():
    """Save the settings the tests override at their defaults first: the WebUI restores an override afterwards
    only for a setting that config.json already holds (processing.py), so an override of s_noise or of a knob
    would otherwise outlive its request and leak into the next tests."""
    knobs = {option_key(knob): setting_value(knob, knob.default) for knob in KNOBS_BY_NAME.values()}
    post("/sdapi/v1/options", {"s_noise": 1.0, **knobs, **SETTINGS})


@pytest.fixture(autouse=True)
def ours(request, samplers):
    """Every sampler test runs on this extension's sampler (its options carry uses_ensd), not the host's."""
    label = request.node.callspec.params.get("label") if hasattr(request.node, "callspec") else None
    if label is not None:
        assert label in samplers, f"{label} is not registered: is the extension installed and enabled?"
        assert samplers[label]["options"].get("uses_ensd"), f"{label} here is not this extension's"


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 6, 20])
def test_txt2img_at_any_step_count(label, steps):
    result, _ = txt2img(label, steps=steps)
    assert len(result["images"]) == 1


@pytest.mark.parametrize("label", LABELS)
def test_the_same_seed_gives_the_same_pixels_and_image_k_of_a_batch_equals_seed_plus_k_alone(label):
    first, _ = txt2img(label)
    again, _ = txt2img(label)
    assert pixels(first["images"][0]) == pixels(again["images"][0])
    batch, info = txt2img(label, batch_size=3)
    assert info["all_seeds"] == [SEED, SEED + 1, SEED + 2]
    images = batch["images"][-3:]  # a grid, if the WebUI returns one, comes first
    for k, image in enumerate(images):
        alone = first if k == 0 else txt2img(label, seed=SEED + k)[0]
        assert largest_difference(image, alone["images"][0]) <= BATCH_ROUNDING, f"image {k} of the batch"


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize(("width", "height"), [(72, 88), (40, 56)])
def test_odd_latent_sizes(label, width, height):
    result, _ = txt2img(label, width=width, height=height)
    assert Image.open(io.BytesIO(base64.b64decode(result["images"][0]))).size == (width, height)


@pytest.mark.parametrize("label", LABELS)
def test_hires_fix_with_the_sampler_as_the_hires_sampler(label):
    _, info = txt2img("Euler", enable_hr=True, hr_scale=2, hr_upscaler="Latent", hr_second_pass_steps=6,
                      denoising_strength=0.6, hr_sampler_name=label, hr_additional_modules=["Use same choices"])
    assert f"Hires sampler: {label}" in info["infotexts"][0]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("mode", ["img2img", "inpaint"])
def test_img2img_and_inpaint(label, init_image, mode):
    result, _ = img2img(label, init_image, mask=mode == "inpaint")
    assert result["images"]


@pytest.mark.parametrize("label", LABELS)
def test_soft_inpainting(label, init_image, scripts):
    if not any(script["name"] == "soft inpainting" for script in scripts["img2img"]):
        pytest.skip("this WebUI has no Soft Inpainting script")
    soft = {"soft inpainting": {"args": [True, 1, 0.5, 4, 0, 0.5, 2]}}
    _, info = img2img(label, init_image, mask=True, mask_blur=4, alwayson_scripts=soft)
    assert "Soft inpainting enabled: True" in info["infotexts"][0]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("mode", ["txt2img", "inpaint"])
def test_an_inpainting_checkpoint(label, init_image, mode):
    if not INPAINT_CKPT:
        pytest.skip("set SMEA_WEBUI_INPAINT_CKPT to an inpainting (9-channel) checkpoint")
    override = {"override_settings": {"sd_model_checkpoint": INPAINT_CKPT}}
    if mode == "txt2img":
        _, info = txt2img(label, **override)
    else:
        _, info = img2img(label, init_image, mask=True, **override)
    assert INPAINT_CKPT.split(" ")[0].split(".")[0] in info["infotexts"][0]


def xyz_args(scripts, axes):
    """The X/Y/Z plot's script_args with its defaults, the axes set: {"X": (type label, values)}. Built from
    /sdapi/v1/script-info, as reForge's plot takes more arguments than A1111's."""
    script = next((script for script in scripts["txt2img"] if script["name"] == "x/y/z plot"), None)
    if script is None:  # 1.6.0 started with --nowebui lists no script at all
        pytest.skip("this WebUI's /sdapi/v1/script-info does not list the X/Y/Z plot")
    args = [arg.get("value") for arg in script["args"]]
    labels = [arg["label"] for arg in script["args"]]
    args[labels.index("Include Sub Images")] = True  # reForge's plot returns one infotext per cell only then
    types = {axis: labels.index(f"{axis} type") for axis in "XYZ"}
    for axis, i in types.items():  # an axis type is an index into its choices; script-info gives the label
        type_label = axes.get(axis, (args[i],))[0]
        args[i] = script["args"][i]["choices"].index(type_label)
    for axis, (_, values) in axes.items():
        i = types[axis]
        if isinstance(values, list):  # an axis with choices (Sampler) reads its dropdown
            args[i + 2] = values
        else:
            args[i + 1] = values
    return args


def test_the_xyz_plot_with_a_sampler_axis(scripts):
    args = xyz_args(scripts, {"X": ("Sampler", ["Euler a", *LABELS])})
    _, info = generate("/sdapi/v1/txt2img", {**BASE, "script_name": "x/y/z plot", "script_args": args})
    ran = {text.split("Sampler: ")[1].split(",")[0] for text in info["infotexts"] if "Sampler: " in text}
    assert {"Euler a", *LABELS} <= ran


@pytest.mark.parametrize("knob", KNOBS_BY_NAME.values(), ids=lambda knob: knob.name)
def test_the_xyz_plot_with_each_knob_axis(scripts, knob):
    label = next(info.label for info in SAMPLERS if knob.name in info.knobs)
    # ";" inside a cell: a comma separates cells, and before 1.10 the plot keeps a quoted cell's quotes
    values = f'{knob.format(knob.default).replace(",", ";")}, {OTHER_VALUE[knob.name]}'
    args = xyz_args(scripts, {"X": (axis_label(knob), values)})
    _, info = generate("/sdapi/v1/txt2img", {**BASE, "sampler_name": label, "script_name": "x/y/z plot",
                                             "script_args": args}, label)
    other = knob.format(knob.parse(OTHER_VALUE[knob.name]))
    written = f'"{other}"' if "," in other else other  # the infotext quotes a value with a comma
    assert any(f"{knob.label}: {written}" in text for text in info["infotexts"]), values
    assert any(f"{knob.label}:" not in text for text in info["infotexts"])  # the default cell writes nothing


def test_an_invalid_knob_value_is_refused_before_sampling_with_a_short_message():
    huge = ",".join(map(str, range(100_000)))  # 588,889 characters
    payload = with_base({"sampler_name": "Euler Dy", "override_settings": {"smea_sampler_dy_steps": huge}})
    request = urllib.request.Request(URL + "/sdapi/v1/txt2img", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    body = refused.value.read()
    assert b"Dy steps" in body and b"(588889 characters)" in body and len(body) < 1000, body[:2000]


def test_settings_refuse_a_bad_knob_value_and_keep_the_stored_one():
    """Read back through generations: GET /sdapi/v1/options leaves out settings added by extensions (its
    response model is built before they load)."""
    key = option_key(KNOBS_BY_NAME["dy_steps"])
    post("/sdapi/v1/options", {key: "3"})
    try:
        post("/sdapi/v1/options", {key: "abc"})  # refused: "abc" stored would fail the next job
        _, info = txt2img("Euler Dy")
        assert "Dy steps: 3" in info["infotexts"][0]
    finally:
        post("/sdapi/v1/options", {key: "2,3"})


@pytest.mark.parametrize("label", LABELS)
def test_png_info_gives_back_the_sampler_and_a_non_default_knob(label):
    knobs = next(info.knobs for info in SAMPLERS if info.label == label)
    knob = KNOBS_BY_NAME[knobs[0]] if knobs else None
    value = knob and knob.parse(OTHER_VALUE[knob.name])
    override = {option_key(knob): setting_value(knob, value)} if knob else {}
    result, _ = txt2img(label, override_settings=override)
    read = post("/sdapi/v1/png-info", {"image": "data:image/png;base64," + result["images"][0]})
    if "parameters" not in read:  # 1.6 gives only the infotext, not yet parsed
        assert f"Sampler: {label}," in read["info"]
        if knob:
            assert f"{knob.label}: {setting_value(knob, value)}" in read["info"]
        return
    parameters = read["parameters"]
    assert parameters["Sampler"] == label
    if knob:
        assert knob.parse(parameters[knob.label]) == value


@pytest.mark.parametrize("label", LABELS)
def test_the_sigma_noise_setting_changes_the_image_and_shows_in_the_infotext(label):
    plain, _ = txt2img(label)
    quiet, info = txt2img(label, override_settings={"s_noise": 0.8})
    assert pixels(plain["images"][0]) != pixels(quiet["images"][0])
    assert "Sigma noise: 0.8" in info["infotexts"][0]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("checkpoint", ["plain", "inpainting"])
def test_inpaint_only_masked_with_padding(label, init_image, checkpoint):
    """"Inpaint only masked": the path ADetailer drives for every face and hand it fixes."""
    if checkpoint == "inpainting" and not INPAINT_CKPT:
        pytest.skip("set SMEA_WEBUI_INPAINT_CKPT to an inpainting (9-channel) checkpoint")
    override = {"override_settings": {"sd_model_checkpoint": INPAINT_CKPT}} if checkpoint == "inpainting" else {}
    result, _ = img2img(label, init_image, mask=True, inpaint_full_res=True, inpaint_full_res_padding=8, **override)
    assert pixels(result["images"][0]) != pixels(init_image)


# --- ControlNet ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def control_unit():
    """One ControlNet unit with no preprocessor and a white square on black as its hint."""
    if not CONTROLNET:
        pytest.skip("set SMEA_WEBUI_CONTROLNET to a ControlNet model that fits the checkpoint")
    modules = post_get("/controlnet/module_list")["module_list"]
    module = next(name for name in ("none", "None") if name in modules)  # sd-webui-controlnet / Forge's
    hint = Image.new("RGB", (SIZE, SIZE), 0)
    hint.paste((255, 255, 255), (SIZE // 4, SIZE // 4, 3 * SIZE // 4, 3 * SIZE // 4))
    buffer = io.BytesIO()
    hint.save(buffer, format="PNG")
    image = base64.b64encode(buffer.getvalue()).decode()
    unit = {"enabled": True, "module": module, "model": CONTROLNET, "weight": 1.0, "image": image,
            "resize_mode": "Crop and Resize", "processor_res": SIZE, "guidance_start": 0.0, "guidance_end": 1.0,
            "control_mode": "Balanced", "pixel_perfect": False}
    return {"controlnet": {"args": [unit]}}


@pytest.mark.parametrize("label", LABELS)
def test_controlnet_changes_the_image_and_a_seed_reproduces_it(label, control_unit):
    plain, _ = txt2img(label)
    controlled, _ = txt2img(label, alwayson_scripts=control_unit)
    again, _ = txt2img(label, alwayson_scripts=control_unit)
    assert pixels(controlled["images"][0]) != pixels(plain["images"][0])  # the unit really ran
    assert pixels(controlled["images"][0]) == pixels(again["images"][0])


@pytest.mark.parametrize("label", LABELS)
def test_controlnet_image_k_of_a_batch_equals_seed_plus_k_alone(label, control_unit):
    batch, _ = txt2img(label, batch_size=2, alwayson_scripts=control_unit)
    alone, _ = txt2img(label, seed=SEED + 1, alwayson_scripts=control_unit)
    assert largest_difference(batch["images"][1], alone["images"][0]) <= BATCH_ROUNDING


@pytest.mark.parametrize("label", LABELS)
def test_controlnet_with_hires_fix_and_with_img2img(label, control_unit, init_image):
    result, _ = txt2img(label, enable_hr=True, hr_scale=1.5, hr_second_pass_steps=4, denoising_strength=0.6,
                        hr_upscaler="Latent", hr_sampler_name=label, hr_additional_modules=["Use same choices"],
                        alwayson_scripts=control_unit)
    assert Image.open(io.BytesIO(base64.b64decode(result["images"][0]))).size == (SIZE * 3 // 2, SIZE * 3 // 2)
    img2img(label, init_image, alwayson_scripts=control_unit)


# --- the family (docs/family.md) ---------------------------------------------------------------------------------

NO_UNCOND = "gave no unconditional prediction"  # the core's line where a host has no D_u (sampling.Unconditional)
# reForge's built-in labels, as its infotexts spell them (modules_forge/forge_alter_samplers.py)
REFORGE_SPELLINGS = [(other, info.label) for info in SAMPLERS for other in info.other_labels if info.label in LABELS]


def new_log_text(start):
    if not LOG:
        return ""
    with open(LOG, encoding="utf-8", errors="replace") as log:
        log.seek(start)
        return log.read()


@pytest.mark.parametrize("label", CFG_PP)
def test_cfg_pp_at_cfg_1_and_1_5_uses_the_unconditional_prediction(label):
    """At CFG 1 the WebUI would skip the uncond pass; a CFG++ step needs it (README). No step may go without."""
    start = log_size()
    one, _ = txt2img(label, cfg_scale=1.0)
    again, _ = txt2img(label, cfg_scale=1.0)
    one_and_a_half, _ = txt2img(label, cfg_scale=1.5)
    assert NO_UNCOND not in new_log_text(start)
    assert pixels(one["images"][0]) == pixels(again["images"][0])
    assert pixels(one["images"][0]) != pixels(one_and_a_half["images"][0])


@pytest.mark.parametrize(("spelled", "label"), REFORGE_SPELLINGS)
def test_an_infotext_written_by_reforges_own_sampler_selects_ours(spelled, label, samplers):
    """PNG Info on an image reForge made with its built-in, then its parameters sent to txt2img (as the API or
    the UI's "Send to txt2img" does): our sampler runs, under our label."""
    from PIL import PngImagePlugin

    text = f"a red cube on a table\nNegative prompt: blurry\nSteps: 6, Sampler: {spelled}, Schedule type: Karras, " \
           f"CFG scale: 1.5, Seed: {SEED}, Size: {SIZE}x{SIZE}"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    buffer = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE)).save(buffer, format="PNG", pnginfo=info)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    read = post("/sdapi/v1/png-info", {"image": "data:image/png;base64," + encoded})
    if "parameters" not in read:
        pytest.skip("this WebUI (1.6) gives PNG Info's text only, unparsed")
    sampler = read["parameters"]["Sampler"]
    assert sampler in (spelled, label)
    _, generated = generate("/sdapi/v1/txt2img", with_base({"sampler_name": sampler, "cfg_scale": 1.5}))
    assert generated["sampler_name"] == label
    assert samplers[label]["options"].get("uses_ensd")
