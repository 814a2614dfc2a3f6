"""Double of modules/rng.py (v1.10.1): ImageRNG, the per-image seeded generator processing stores in p.rng.

As in the WebUI: one generator per image seeded with that image's seed, so image k of a batch depends on
seeds[k] only; the first draw can be mixed (slerp) with the variation seed's noise; after the first draw
the generators are reseeded with seed + ENSD when that setting is non-zero. CPU generators only.
"""

import torch
from modules import shared


def randn(seed, shape, generator=None):
    if generator is None:
        generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=generator)


def slerp(val, low, high):
    low_norm = low / torch.norm(low, dim=1, keepdim=True)
    high_norm = high / torch.norm(high, dim=1, keepdim=True)
    dot = (low_norm * high_norm).sum(1)
    if dot.mean() > 0.9995:
        return low * val + high * (1 - val)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    return (torch.sin((1.0 - val) * omega) / so).unsqueeze(1) * low + (torch.sin(val * omega) / so).unsqueeze(1) * high


class ImageRNG:
    def __init__(self, shape, seeds, subseeds=None, subseed_strength=0.0, seed_resize_from_h=0, seed_resize_from_w=0):
        self.shape = tuple(map(int, shape))
        self.seeds = seeds
        self.subseeds = subseeds
        self.subseed_strength = subseed_strength
        self.generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
        self.is_first = True

    def first(self):
        xs = []
        for i, (seed, generator) in enumerate(zip(self.seeds, self.generators, strict=True)):
            noise = randn(seed, self.shape, generator=generator)
            if self.subseeds is not None and self.subseed_strength != 0:
                subseed = 0 if i >= len(self.subseeds) else self.subseeds[i]
                noise = slerp(self.subseed_strength, noise, randn(subseed, self.shape))
            xs.append(noise)
        delta = shared.opts.eta_noise_seed_delta or 0
        if delta:
            self.generators = [torch.Generator().manual_seed(int(seed) + delta) for seed in self.seeds]
        return torch.stack(xs).to(shared.device)

    def next(self):
        if self.is_first:
            self.is_first = False
            return self.first()
        return torch.stack([torch.randn(self.shape, generator=g) for g in self.generators]).to(shared.device)
