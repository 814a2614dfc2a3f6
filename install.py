"""Run by the WebUI's launcher on every start: checks what the samplers need and says so. It installs nothing.

The samplers need only torch and tqdm, which every WebUI ships; installing a second torch would
break the WebUI's own, so a missing or too old one is reported, never fixed here. Must never import
`modules.*` or the `launch` module's installers.
"""

import importlib.util

MIN_TORCH = (2, 0)  # what pyproject.toml declares; every WebUI 1.6+ / Forge / reForge ships 2.x


def problems():
    found = [f"{name} is missing" for name in ("torch", "tqdm") if importlib.util.find_spec(name) is None]
    if not found:
        import torch

        version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2] if part.isdigit())
        if version < MIN_TORCH:
            found.append(f"torch {torch.__version__} is older than {'.'.join(map(str, MIN_TORCH))}")
    return found


if __name__ == "__main__":  # the launcher runs this file as a script, in a subprocess
    for problem in problems():
        print(f"[smea-samplers] {problem}: the samplers will not work; use the WebUI's own environment")
