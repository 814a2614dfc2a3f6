"""Stands in for a loaded checkpoint (modules/sd_models.py loads real ones): tiny deterministic models with the
interfaces the WebUI 1.10 sampling path uses.

- ToyCheckpoint: an SD1-style eps model on the SD1 discrete schedule, `apply_model(x, t, cond)` as
  ldm's LatentDiffusion. With `inpainting=True` it is a 9-channel "hybrid" model that concatenates
  c_concat to x the way ldm's DiffusionWrapper does, so a latent of another size fails with torch's
  "Sizes of tensors must match" error. `control` adds a residual of the full latent size, the way a
  ControlNet does, which no resampling can fit. `control_hook` is sd-webui-controlnet's hook (see
  sd_webui_controlnet.py): its residual is made from a control image on every call. With `sdxl=True`
  it reads SDXL's conditioning dict ({'crossattn', 'vector', 'c_concat'}) as sgm's DiffusionEngine does.
- FlowCheckpoint: a flow-matching model as Forge v2 exposes one (Flux/SD3: σ in [0, 1], a predictor with
  prediction_type 'const'), reached through `create_denoiser`, which A1111 1.10's CFGDenoiserKDiffusion honours.
"""

from types import SimpleNamespace

import torch
from k_diffusion.external import ForgeScheduleLinker

# Forge and reForge: a loaded model carries forge_objects, whose unet (a UnetPatcher) has the model_options
# their CFG denoisers read; install() sets this for those flavours.
FORGE_OBJECTS = False


class DiffusionWrapper:
    def __init__(self, conditioning_key):
        self.conditioning_key = conditioning_key


class ToyCheckpoint:
    parameterization = "eps"
    cond_stage_key = "txt"

    def __init__(self, inpainting=False, seed=0, sdxl=False):
        self.is_sdxl = sdxl
        generator = torch.Generator().manual_seed(seed)
        self.model = DiffusionWrapper("hybrid" if inpainting else "crossattn")
        self.weight = torch.randn(4, 9 if inpainting else 4, generator=generator) * 0.2
        betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0).float()
        self.control = None
        self.control_hook = None
        self.calls = []  # the spatial size of every UNet call
        if FORGE_OBJECTS:
            self.forge_objects = SimpleNamespace(unet=SimpleNamespace(model_options={}))

    def apply_model(self, x, t, cond):
        self.calls.append(tuple(x.shape[-2:]))
        if self.model.conditioning_key == "hybrid":
            x = torch.cat([x, *cond["c_concat"]], dim=1)
        # a 1×1 convolution as a broadcast sum: torch's threaded matmul is slow on tiny CPU tensors
        eps = (self.weight[None, :, :, None, None] * x[:, None]).sum(2)
        if self.is_sdxl:
            text = cond["crossattn"].mean(dim=(1, 2)) + cond["vector"].mean(dim=1)
        else:
            text = cond["c_crossattn"][0].mean(dim=(1, 2))
        eps = eps + 0.1 * text[:, None, None, None]
        if self.control is not None:
            eps = eps + self.control.repeat(eps.shape[0] // self.control.shape[0], 1, 1, 1)
        if self.control_hook is not None:
            eps = eps + self.control_hook.control(x)
        return eps


class FlowPredictor(torch.nn.Module):
    """Shaped like Forge's PredictionDiscreteFlow (SD3) / PredictionFlux: 'const' prediction, σ in (0, 1]."""

    def __init__(self):
        super().__init__()
        self.prediction_type = "const"
        self.register_buffer("sigmas", torch.linspace(0.001, 1.0, 1000))


class FlowCheckpoint(ToyCheckpoint):
    def create_denoiser(self):
        linker = ForgeScheduleLinker(FlowPredictor())
        linker.inner_model = self
        return linker
