"""Double of modules/prompt_parser.py (v1.10.1): the conditioning objects a sampler finds in extra_args.

The shapes are the real ones, read in v1.10.1's source and printed from a running v1.10.1:
- `uncond` is a list (one per image) of lists of ScheduledPromptConditioning(end_at_step, cond) namedtuples;
- `cond` is a MulticondLearnedConditioning(shape, batch) object whose batch holds, per image, a list of
  ComposableScheduledPromptConditioning(schedules, weight) namedtuples (one per AND-prompt);
- `cond` inside a schedule is a (77, width) tensor, or for SDXL a dict {'crossattn': (77, width), 'vector': (v,)}.
The CFG denoiser reads them by attribute (`.end_at_step`, `.cond`, `.schedules`, `.weight`, `.batch`) and
picks, per model call, the first schedule entry whose end_at_step is ≥ its call count.

Kept of the prompt syntax: "AND" between prompts with an optional ":weight", and one prompt edit
[from:to:when] per prompt (when: a step number, or a fraction of the steps if below 1). The text encoder is a
stand-in: a fixed pseudo-random tensor per text.
"""

import re
import zlib
from collections import namedtuple

import torch

ScheduledPromptConditioning = namedtuple("ScheduledPromptConditioning", ["end_at_step", "cond"])
ComposableScheduledPromptConditioning = namedtuple("ComposableScheduledPromptConditioning", ["schedules", "weight"])

CROSSATTN_WIDTH, SDXL_WIDTH, SDXL_VECTOR = 8, 16, 12
EDIT = re.compile(r"\[([^\[\]:]*):([^\[\]:]*):\s*([0-9.]+)\s*\]")
WEIGHT = re.compile(r"^(.*?)(?:\s*:\s*([-+]?\d*\.?\d+))?\s*$", re.DOTALL)


class MulticondLearnedConditioning:
    def __init__(self, shape, batch):
        self.shape = shape
        self.batch = batch


class DictWithShape(dict):
    """SDXL's batched conditioning: a dict that also answers .shape (its crossattn's)."""

    @property
    def shape(self):
        return self["crossattn"].shape


def encode(model, text):
    """The text encoder's stand-in: a fixed tensor per text (a dict of two for SDXL)."""
    generator = torch.Generator().manual_seed(zlib.crc32(text.encode()))
    if getattr(model, "is_sdxl", False):
        return {"crossattn": torch.randn(77, SDXL_WIDTH, generator=generator),
                "vector": torch.randn(SDXL_VECTOR, generator=generator)}
    return torch.randn(77, CROSSATTN_WIDTH, generator=generator)


def schedule_of(prompt, steps):
    """[(end_at_step, text)] for a prompt with at most one [from:to:when] edit."""
    edit = EDIT.search(prompt)
    if edit is None:
        return [(steps, prompt)]
    before, after, when = edit.group(1), edit.group(2), float(edit.group(3))
    switch = int(when * steps) if when < 1 else int(when)
    head, tail = prompt[:edit.start()], prompt[edit.end():]
    return [(switch, head + before + tail), (steps, head + after + tail)]


def get_learned_conditioning(model, prompts, steps, hires_steps=None, use_old_scheduling=False):
    """Per prompt, its list of ScheduledPromptConditioning."""
    return [[ScheduledPromptConditioning(end, encode(model, text)) for end, text in schedule_of(prompt, steps)]
            for prompt in prompts]


def get_multicond_learned_conditioning(model, prompts, steps, hires_steps=None, use_old_scheduling=False):
    batch = []
    for prompt in prompts:
        parts = [WEIGHT.match(part.strip()).groups() for part in re.split(r"\bAND\b", prompt)]
        batch.append([ComposableScheduledPromptConditioning(get_learned_conditioning(model, [text], steps)[0],
                                                            float(weight) if weight else 1.0)
                      for text, weight in parts])
    return MulticondLearnedConditioning(shape=(len(prompts),), batch=batch)


def pick(schedules, current_step):
    """The cond of the first schedule entry whose end_at_step is ≥ current_step (else the first)."""
    for entry in schedules:
        if current_step <= entry.end_at_step:
            return entry.cond
    return schedules[0].cond


def stack(conds):
    if isinstance(conds[0], dict):
        return DictWithShape({key: torch.stack([cond[key] for cond in conds]) for key in conds[0]})
    return torch.stack(conds)


def reconstruct_cond_batch(c, current_step):
    return stack([pick(schedules, current_step) for schedules in c])


def reconstruct_multicond_batch(c, current_step):
    """(conds_list, stacked): conds_list[i] lists (index into stacked, weight) for each AND-prompt of image i."""
    conds, conds_list = [], []
    for composable_prompts in c.batch:
        conds_list.append([])
        for composable in composable_prompts:
            conds_list[-1].append((len(conds), composable.weight))
            conds.append(pick(composable.schedules, current_step))
    return conds_list, stack(conds)
