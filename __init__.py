"""The file ComfyUI loads: it imports custom_nodes/<this folder>/__init__.py as a package (COMFYUI.md §7).

All the work is smea_sampler.comfyui.setup()'s. Outside ComfyUI (no comfy.samplers loaded: pytest, the WebUI,
`import smea_sampler`) it does nothing, and whatever goes wrong here costs ComfyUI one log line, never its start-up.
"""

import logging
import sys

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}

if "comfy.samplers" in sys.modules:
    try:
        from .smea_sampler import comfyui

        NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = comfyui.setup()
    except Exception as error:  # ComfyUI must start as it would without us
        logging.getLogger("smea_sampler.comfyui").warning(
            "smea-samplers: not loaded (%s: %s); ComfyUI runs on without these samplers", type(error).__name__, error)
