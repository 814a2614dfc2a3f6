"""The demo (`python -m smea_sampler`): every sampler on the embedded toy model, drawn as one PNG.

Each registry sampler and the references (Euler, Euler a) run from one seed on
`toy.GuidedToyModel`, which needs no weights and no network: a conditional and an
unconditional law, so that the CFG++ samplers have an unconditional prediction to use. The picture has one row per
sampler: its final image at a few step counts (an X/Y grid), then a strip of its
x0 prediction at every step of one run, with the steps where a Dy or SMEA sub-step
or a sign flip happened marked. The marks come from what the run did (the spatial
size of each model call, step by step) and, for flips, from the registry's
`flip_steps`. The model calls per sampler are also printed as a table.

Needs Pillow (the `demo` extra); the samplers themselves never import it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .registry import SAMPLERS, SamplerInfo, shown
from .runs import (
    REFERENCES,
    SD1_SIGMA_MAX,
    SD1_SIGMA_MIN,
    Call,
    ModelCalls,
    area_weighted,
    parse_size,
    run_sampler,
    sd1_sigmas,
    select_samplers,
)
from .toy import CHANNELS, GuidedToyModel, to_rgb

CANDIDATES = (*REFERENCES, *SAMPLERS)

# The marks: what a step did beyond one full-size model call, and their colours.
DY, SMEA, FLIP = "Dy", "SMEA", "−x"
COLOURS = {DY: (37, 99, 235), SMEA: (234, 118, 22), FLIP: (220, 38, 38), "calls": (124, 58, 237)}
LEGEND = (
    (DY, "a Dy sub-step ran: one more model call on the half-size sub-lattice x[..., 1::2, 1::2]"),
    (SMEA, "a SMEA sub-step ran: one more model call on the latent enlarged 1.25×"),
    (FLIP, "the latent's sign was flipped after this step (the Negative samplers)"),
    ("3×", "the step called the model 3 times at full size (Kohaku: on x, on −x and on a midpoint)"),
)


@dataclass
class Result:
    """One sampler run: its final latent, its model calls step by step and its x0 prediction at each step."""

    info: SamplerInfo
    steps: int
    latent: torch.Tensor
    calls: list[list[Call]]
    previews: list[torch.Tensor]

    @property
    def count(self) -> int:
        return sum(len(calls) for calls in self.calls)

    def area(self, full: tuple[int, int]) -> float:
        """Area-weighted calls per step: 1 for one full-size call a step."""
        return area_weighted([call for calls in self.calls for call in calls], full) / self.steps


def run(info: SamplerInfo, model, size: tuple[int, int], steps: int, seed: int) -> Result:
    log = ModelCalls(model)
    previews = []
    latent = run_sampler(info, log, (1, CHANNELS, *size), sd1_sigmas(steps), seed,
                         callback=lambda state: previews.append(state["denoised"][0].clone()),
                         uncond=getattr(model, "uncond", None))
    return Result(info, steps, latent[0], log.by_step(), previews)


def marks(result: Result, full: tuple[int, int]) -> list[list[str]]:
    """What each step did beyond one full-size model call: Dy, SMEA, a sign flip, more full-size calls."""
    area = full[0] * full[1]
    out = []
    for i, calls in enumerate(result.calls):
        areas = [call.size[0] * call.size[1] for call in calls]
        step = [DY] * any(a < area for a in areas) + [SMEA] * any(a > area for a in areas)
        # A flip needs σᵢ₊₁ > 0, as every sub-step does: never after the last step (SAMPLERS.md §3).
        if i in result.info.flip_steps and i < result.steps - 1:
            step.append(FLIP)
        if areas.count(area) > 1:
            step.append(f"{areas.count(area)}×")
        out.append(step)
    return out


def call_table(results: Sequence[Result], full: tuple[int, int]) -> list[tuple[str, list[tuple[int, int, float]]]]:
    """Per sampler: (steps, model calls, area-weighted calls ÷ steps) for each run, in the order run."""
    rows: dict[str, list[tuple[int, int, float]]] = {}
    for result in results:
        rows.setdefault(result.info.label, []).append((result.steps, result.count, result.area(full)))
    return list(rows.items())


def format_call_table(rows, steps: Sequence[int]) -> str:
    head = "| sampler | " + " | ".join(f"{n} steps" for n in steps) + " |"
    lines = [head, "|---|" + "---:|" * len(steps)]
    for label, runs in rows:
        cells = {n: f"{count} ({area:.3f}×)" for n, count, area in runs}
        lines.append(f"| {label} | " + " | ".join(cells.get(n, "") for n in steps) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- drawing

MARGIN, GAP = 20, 10
LABEL_WIDTH = 230
BACKGROUND, INK, MUTED, RULE = (250, 250, 248), (24, 24, 27), (96, 96, 104), (218, 218, 222)


# Pillow's built-in font has no glyph for these: spell them in ASCII.
PLAIN = str.maketrans({"×": "x", "−": "-", "–": "-", "—": "-", "σ": "sigma", "→": "->", "≈": "~"})


def write(draw, xy, text: str, font, fill, anchor=None):
    draw.text(xy, text.translate(PLAIN), font=font, fill=fill, anchor=anchor)


def fonts():
    from PIL import ImageFont

    return {size: ImageFont.load_default(size=size) for size in (12, 14, 16, 22)}


def image_of(latent: torch.Tensor, pixels: int):
    """A latent as a square-ish PIL image whose longer side is pixels, scaled by nearest neighbour."""
    from PIL import Image

    image = Image.fromarray(to_rgb(latent.float()).numpy())
    scale = pixels / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.NEAREST)


def cell_pixels(size: tuple[int, int], target: int) -> int:
    """A cell's side: the smallest whole multiple of the latent's longer side that reaches target."""
    side = max(size)
    return side * max(1, -(-target // side))


def wrap(draw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial.translate(PLAIN), font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def tag(draw, x: int, y: int, text: str, font) -> int:
    """A coloured badge with white text at (x, y); returns its width."""
    colour = COLOURS.get(text, COLOURS["calls"])
    width = int(draw.textlength(text.translate(PLAIN), font=font)) + 8
    draw.rounded_rectangle((x, y, x + width, y + 16), radius=4, fill=colour)
    write(draw, (x + 4, y + 8), text, font, "white", anchor="lm")
    return width


@dataclass
class Layout:
    size: tuple[int, int]
    columns: Sequence[int]
    strip_steps: int
    rows: int

    def __post_init__(self):
        self.big = cell_pixels(self.size, 128)
        self.small = cell_pixels(self.size, 64)
        self.grid_x = MARGIN + LABEL_WIDTH
        self.strip_x = self.grid_x + len(self.columns) * (self.big + GAP) + 3 * GAP
        self.header = 104
        self.row_height = max(self.big + 30, self.small + 48, 120) + GAP
        self.width = self.strip_x + (self.strip_steps + 1) * (self.small + 4) + MARGIN
        self.legend_top = self.header + self.rows * self.row_height + GAP
        self.height = self.legend_top + 24 * (len(LEGEND) + 3) + MARGIN


def draw_demo(grid: dict[tuple[str, int], Result], strips: dict[str, Result], labels: Sequence[str],
              columns: Sequence[int], size: tuple[int, int], seed: int):
    """The demo's picture: per sampler, the final images across step counts and the per-step strip."""
    from PIL import Image, ImageDraw

    strip_steps = next(iter(strips.values())).steps
    layout = Layout(size, columns, strip_steps, len(labels))
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = fonts()
    write(draw, (MARGIN, MARGIN), "Euler Smea Dyn samplers on the embedded toy model", font[22], INK)
    write(draw, (MARGIN, MARGIN + 30),
          f"seed {seed} · latent {CHANNELS}×{size[0]}×{size[1]} · "
          f"Karras schedule, sigma {SD1_SIGMA_MAX:.1f} → {SD1_SIGMA_MIN:.3f} · "
          "the exact denoiser of toy landscapes (smea_sampler.toy), no weights", font[14], MUTED)
    top = layout.header - 30
    for c, steps in enumerate(columns):
        write(draw, (layout.grid_x + c * (layout.big + GAP) + layout.big // 2, top), f"{steps} steps",
              font[16], INK, anchor="mt")
    write(draw, (layout.strip_x, top), f"x0 prediction at each step of {strip_steps}, then the result",
          font[16], INK)

    for r, label in enumerate(labels):
        y = layout.header + r * layout.row_height
        draw.line((MARGIN, y - GAP // 2, layout.width - MARGIN, y - GAP // 2), fill=RULE)
        info = strips[label].info
        write(draw, (MARGIN, y + 4), label, font[16], INK)
        note = "reference" if info in REFERENCES else info.alias
        write(draw, (MARGIN, y + 24), note, font[12], MUTED)
        for k, line in enumerate(wrap(draw, info.summary, font[12], LABEL_WIDTH - 16)[:5]):
            write(draw, (MARGIN, y + 44 + 15 * k), line, font[12], MUTED)
        for c, steps in enumerate(columns):
            result = grid[(label, steps)]
            x = layout.grid_x + c * (layout.big + GAP)
            image.paste(image_of(result.latent, layout.big), (x, y))
            write(draw, (x + layout.big // 2, y + layout.big + 4),
                  f"{result.count} calls · {result.area(size):.2f}× area", font[12], MUTED, anchor="mt")
        draw_strip(image, draw, strips[label], layout, y, font)
    draw_legend(draw, layout, font)
    return image


def draw_strip(image, draw, result: Result, layout: Layout, y: int, font):
    """One sampler's x0 predictions, step by step, with the step's marks under each and the result last."""
    step_marks = marks(result, layout.size)
    cells = [*result.previews, result.latent]
    for i, latent in enumerate(cells):
        x = layout.strip_x + i * (layout.small + 4)
        write(draw, (x + layout.small // 2, y), "result" if i == result.steps else str(i),
              font[12], MUTED, anchor="mt")
        top = y + 16
        image.paste(image_of(latent, layout.small), (x, top))
        if i < result.steps and step_marks[i]:
            colour = COLOURS.get(step_marks[i][0], COLOURS["calls"])
            draw.rectangle((x - 2, top - 2, x + layout.small + 1, top + layout.small + 1), outline=colour, width=2)
            for k, text in enumerate(step_marks[i]):
                tag(draw, x + (k % 2) * (layout.small // 2), top + layout.small + 4 + 18 * (k // 2), text, font[12])


def draw_legend(draw, layout: Layout, font):
    y = layout.legend_top
    draw.line((MARGIN, y - GAP // 2, layout.width - MARGIN, y - GAP // 2), fill=RULE)
    write(draw, (MARGIN, y), "Marks under a strip cell (from the model calls each step made):", font[14], INK)
    for k, (text, meaning) in enumerate(LEGEND):
        width = tag(draw, MARGIN, y + 24 * (k + 1), text, font[12])
        write(draw, (MARGIN + max(width, 40) + 8, y + 24 * (k + 1) + 8), meaning, font[14], MUTED, anchor="lm")
    notes = ("Strips: the model's x0 prediction (the denoised latent) at each step, as the WebUI's live preview "
             "shows it, and the returned latent last.",
             "Under each grid cell: the run's model calls, and their total area in full-size calls per step.")
    for k, note in enumerate(notes):
        write(draw, (MARGIN, y + 24 * (len(LEGEND) + 1 + k) + 4), note, font[14], MUTED)


# ---------------------------------------------------------------- command line


def parse_step_list(text: str) -> list[int]:
    try:
        steps = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        steps = []
    if not steps or steps[0] < 1:
        raise argparse.ArgumentTypeError(f"expected step counts like 6,10,20, got {shown(text)}")
    return steps


def parser(prog: str = "python -m smea_sampler demo") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join("out", "smea_demo.png"), help="the PNG (default out/smea_demo.png)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=parse_step_list, default=[6, 10, 20], help="grid columns (default 6,10,20)")
    p.add_argument("--strip-steps", type=int, default=10, help="steps of the per-step strips (default 10)")
    p.add_argument("--cfg-scale", type=float, default=1.0,
                   help="guidance between the toy's conditional and unconditional laws (default 1: the conditional "
                   "law; the CFG++ samplers still use the unconditional prediction)")
    p.add_argument("--size", type=parse_size, default=(64, 64), help="latent size H or HxW (default 64)")
    p.add_argument("--samplers", help="comma list of labels (default: Euler, Euler a and every registry sampler); "
                   f"from: {', '.join(info.label for info in CANDIDATES)}")
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m smea_sampler demo") -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    try:
        infos = select_samplers(args.samplers, CANDIDATES)
    except ValueError as error:
        p.error(str(error))
    if args.strip_steps < 1:
        p.error("--strip-steps must be at least 1")
    try:
        from PIL import Image  # noqa: F401  (fail before the runs, not after)
    except ImportError:
        raise SystemExit("the demo draws with Pillow, which is not installed: pip install pillow") from None

    model = GuidedToyModel(args.cfg_scale)
    step_counts = sorted({*args.steps, args.strip_steps})
    results = {}
    for info, steps in tqdm([(info, n) for info in infos for n in step_counts], desc="sampling", unit="run"):
        results[(info.label, steps)] = run(info, model, args.size, steps, args.seed)
    labels = [info.label for info in infos]
    strips = {label: results[(label, args.strip_steps)] for label in labels}
    image = draw_demo(results, strips, labels, args.steps, args.size, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    image.save(args.out)

    rows = call_table([results[(label, n)] for label in labels for n in step_counts], args.size)
    print("Model calls per run: count (their area in full-size calls ÷ steps)")
    print(format_call_table(rows, step_counts))
    print(f"wrote {args.out} ({image.width}×{image.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
