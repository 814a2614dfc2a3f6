"""The demo: its picture's layout, its call table (SAMPLERS.md §7) and the embedded toy model."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from smea_sampler import SAMPLERS_BY_LABEL
from smea_sampler.__main__ import main as cli
from smea_sampler.demo import BACKGROUND, CANDIDATES, GAP, Layout, call_table, main, marks, run
from smea_sampler.runs import EULER_A
from smea_sampler.toy import ToyModel, to_rgb

SIZE = (8, 8)


def demo(tmp_path, *args):
    out = tmp_path / "demo.png"
    assert main(["--out", str(out), "--size", "8", *args]) == 0
    return Image.open(out)


def expected_calls(label: str, n: int) -> int:
    """SAMPLERS.md §7, "Call structure"; a CFG++ sampler makes its base's calls (docs/family.md §2)."""
    label = label.removesuffix(" CFG++")
    if label in ("Euler Dy", "Euler Negative Dy"):
        return n + len({2, 3} & set(range(n - 1)))
    if label == "Euler SMEA Dy":
        return n + (n >= 2) + (n >= 3)
    if label == "Kohaku_LoNyu_Yog":
        return n + 2 * (n // 2 + 1)
    return n


def test_the_png_has_a_row_per_sampler_and_a_column_per_step_count(tmp_path):
    one = demo(tmp_path, "--samplers", "Euler", "--steps", "3", "--strip-steps", "4")
    assert one.format == "PNG"
    layout = Layout(SIZE, [3], 4, 1)
    assert one.size == (layout.width, layout.height)

    two = demo(tmp_path, "--samplers", "Euler,Euler Dy", "--steps", "3,6", "--strip-steps", "4")
    assert two.width - one.width == layout.big + GAP  # one more grid column
    assert two.height - one.height == layout.row_height  # one more sampler row
    # Every grid cell holds an image, not the background.
    layout = Layout(SIZE, [3, 6], 4, 2)
    pixels = two.convert("RGB").load()
    for row in range(2):
        for column in range(2):
            x = layout.grid_x + column * (layout.big + GAP) + layout.big // 2
            y = layout.header + row * layout.row_height + layout.big // 2
            assert pixels[x, y] != BACKGROUND


def test_default_command_is_the_demo_and_prints_the_call_table(tmp_path, capsys):
    out = tmp_path / "sub" / "demo.png"
    assert cli(["--out", str(out), "--size", "8", "--steps", "10", "--samplers", "Euler Dy,Kohaku_LoNyu_Yog"]) == 0
    printed = capsys.readouterr().out
    assert "| Euler Dy | 12 (1.050×) |" in printed
    assert "| Kohaku_LoNyu_Yog | 22 (2.200×) |" in printed
    assert Image.open(out).format == "PNG"


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 10])
def test_call_table_counts_are_those_of_samplers_md(steps):
    model = ToyModel()
    results = [run(info, model, SIZE, steps, seed=0) for info in CANDIDATES]
    for label, runs in call_table(results, SIZE):
        [(n, count, area)] = runs
        assert (n, count) == (steps, expected_calls(label, steps)), label
        label = label.removesuffix(" CFG++")
        if label in ("Euler Dy", "Euler Negative Dy"):  # the extra calls are on the 4×4 sub-lattice
            assert area == pytest.approx((steps + 0.25 * (count - steps)) / steps)
        if label == "Euler SMEA Dy" and steps >= 3:  # one 10×10 call, one 4×4 call
            assert area == pytest.approx((steps + 100 / 64 + 16 / 64) / steps)


