"""Randomness only through noise_sampler: a seed reproduces its image, and a batch equals its images run alone."""

from __future__ import annotations

import pytest
import torch

from smea_sampler import SAMPLERS
from tests.helpers import GaussianDenoiser, karras, per_sample_noise, seeded_noise

MODEL = GaussianDenoiser([0.0, 0.3, -0.3, 1.0], [1.0, 0.5, 2.0, 0.1])
SAMPLER_IDS = {"ids": lambda info: info.label}


@pytest.mark.parametrize("info", SAMPLERS, **SAMPLER_IDS)
def test_the_same_seeded_noise_sampler_gives_bit_identical_results(info):
    x = torch.randn(2, 4, 9, 10) * 14.6
    torch.manual_seed(123)
    first = info.function(MODEL, x, karras(8), noise_sampler=seeded_noise(9)(x), disable=True)
    torch.manual_seed(456)  # the global generator must play no part
    second = info.function(MODEL, x, karras(8), noise_sampler=seeded_noise(9)(x), disable=True)
    assert torch.equal(first, second)


@pytest.mark.parametrize("info", SAMPLERS, **SAMPLER_IDS)
def test_image_k_of_a_batch_equals_its_seed_run_alone(info):
    seeds, shape, sigmas = [11, 12, 13], (4, 10, 12), karras(8)

    def run(batch_seeds):
        start = per_sample_noise(batch_seeds, shape)()
        draw = per_sample_noise(batch_seeds, shape)
        return info.function(MODEL, start * sigmas[0], sigmas, noise_sampler=lambda s, t: draw(), disable=True)

    batch = run(seeds)
    for k, seed in enumerate(seeds):
        assert torch.equal(batch[k : k + 1], run([seed]))


@pytest.mark.parametrize("info", SAMPLERS, **SAMPLER_IDS)
def test_the_default_noise_sampler_follows_the_global_seed(info):
    x = torch.ones(1, 4, 8, 8)
    torch.manual_seed(5)
    first = info.function(MODEL, x, karras(6), disable=True)
    torch.manual_seed(5)
    assert torch.equal(first, info.function(MODEL, x, karras(6), disable=True))
