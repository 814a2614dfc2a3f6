"""Double of scripts/xyz_grid.py (v1.10.1), the built-in X/Y/Z plot script, loaded as module "xyz_grid.py".

Kept: AxisOption(label, type, apply, format_value, confirm, cost, choices, prepare); the module-level
axis_options list extensions append to; how one axis's text becomes values (CSV split, so a value holding
a comma must be quoted; conversion with opt.type; opt.confirm(p, values) before anything runs); and how a
cell runs: `pc = copy(p)` (a shallow copy: every cell shares p's dicts), opt.apply(pc, value, values),
process_images(pc). SKIP_INITIAL_SPACE = False splits as v1.6–v1.9 do: a quoted cell after ", " keeps its
quotes and is split at its commas.
"""

import csv
from copy import copy
from io import StringIO
from itertools import chain

import modules.scripts as scripts
from modules import sd_samplers
from modules.processing import process_images


def apply_field(field):
    def fun(p, x, xs):
        setattr(p, field, x)

    return fun


def confirm_samplers(p, xs):
    for x in xs:
        if x.lower() not in sd_samplers.samplers_map:
            raise RuntimeError(f"Unknown sampler: {x}")


def format_value_add_label(p, opt, x):
    return f"{opt.label}: {x}"


class AxisOption:
    def __init__(self, label, type, apply, format_value=format_value_add_label, confirm=None, cost=0.0, choices=None,
                 prepare=None):
        self.label = label
        self.type = type
        self.apply = apply
        self.format_value = format_value
        self.confirm = confirm
        self.cost = cost
        self.choices = choices
        self.prepare = prepare


axis_options = [
    AxisOption("Nothing", str, lambda p, x, xs: None),
    AxisOption("Seed", int, apply_field("seed")),
    AxisOption("Sampler", str, apply_field("sampler_name"), confirm=confirm_samplers,
               choices=lambda: [x.name for x in sd_samplers.samplers]),
    AxisOption("Sigma Churn", float, apply_field("s_churn")),
]


SKIP_INITIAL_SPACE = True


def csv_string_to_list_strip(data_str):
    reader = csv.reader(StringIO(data_str), skipinitialspace=SKIP_INITIAL_SPACE)
    return list(map(str.strip, chain.from_iterable(reader)))


def process_axis(p, opt, vals):
    valslist = opt.prepare(vals) if opt.prepare is not None else csv_string_to_list_strip(vals)
    valslist = [opt.type(x) for x in valslist]
    if opt.confirm:
        opt.confirm(p, valslist)
    return valslist


class Script(scripts.Script):
    def title(self):
        return "X/Y/Z plot"

    def run(self, p, axis_label, values_text):
        """One axis: the processed result of every cell, in order."""
        opt = next(opt for opt in axis_options if opt.label == axis_label)
        values = process_axis(p, opt, values_text)
        results = []
        for value in values:
            pc = copy(p)
            opt.apply(pc, value, values)
            results.append(process_images(pc))
        return results