def test_strip_marks_come_from_the_calls_and_the_flip_steps():
    model = ToyModel()
    assert marks(run(SAMPLERS_BY_LABEL["Euler SMEA Dy"], model, SIZE, 6, 0), SIZE)[:3] == [["SMEA"], ["Dy"], []]
    assert marks(run(SAMPLERS_BY_LABEL["Euler Negative Dy"], model, SIZE, 6, 0), SIZE)[1:5] == [
        [], ["Dy", "−x"], ["Dy", "−x"], []]
    kohaku = marks(run(SAMPLERS_BY_LABEL["Kohaku_LoNyu_Yog"], model, SIZE, 4, 0), SIZE)
    assert kohaku == [["3×"], ["3×"], ["3×"], []]
    # No flip and no sub-step after the last step (they need σᵢ₊₁ > 0).
    assert marks(run(SAMPLERS_BY_LABEL["Euler Negative"], model, SIZE, 4, 0), SIZE) == [[], [], ["−x"], []]
    assert all(not step for step in marks(run(EULER_A, model, SIZE, 5, 0), SIZE))


@pytest.mark.parametrize("args", [["--samplers", "Euler Dyy"], ["demo", "--samplers", "Euler, nope"]])
def test_an_unknown_sampler_is_a_clear_error(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(args)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "unknown sampler" in error
    assert "choose from: Euler, Euler a, Euler Dy, Euler SMEA Dy" in error


def test_the_demo_runs_at_an_odd_size(tmp_path):
    image = demo(tmp_path, "--size", "9x11", "--steps", "4", "--strip-steps", "4", "--samplers", "Euler SMEA Dy")
    assert image.size == (Layout((9, 11), [4], 4, 1).width, Layout((9, 11), [4], 4, 1).height)


def test_runs_repeat_from_the_seed():
    model = ToyModel()
    info = SAMPLERS_BY_LABEL["Euler Dy"]
    assert torch.equal(run(info, model, SIZE, 5, 3).latent, run(info, model, SIZE, 5, 3).latent)
    assert not torch.equal(run(info, model, SIZE, 5, 3).latent, run(info, model, SIZE, 5, 4).latent)


# ---------------------------------------------------------------- the toy model


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (9, 11), (16, 16), (20, 20)])
def test_toy_model_returns_its_input_as_sigma_goes_to_zero(size):
    x = torch.randn(2, 4, *size, dtype=torch.float64)
    denoised = ToyModel()(x, torch.full((2,), 1e-6, dtype=torch.float64))
    assert denoised.shape == x.shape and denoised.dtype == x.dtype
    torch.testing.assert_close(denoised, x, atol=1e-6, rtol=0)


@pytest.mark.parametrize("size", [(7, 5), (16, 16)])
def test_toy_model_returns_the_mean_scene_at_huge_sigma(size):
    model = ToyModel()
    means = model.grid(*size)[0]
    denoised = model(torch.zeros(1, 4, *size, dtype=torch.float64), torch.tensor([1e6], dtype=torch.float64))
    torch.testing.assert_close(denoised[0], means.mean(dim=0), atol=1e-6, rtol=0)


def test_toy_model_recognises_a_scene_under_noise():
    model = ToyModel()
    means = model.grid(32, 32)[0]
    generator = torch.Generator().manual_seed(0)
    noisy = means[2:3] + 0.5 * torch.randn(1, 4, 32, 32, generator=generator, dtype=torch.float64)
    denoised = model(noisy, torch.tensor([0.5], dtype=torch.float64))
    errors = (denoised - means).pow(2).mean(dim=(1, 2, 3))
    assert errors.argmin() == 2
    assert errors[2] < 0.5 * (noisy - means[2]).pow(2).mean()  # closer to the scene than the noisy input


def test_toy_model_takes_float32_and_a_batch():
    x = torch.randn(3, 4, 6, 10)
    denoised = ToyModel()(x, torch.tensor([0.1, 1.0, 10.0]))
    assert denoised.dtype == torch.float32 and torch.isfinite(denoised).all()


def test_toy_model_rejects_other_channel_counts():
    with pytest.raises(ValueError, match="4"):
        ToyModel()(torch.zeros(1, 3, 8, 8), torch.ones(1))


def test_to_rgb_maps_four_channels_to_an_image():
    image = to_rgb(torch.zeros(4, 5, 7))
    assert image.shape == (5, 7, 3) and image.dtype == torch.uint8
