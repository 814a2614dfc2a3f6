"""Double of reForge's modules_forge/forge_alter_samplers.py (3b56b268): its own Kohaku_LoNyu_Yog entry.

reForge builds these entries with a constructor defined in this module (build_constructor) and lists them in
sd_samplers.all_samplers; the double keeps the label, alias and where the constructor comes from, with a
stand-in sampler function.
"""

from modules import sd_samplers_common, sd_samplers_kdiffusion


def build_constructor(sampler_name):
    def constructor(model):
        return sd_samplers_kdiffusion.KDiffusionSampler("sample_euler", model)

    return constructor


samplers_data_alter = [
    sd_samplers_common.SamplerData("Kohaku_LoNyu_Yog", build_constructor("Kohaku_LoNyu_Yog"), ["Kohaku_LoNyu_Yog"], {}),
]
