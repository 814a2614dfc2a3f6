"""The one list of samplers and knobs: the host adapters, the demo, the benchmark and the tests read it.

Labels, aliases and ComfyUI names are the original extension's (SAMPLERS.md §3), so PNG-info and
X/Y/Z presets and saved ComfyUI workflows made with it keep working (Kohaku's ComfyUI name without the
original's erroneous `sample_` prefix, COMFYUI.md "Pitfalls" 1).

Pure Python: this module never imports a host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import family_dpmpp, family_euler, sampling

SHOWN_CHARACTERS = 40  # of a user's value quoted in an error message: an API client can send megabytes


def shown(value) -> str:
    """value as an error message quotes it: its repr, or a prefix and the length of a long value."""
    text = str(value)
    if len(text) <= SHOWN_CHARACTERS:
        return repr(value)
    return f"{text[:SHOWN_CHARACTERS]!r}… ({len(text)} characters)"


def format_steps(steps) -> str:
    """Step indices as the comma list users type, e.g. (2, 3) -> "2,3"; no step -> "none".

    Not "": the WebUI's infotext parser drops a key whose value is empty."""
    return ",".join(str(i) for i in sorted(steps)) or "none"


def parse_steps(text: str) -> tuple[int, ...]:
    """The comma list "2,3" (spaces, "", "none", quotes allowed) -> (2, 3); anything else is a ValueError.

    Quotes, because the X/Y/Z plot of WebUIs before 1.10 hands a quoted cell over with its quotes."""
    text = str(text).strip().strip("\"'").strip().strip("[]()")
    if text.lower() in ("", "none", "-"):
        return ()
    try:
        steps = tuple(sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()}))
    except ValueError:
        raise ValueError(f"expected step indices like '2,3', got {shown(text)}") from None
    sampling.step_set(steps, "steps")
    return steps


def parse_number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {shown(text)}") from None


def parse_dy_pow(text) -> float:
    return sampling.check_dy_pow(parse_number(text))


def parse_scale(text) -> float:
    return sampling.check_scale(parse_number(text))


@dataclass(frozen=True)
class Knob:
    """A parameter of ours beyond k-diffusion's: its keyword, its user-facing label (also the
    infotext key), its default (the original look), how it reads from and writes to text, and
    for a number its (low, high) bounds and the step a host's slider moves in."""

    name: str
    label: str
    default: Any
    help: str
    parse: Callable[[str], Any]
    format: Callable[[Any], str]
    bounds: tuple[float, float] | None = None
    step: float | None = None

    def is_default(self, value) -> bool:
        return self.parse(self.format(value)) == self.parse(self.format(self.default))


KNOBS = (
    Knob("dy_steps", "Dy steps", sampling.DY_STEPS,
         "SMEA samplers Euler Dy, Euler Negative Dy and their CFG++: the steps, counted from 0, that add a Dy "
         "sub-step; 'none' turns it off",
         parse_steps, format_steps),
    Knob("smea_steps", "SMEA steps", sampling.SMEA_STEPS,
         "Euler SMEA Dy and its CFG++: the steps, counted from 0, that add a SMEA sub-step; 'none' turns it off",
         parse_steps, format_steps),
    Knob("smea_dy_steps", "SMEA Dy steps", sampling.SMEA_DY_STEPS,
         "Euler SMEA Dy and its CFG++: the steps, counted from 0, that add a Dy sub-step; 'none' turns it off",
         parse_steps, format_steps),
    Knob("smea_scale", "SMEA scale", sampling.SMEA_SCALE,
         "Euler SMEA Dy and its CFG++: how much the SMEA sub-step enlarges the latent, {:g} to {:g}".format(
             *sampling.SMEA_SCALE_RANGE),
         parse_scale, lambda value: f"{float(value):g}", sampling.SMEA_SCALE_RANGE, 0.05),
    Knob("s_dy_pow", "Dynamic power", sampling.S_DY_POW,
         "SMEA family samplers with CFG++, Euler a Dy and DPM++ Dy: fades their churn towards the end of the run. "
         "Below 0, as the default −1: no fading; 0: churn on the first step only; 1: a linear fade to none at the "
         "last step; higher: the fade comes later. reForge calls it s_dy_pow",
         parse_dy_pow, lambda value: f"{float(value):g}", sampling.S_DY_POW_RANGE, 0.1),
)
KNOBS_BY_NAME = {knob.name: knob for knob in KNOBS}

