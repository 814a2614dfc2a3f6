"""Euler Smea Dyn samplers (Euler Dy, Euler SMEA Dy, Euler Negative, Euler Negative Dy,
Kohaku_LoNyu_Yog) as pure-torch functions with k-diffusion's signature.

The core (sampling, substeps, registry) imports no host. The host adapters, webui.py and comfyui.py,
import their host lazily and are loaded by scripts/smea_samplers.py (the WebUI) and the repository's
root __init__.py (ComfyUI); importing this package loads neither.
"""

from .registry import CHURN_PARAMS, KNOBS, KNOBS_BY_NAME, SAMPLERS, SAMPLERS_BY_LABEL, Knob, SamplerInfo
from .sampling import (
    sample_euler_dy,
    sample_euler_dy_negative,
    sample_euler_negative,
    sample_euler_smea_dy,
    sample_kohaku_lonyu_yog,
)
from .substeps import SubSteps

__all__ = [
    "CHURN_PARAMS",
    "KNOBS",
    "KNOBS_BY_NAME",
    "SAMPLERS",
    "SAMPLERS_BY_LABEL",
    "Knob",
    "SamplerInfo",
    "SubSteps",
    "sample_euler_dy",
    "sample_euler_dy_negative",
    "sample_euler_negative",
    "sample_euler_smea_dy",
    "sample_kohaku_lonyu_yog",
]
