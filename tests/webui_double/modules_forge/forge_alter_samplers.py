"""Double of reForge's modules_forge/forge_alter_samplers.py (3b56b268): its own Kohaku_LoNyu_Yog entry and its
copies of the family beyond the five, under reForge's labels ("Euler DY CFG++") and aliases.

reForge builds these entries with a constructor defined in this module (build_constructor) and lists them in
sd_samplers.all_samplers; the double keeps the label, alias and where the constructor comes from, with a
stand-in sampler function.
"""

from modules import sd_samplers_common, sd_samplers_kdiffusion


def build_constructor(sampler_name):
    def constructor(model):
        return sd_samplers_kdiffusion.KDiffusionSampler("sample_euler", model)

    return constructor


FAMILY = [("Euler DY CFG++", "euler_dy_cfg_pp"), ("Euler SMEA DY CFG++", "euler_smea_dy_cfg_pp"),
          ("Euler A DY CFG++", "euler_ancestral_dy_cfg_pp"), ("DPM++ 2M DY CFG++", "dpmpp_2m_dy_cfg_pp"),
          ("DPM++ 2M DY", "dpmpp_2m_dy"), ("DPM++ 3M DY", "dpmpp_3m_dy"), ("DPM++ 3M SDE DY", "dpmpp_3m_sde_dy")]

samplers_data_alter = [
    sd_samplers_common.SamplerData("Kohaku_LoNyu_Yog", build_constructor("Kohaku_LoNyu_Yog"), ["Kohaku_LoNyu_Yog"], {}),
    *(sd_samplers_common.SamplerData(label, build_constructor(name), [name], {}) for label, name in FAMILY),
]
