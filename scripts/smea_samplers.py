"""The file the Stable Diffusion WebUI loads: its load_scripts() imports it with the extension's folder on sys.path.

All the work is smea_sampler.webui.setup()'s. Outside a WebUI (no `modules.scripts` loaded) it does nothing, and
whatever goes wrong here costs the WebUI one log line, never its start-up.
"""

import logging
import sys

if "modules.scripts" in sys.modules:
    try:
        from smea_sampler import webui
    except Exception as error:  # e.g. a broken clone: the WebUI must start as it would without us
        logging.getLogger("smea_sampler.webui").warning(
            "smea-samplers: not loaded, its smea_sampler package cannot be imported (%s: %s); the WebUI runs on "
            "without these samplers", type(error).__name__, error)
    else:
        webui.setup()
