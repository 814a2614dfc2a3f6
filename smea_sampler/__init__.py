"""Euler Smea Dyn samplers (Euler Dy, Euler SMEA Dy, Euler Negative, Euler Negative Dy,
Kohaku_LoNyu_Yog) and the family beyond them (CFG++ variants, Euler a Dy, DPM++ Dy; docs/family.md) as
pure-torch functions with k-diffusion's signature.

The core (sampling, family_euler, family_dpmpp, substeps, registry) imports no host. The host adapters,
webui.py and comfyui.py,
import their host lazily and are loaded by scripts/smea_samplers.py (the WebUI) and the repository's
root __init__.py (ComfyUI); importing this package loads neither.
"""

from .family_dpmpp import sample_dpmpp_2m_dy, sample_dpmpp_2m_dy_cfg_pp, sample_dpmpp_3m_dy, sample_dpmpp_3m_sde_dy
from .family_euler import (
    sample_euler_ancestral_dy,
    sample_euler_ancestral_dy_cfg_pp,
    sample_euler_dy_cfg_pp,
    sample_euler_dy_negative_cfg_pp,
    sample_euler_negative_cfg_pp,
    sample_euler_smea_dy_cfg_pp,
)
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
    "sample_dpmpp_2m_dy",
    "sample_dpmpp_2m_dy_cfg_pp",
    "sample_dpmpp_3m_dy",
    "sample_dpmpp_3m_sde_dy",
    "sample_euler_ancestral_dy",
    "sample_euler_ancestral_dy_cfg_pp",
    "sample_euler_dy",
    "sample_euler_dy_cfg_pp",
    "sample_euler_dy_negative",
    "sample_euler_dy_negative_cfg_pp",
    "sample_euler_negative",
    "sample_euler_negative_cfg_pp",
    "sample_euler_smea_dy",
    "sample_euler_smea_dy_cfg_pp",
    "sample_kohaku_lonyu_yog",
]
