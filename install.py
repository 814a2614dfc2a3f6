"""Run by the WebUI's launcher on every start, and by ComfyUI-Manager after it installs the custom node: checks
what the samplers need and says so. It installs nothing.

The samplers need only torch and tqdm, which every WebUI and ComfyUI ships; installing a second torch would
break the host's own, so a missing or too old one is reported, never fixed here. Must never import
`modules.*`, `comfy.*` or the `launch` module's installers.
"""

import importlib.util

MIN_TORCH = (2, 0)  # what pyproject.toml declares; every WebUI 1.6+ / Forge / reForge / ComfyUI ships 2.x


def problems():
    found = [f"{name} is missing" for name in ("torch", "tqdm") if importlib.util.find_spec(name) is None]
    if not found:
        import torch

        version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2] if part.isdigit())
        if version < MIN_TORCH:
            found.append(f"torch {torch.__version__} is older than {'.'.join(map(str, MIN_TORCH))}")
    return found


if __name__ == "__main__":  # the WebUI's launcher and ComfyUI-Manager run this file as a script, in a subprocess
    for problem in problems():
        print(f"[smea-samplers] {problem}: the samplers will not work; use the WebUI's or ComfyUI's own environment")