CHURN_PARAMS = ("s_churn", "s_tmin", "s_tmax", "s_noise")


@dataclass(frozen=True)
class SamplerInfo:
    """One sampler: WebUI label and alias, ComfyUI name, the function, the k-diffusion parameters it takes
    (`params`), our knobs (`knobs`), whether it calls the model on a resampled latent
    (`resamples`: it then takes `latent_attrs`, `map_extra_args`, `fallback` and `host_state`), the steps after which it
    flips the latent's sign (`flip_steps`), its model calls per step on average (a host that
    counts calls to place prompt edits needs it) and a one-line summary for users."""

    label: str
    alias: str
    comfy_name: str  # ComfyUI looks the function up as k_diffusion.sampling.sample_<comfy_name>
    function: Callable
    params: tuple[str, ...]
    knobs: tuple[str, ...]
    resamples: bool
    flip_steps: frozenset[int]
    calls_per_step: int
    summary: str
    cfg_pp: bool = False
    other_labels: tuple[str, ...] = ()


SAMPLERS = (
    SamplerInfo("Euler Dy", "k_euler_dy", "euler_dy", sampling.sample_euler_dy,
                CHURN_PARAMS, ("dy_steps",), True, frozenset(), 1,
                "Euler a-like; on steps 2 and 3 by default, a 2×2 sub-lattice of the latent gets an extra "
                "denoise. Fewer limb and finger glitches, about the cost of Euler a"),
    SamplerInfo("Euler SMEA Dy", "k_euler_smea_dy", "euler_smea_dy", sampling.sample_euler_smea_dy,
                CHURN_PARAMS, ("smea_steps", "smea_dy_steps", "smea_scale"), True, frozenset(), 1,
                "Euler a-like; by default step 0 is refined on a 1.25× enlarged latent, step 1 on a sub-lattice. "
                "Steadier large images, about 1.1× the cost of Euler a at 20 steps"),
    SamplerInfo("Euler Negative", "k_euler_negative", "euler_negative", sampling.sample_euler_negative,
                CHURN_PARAMS, (), False, sampling.FLIP_STEPS, 1,
                "Euler a-like; the model sees a sign-flipped latent at step 3. A different composition at the "
                "same cost"),
    SamplerInfo("Euler Negative Dy", "k_euler_negative_dy", "euler_dy_negative", sampling.sample_euler_dy_negative,
                CHURN_PARAMS, ("dy_steps",), True, sampling.FLIP_STEPS, 1,
                "Euler Negative plus the Dy sub-step, on steps 2 and 3 by default"),
    SamplerInfo("Kohaku_LoNyu_Yog", "k_euler_Kohaku_LoNyu_Yog", "Kohaku_LoNyu_Yog", sampling.sample_kohaku_lonyu_yog,
                (*CHURN_PARAMS, "eta"), (), False, frozenset(), 2,
                "First half: ancestral steps that also consult the model on the negated latent (3 model calls a "
                "step); second half: plain Euler. Use about 10 steps"),
    # The family beyond the five (docs/family.md). CFG++ samplers want CFG 1–2.
    SamplerInfo("Euler Dy CFG++", "k_euler_dy_cfg_pp", "euler_dy_cfg_pp", family_euler.sample_euler_dy_cfg_pp,
                CHURN_PARAMS, ("dy_steps", "s_dy_pow"), True, frozenset(), 1,
                "Euler Dy with CFG++ guidance (use CFG 1–2); the sub-lattice step comes after the step",
                cfg_pp=True, other_labels=("Euler DY CFG++",)),
    SamplerInfo("Euler SMEA Dy CFG++", "k_euler_smea_dy_cfg_pp", "euler_smea_dy_cfg_pp",
                family_euler.sample_euler_smea_dy_cfg_pp, CHURN_PARAMS,
                ("smea_steps", "smea_dy_steps", "smea_scale", "s_dy_pow"), True, frozenset(), 1,
                "Euler SMEA Dy with CFG++ guidance (use CFG 1–2)",
                cfg_pp=True, other_labels=("Euler SMEA DY CFG++",)),
    SamplerInfo("Euler Negative CFG++", "k_euler_negative_cfg_pp", "euler_negative_cfg_pp",
                family_euler.sample_euler_negative_cfg_pp, CHURN_PARAMS, ("s_dy_pow",), False, sampling.FLIP_STEPS,
                1, "Euler Negative with CFG++ guidance (use CFG 1–2)", cfg_pp=True),
    SamplerInfo("Euler Negative Dy CFG++", "k_euler_negative_dy_cfg_pp", "euler_dy_negative_cfg_pp",
                family_euler.sample_euler_dy_negative_cfg_pp, CHURN_PARAMS, ("dy_steps", "s_dy_pow"), True,
                sampling.FLIP_STEPS, 1, "Euler Negative Dy with CFG++ guidance (use CFG 1–2)", cfg_pp=True),
    SamplerInfo("Euler a Dy", "k_euler_a_dy", "euler_ancestral_dy", family_euler.sample_euler_ancestral_dy,
                (*CHURN_PARAMS, "eta"), ("s_dy_pow",), False, frozenset(), 1,
                "Euler a after the family's churn: its look with a little more noise cycling, the cost of Euler a"),
    SamplerInfo("Euler a Dy CFG++", "k_euler_a_dy_cfg_pp", "euler_ancestral_dy_cfg_pp",
                family_euler.sample_euler_ancestral_dy_cfg_pp, (*CHURN_PARAMS, "eta"), ("s_dy_pow",), False,
                frozenset(), 1, "Euler a Dy with CFG++ guidance (use CFG 1–2)",
                cfg_pp=True, other_labels=("Euler A DY CFG++",)),
    SamplerInfo("DPM++ 2M Dy", "k_dpmpp_2m_dy", "dpmpp_2m_dy", family_dpmpp.sample_dpmpp_2m_dy,
                CHURN_PARAMS, ("s_dy_pow",), False, frozenset(), 1,
                "DPM++ 2M after the family's churn each step", other_labels=("DPM++ 2M DY",)),
    SamplerInfo("DPM++ 2M Dy CFG++", "k_dpmpp_2m_dy_cfg_pp", "dpmpp_2m_dy_cfg_pp",
                family_dpmpp.sample_dpmpp_2m_dy_cfg_pp, CHURN_PARAMS, ("s_dy_pow",), False, frozenset(), 1,
                "DPM++ 2M Dy with CFG++ guidance (use CFG 1–2)", cfg_pp=True, other_labels=("DPM++ 2M DY CFG++",)),
    SamplerInfo("DPM++ 3M Dy", "k_dpmpp_3m_dy", "dpmpp_3m_dy", family_dpmpp.sample_dpmpp_3m_dy,
                CHURN_PARAMS, ("s_dy_pow",), False, frozenset(), 1,
                "DPM++ 3M (no SDE noise) after the family's churn each step", other_labels=("DPM++ 3M DY",)),
    SamplerInfo("DPM++ 3M SDE Dy", "k_dpmpp_3m_sde_dy", "dpmpp_3m_sde_dy", family_dpmpp.sample_dpmpp_3m_sde_dy,
                (*CHURN_PARAMS, "eta"), ("s_dy_pow",), False, frozenset(), 1,
                "DPM++ 3M SDE after the family's churn each step; seeded SDE noise", other_labels=("DPM++ 3M SDE DY",)),
)
SAMPLERS_BY_LABEL = {info.label: info for info in SAMPLERS}

