"""Stands for the original extension (Koishi-Star/Euler-Smea-Dyn-Sampler's scripts/smea.py): at import it appends
its own entries for four of our labels to the sampler list, in place, and calls set_samplers()."""

from modules import sd_samplers, sd_samplers_common, sd_samplers_kdiffusion

ORIGINAL = [("Euler Dy", ["k_euler_dy"]), ("Euler SMEA Dy", ["k_euler_smea_dy"]),
            ("Euler Negative", ["k_euler_negative"]), ("Euler Negative Dy", ["k_euler_negative_dy"])]

for label, aliases in ORIGINAL:
    if label not in sd_samplers.all_samplers_map:
        data = sd_samplers_common.SamplerData(
            label, lambda model: sd_samplers_kdiffusion.KDiffusionSampler("sample_euler", model), aliases, {})
        sd_samplers.all_samplers.append(data)
        sd_samplers.all_samplers_map[label] = data
sd_samplers.set_samplers()
