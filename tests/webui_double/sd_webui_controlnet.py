"""Double of the extension Mikubill/sd-webui-controlnet (56cec5b2, v1.1.455+): what its UNet hook does with a
control image on every UNet call, and where the WebUI's other code can reach it.

Kept from scripts/hook.py and scripts/controlnet.py:
- ControlParams keeps the control image in image space (8× the latent grid): `hint_cond` is a property over
  `_hint_cond` whose setter clears `used_hint_cond`, `used_hint_cond_latent` and `used_hint_inpaint_hijack`;
  `hr_hint_cond` is the hires pass's image (or None).
- At every UNet call the hook picks the hint: `used_hint_cond = hint_cond` when it is None; with an hr hint,
  the one whose size is nearer 8× the latent (a tie goes to the hr hint), switching by identity.
- The ControlNet turns the hint into an embedding on the latent grid (its input_hint_block downsamples by 8)
  and adds it to the UNet's features (`h += guided_hint` in cldm.py): a latent of another size fails with
  torch's "The size of tensor a (..) must match the size of tensor b (..)".
- The ControlNet script keeps its hook as `latest_network`; the hook keeps `control_params`; the script is
  one of the job's `p.scripts.alwayson_scripts`.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F

OPT_F = 8


class ControlParams:
    def __init__(self, hint_cond, hr_hint_cond=None, weight=1.0):
        self._hint_cond = hint_cond
        self.hr_hint_cond = hr_hint_cond
        self.weight = weight
        self.used_hint_cond = None
        self.used_hint_cond_latent = None
        self.used_hint_inpaint_hijack = None

    @property
    def hint_cond(self):
        return self._hint_cond

    @hint_cond.setter
    def hint_cond(self, value):
        self._hint_cond = value
        self.used_hint_cond = None
        self.used_hint_cond_latent = None
        self.used_hint_inpaint_hijack = None


class UnetHook:
    def __init__(self, control_params):
        self.control_params = control_params
        self.hints_seen = []  # (latent size, hint size, whether the hr hint) of every call

    def control(self, x):
        """The summed control residual for the UNet input x, on x's grid as the hint makes it."""
        total = 0.0
        height = OPT_F * x.shape[-2]
        for param in self.control_params:
            if param.used_hint_cond is None:
                param.used_hint_cond = param.hint_cond
                param.used_hint_cond_latent = None
            if isinstance(param.hr_hint_cond, torch.Tensor):
                low, high = param.hint_cond.shape[-2], param.hr_hint_cond.shape[-2]
                chosen = param.hint_cond if abs(height - low) < abs(height - high) else param.hr_hint_cond
                if param.used_hint_cond is not chosen:
                    param.used_hint_cond = chosen
                    param.used_hint_cond_latent = None
            hint = param.used_hint_cond
            self.hints_seen.append((tuple(x.shape[-2:]), tuple(hint.shape[-2:]), hint is param.hr_hint_cond))
            guided_hint = F.avg_pool2d(hint.mean(dim=1, keepdim=True), OPT_F)  # (1, 1, h, w)
            total = total + param.weight * guided_hint
        return total


def hook(checkpoint, p, control_params):
    """What ControlNet's process() does for a job: hook the UNet and keep the hook on its script in p.scripts."""
    network = UnetHook(control_params)
    checkpoint.control_hook = network
    p.scripts = SimpleNamespace(alwayson_scripts=[SimpleNamespace(latest_network=network)])
    return network
