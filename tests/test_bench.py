"""The benchmark's pure parts (call areas, alternating pairs, the table) on fake models and clocks; the UNet
parts only where diffusers is installed (CI does not install it)."""

from __future__ import annotations

import argparse
import builtins
import math

import pytest
import torch

from smea_sampler import SAMPLERS, SAMPLERS_BY_LABEL
from smea_sampler.bench import (
    EULER_A,
    Call,
    ModelCalls,
    Row,
    Run,
    add_base_ratios,
    add_call_times,
    add_memory,
    alternate,
    area_weighted,
    compare,
    format_table,
    import_diffusers,
    median_ratio,
    parse_size,
    run_sampler,
    sd1_sigmas,
    select_samplers,
    timed_run,
)

FULL = (8, 8)


class FakeClock:
    """Time that only moves when the fake model says so: a model call costs its latent's area in full-size calls."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def model(self, x, sigma, **extra_args):
        self.now += x.shape[-2] * x.shape[-1] / (FULL[0] * FULL[1])
        return x / (1 + sigma.reshape(-1, 1, 1, 1) ** 2)


def fake_run(seconds, model_seconds=None, calls=()):
    return Run(seconds, seconds if model_seconds is None else model_seconds, list(calls))


def test_area_weighted_counts_each_call_by_its_area():
    calls = [Call((8, 8), 1.0), Call((4, 4), 1.0), Call((10, 10), 1.0), Call((8, 8), 0.5)]
    assert area_weighted(calls, FULL) == pytest.approx(1 + 0.25 + 100 / 64 + 1)
    assert area_weighted([], FULL) == 0


def test_model_calls_are_grouped_by_step():
    log = ModelCalls(lambda x, sigma: x * 0)
    run_sampler(SAMPLERS_BY_LABEL["Euler Dy"], log, (1, 4, *FULL), sd1_sigmas(6), seed=0)
    assert [[call.size for call in step] for step in log.by_step()] == [
        [FULL], [FULL], [FULL, (4, 4)], [FULL, (4, 4)], [FULL], [FULL]]


def test_alternate_runs_a_then_b_pair_by_pair():
    order = []

    def runner(name, seconds):
        return lambda: order.append(name) or fake_run(seconds)

    pairs = alternate(runner("A", 2.0), runner("B", 3.0), pairs=3)
    assert order == ["A", "B", "A", "B", "A", "B"]
    assert median_ratio(pairs) == 1.5


def test_the_median_of_pairs_ignores_one_disturbed_pair():
    pairs = [(fake_run(1.0), fake_run(1.1)), (fake_run(1.0), fake_run(9.0)), (fake_run(2.0), fake_run(2.4))]
    assert median_ratio(pairs) == pytest.approx(1.2)
    assert median_ratio([*pairs[:2], (fake_run(0.1), fake_run(1.0))]) == pytest.approx(9.0)


@pytest.mark.parametrize("info", SAMPLERS, ids=lambda info: info.label)
def test_a_model_costing_its_area_gives_the_area_limit_and_no_overhead(info):
    clock = FakeClock()
    steps = 10 if info.label == "Kohaku_LoNyu_Yog" else 20

    def timed(which):
        return lambda: timed_run(which, clock.model, (1, 4, *FULL), sd1_sigmas(steps), seed=0, clock=clock)

    row = compare(info.label, steps, FULL, alternate(timed(EULER_A), timed(info), pairs=3))
    assert row.ratio == pytest.approx(row.area_ratio)
    assert row.model_ratio == pytest.approx(row.area_ratio)
    assert row.overhead == 0 and row.baseline_overhead == 0
    assert row.baseline_calls == steps
    expected = {"Euler Dy": (22, 20.5), "Euler SMEA Dy": (22, 20 + 100 / 64 + 16 / 64), "Euler Negative": (20, 20),
                "Euler Negative Dy": (22, 20.5), "Kohaku_LoNyu_Yog": (22, 22)}
    # The family: a CFG++ sampler makes its base's calls (each a cond + uncond pass); the rest one a step.
    expected.update({f"{label} CFG++": expected[label] for label in ("Euler Dy", "Euler SMEA Dy", "Euler Negative")})
    expected["Euler Negative Dy CFG++"] = expected["Euler Negative Dy"]
    expected.update(dict.fromkeys(("Euler a Dy", "Euler a Dy CFG++", "DPM++ 2M Dy", "DPM++ 2M Dy CFG++", "DPM++ 3M Dy",
                                   "DPM++ 3M SDE Dy"), (20, 20)))
    assert (row.calls, row.area) == pytest.approx(expected[info.label])


def test_overhead_is_the_share_of_the_run_outside_the_model():
    assert fake_run(10.0, 9.9).overhead == pytest.approx(0.01)
    pairs = [(fake_run(2.0, 1.0), fake_run(4.0, 3.0)), (fake_run(2.0, 2.0), fake_run(4.0, 2.0))]
    row = compare("X", 2, FULL, [(a, Run(b.seconds, b.model_seconds, [Call(FULL, 1.0)])) for a, b in pairs])
    assert row.overhead == pytest.approx((0.25 + 0.5) / 2)
    assert row.baseline_overhead == pytest.approx(0.25)
    assert row.model_ratio == pytest.approx((3.0 + 1.0) / 2)


def row(**changes):
    values = dict(label="Euler Dy", steps=20, calls=22, area=20.5, baseline_calls=20,
                  sizes=[(8, 8)] * 20 + [(4, 4)] * 2, baseline_sizes=[(8, 8)] * 20, ratios=[1.02, 1.03, 1.01],
                  model_ratio=1.019, overhead=0.0012, baseline_overhead=0.0011, seconds=20.6, baseline_seconds=20.0)
    return Row(**{**values, **changes})


def test_the_table_is_markdown_with_the_limit_beside_the_measured_ratio():
    rows = [row(), row(label="Euler Negative", calls=20, area=20.0, sizes=[(8, 8)] * 20, memory_ratio=1.0,
                       memory_mib=0.0)]
    add_call_times(rows, {(8, 8): 1.0, (4, 4): 0.5})
    table = format_table(rows)
    lines = table.splitlines()
    assert len(lines) == 4
    assert len({line.count("|") for line in lines}) == 1
    assert set(lines[1]) == {"|", "-"}
    assert lines[2] == ("| Euler Dy | 20 | 22 (20) | 20.50 | 1.025× | 1.050× | **1.020×** (1.010–1.030) | 1.019× | "
                        "0.12% (0.11%) | – | – |")
    assert lines[3].endswith("| 1.00× (+0 MiB) | – |")


def test_memory_is_relative_to_euler_a_and_skipped_where_a_probe_failed():
    rows = [row(), row(label="Euler SMEA Dy"), row(label="Euler Negative")]
    add_memory(rows, {"Euler a": {"bytes": 2**20 * 20}, "Euler Dy": {"bytes": 2**20 * 25},
                      "Euler SMEA Dy": {"error": "killed"}, "Euler Negative": {"bytes": 2**20 * 20}})
    assert (rows[0].memory_ratio, rows[0].memory_mib) == (1.25, 5.0)
    assert rows[1].memory_ratio is None
    assert (rows[2].memory_ratio, rows[2].memory_mib) == (1.0, 0.0)


def test_the_call_time_limit_weighs_calls_by_their_measured_seconds():
    rows = [row()]
    add_call_times(rows, {(8, 8): 0.4, (4, 4): 0.2})
    assert rows[0].call_time_ratio == pytest.approx((20 * 0.4 + 2 * 0.2) / (20 * 0.4))


@pytest.mark.parametrize(("text", "size"), [("64", (64, 64)), ("64x96", (64, 96)), ("9×11", (9, 11))])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "a", "1x2x3", "-4"])
def test_bad_sizes_are_clear_errors(text):
    with pytest.raises(argparse.ArgumentTypeError, match="latent size"):
        parse_size(text)


def test_sampler_selection_is_by_label_in_the_given_order():
    assert [info.label for info in select_samplers("kohaku_lonyu_yog, Euler Dy", SAMPLERS)] == [
        "Kohaku_LoNyu_Yog", "Euler Dy"]
    assert select_samplers("", SAMPLERS) == list(SAMPLERS)
    with pytest.raises(ValueError, match=r"unknown sampler 'Euler b'; choose from: Euler Dy, "):
        select_samplers("Euler b", SAMPLERS)


def test_without_diffusers_the_benchmark_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_diffusers(name, *args, **kwargs):
        if name == "diffusers":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_diffusers)
    with pytest.raises(SystemExit, match="pip install diffusers") as exit_info:
        import_diffusers()
    assert "\n" not in str(exit_info.value)


# ---------------------------------------------------------------- with diffusers


def tiny_unet():
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    return diffusers.UNet2DConditionModel(
        sample_size=8, block_out_channels=(32, 32), layers_per_block=1, cross_attention_dim=768,
        attention_head_dim=1, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D")).eval()


def test_sigma_to_t_maps_the_training_sigmas_to_their_timesteps():
    from smea_sampler.bench import GuidedUNet, sd1_alphas_cumprod

    model = GuidedUNet(tiny_unet(), torch.zeros(1, 77, 768), torch.zeros(1, 77, 768))
    alphas = sd1_alphas_cumprod()
    sigmas = ((1 - alphas) / alphas).sqrt()[[0, 10, 500, 999]].float()
    torch.testing.assert_close(model.sigma_to_t(sigmas), torch.tensor([0.0, 10.0, 500.0, 999.0]), atol=1e-2, rtol=0)
    assert math.isclose(float(sigmas[-1]), 14.6146, abs_tol=1e-3)


@pytest.mark.parametrize("size", [(8, 8), (4, 4), (10, 10), (9, 11)])
def test_the_guided_unet_is_a_denoiser_at_every_sub_step_size(size):
    from smea_sampler.bench import GuidedUNet

    generator = torch.Generator().manual_seed(0)
    cond, uncond = torch.randn(2, 1, 77, 768, generator=generator)
    model = GuidedUNet(tiny_unet(), cond, uncond, scale=7.0)
    x = torch.randn(1, 4, *size)
    with torch.inference_mode():
        denoised = model(x, torch.tensor([2.0]))
    assert denoised.shape == x.shape and torch.isfinite(denoised).all()


def test_unet_configs_are_sd1_layouts():
    from smea_sampler.bench import unet_config

    full, small = unet_config(320), unet_config(64)
    assert full["block_out_channels"] == (320, 640, 1280, 1280) and full["attention_head_dim"] == 8
    assert small["block_out_channels"] == (64, 128, 256, 256) and small["attention_head_dim"] == (1, 2, 4, 4)
    with pytest.raises(ValueError, match="multiple of 32"):
        unet_config(40)
    assert {key: value for key, value in full.items() if key not in ("block_out_channels", "attention_head_dim")} == {
        key: value for key, value in small.items() if key not in ("block_out_channels", "attention_head_dim")}


def test_a_family_row_is_also_compared_with_its_base():
    rows = [row(), row(label="Euler Dy CFG++", seconds=22.66), row(label="Euler a Dy", ratios=[0.99, 1.0, 1.01]),
            row(label="DPM++ 3M Dy")]
    add_base_ratios(rows)
    assert [(r.base, r.base_ratio) for r in rows] == [(None, None), ("Euler Dy", pytest.approx(1.1)),
                                                      ("Euler a", 1.0), (None, None)]
    assert format_table(rows).splitlines()[3].endswith("| 1.100× (Euler Dy) |")
