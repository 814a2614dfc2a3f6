"""The benchmark (`python -m smea_sampler bench`): what each sampler costs against Euler a on a real UNet.

For every registry sampler, against Euler a in the same process and on the same
seed, it measures:
- model calls and their area-weighted total (the cost ratio's limit if a call cost
  were proportional to the latent's area);
- the wall-time ratio to Euler a, from alternating runs (A B A B …), median over pairs;
- the sampler's own overhead: run time minus time inside model calls;
- peak memory relative to Euler a, each measured in a fresh process.

The model is diffusers' `UNet2DConditionModel` with random weights in SD1's layout
(4 down/up levels, cross-attention on the first three, 77×768 text context) behind a
k-diffusion-style ε→x0 wrapper with classifier-free guidance as a batch of two. By
default its widths are a tenth of SD1's (32–128 channels, one attention head per 64
channels or fewer, 10M parameters) so that the default run takes under ten minutes
on two CPU cores; `--width 64` is a fifth (38M), `--full` is SD1's own (320–1280
channels, 8 heads, 860M parameters). Narrower UNets spend a larger share of a call
in attention, whose cost grows with the square of the latent's area: see the
per-size call times the benchmark prints.

The call log, the seeded noise and the reference samplers come from runs.py, which the demo
shares; diffusers is imported only when a UNet is built (`pip install diffusers`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from .registry import SAMPLERS, SamplerInfo
from .runs import (
    EULER_A,
    Call,
    ModelCalls,
    area_weighted,
    parse_size,
    run_sampler,
    sd1_sigmas,
    select_samplers,
)


@dataclass
class Run:
    """One timed sampler run: wall seconds, seconds inside the model, and the calls."""

    seconds: float
    model_seconds: float
    calls: list[Call]

    @property
    def overhead(self) -> float:
        """The share of the run spent outside model calls (the sampler's own code)."""
        return (self.seconds - self.model_seconds) / self.seconds if self.seconds > 0 else 0.0


def timed_run(info: SamplerInfo, model, shape, sigmas, seed: int, clock=time.perf_counter, synchronize=None) -> Run:
    """Run info's sampler once, timing the whole run and each model call (a CFG++ sampler reads model.uncond)."""
    log = ModelCalls(model, clock, synchronize)
    sync = synchronize or (lambda: None)
    sync()
    start = clock()
    run_sampler(info, log, shape, sigmas, seed, uncond=getattr(model, "uncond", None))
    sync()
    return Run(clock() - start, log.seconds, log.calls)


def alternate(run_a: Callable[[], Run], run_b: Callable[[], Run], pairs: int, progress=None) -> list[tuple[Run, Run]]:
    """pairs × (A then B): alternating, so that drifts of the machine (clock, heat, caches) hit both alike."""
    result = []
    for _ in range(pairs):
        a = run_a()
        b = run_b()
        result.append((a, b))
        if progress is not None:
            progress.update(2)
    return result


def median_ratio(pairs: Sequence[tuple[Run, Run]]) -> float:
    """The median over pairs of B's wall time over A's: robust to a pair disturbed by something else."""
    return statistics.median(b.seconds / a.seconds for a, b in pairs)


@dataclass
class Row:
    """One sampler against Euler a at the same steps."""

    label: str
    steps: int
    calls: int
    area: float              # area-weighted calls, in full-size calls
    baseline_calls: int      # Euler a's
    sizes: list[tuple[int, int]]  # the latent size of each call, in order
    baseline_sizes: list[tuple[int, int]]
    ratios: list[float]      # B/A wall time, one per pair
    model_ratio: float       # B/A time inside the model (median over pairs)
    overhead: float          # B's own share outside the model (median over B runs)
    baseline_overhead: float
    seconds: float           # B's median wall time
    baseline_seconds: float
    call_time_ratio: float | None = None  # B/A from the median seconds of a call at each size
    memory_ratio: float | None = None
    memory_mib: float | None = None
    base: str | None = None             # the sampler it is built on, where it is measured too
    base_ratio: float | None = None     # wall time over the base's (medians of their pairs)

    @property
    def area_ratio(self) -> float:
        return self.area / self.baseline_calls

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def compare(label: str, steps: int, full: tuple[int, int], pairs: Sequence[tuple[Run, Run]]) -> Row:
    """Summarise alternating (Euler a, sampler) pairs as one table row."""
    a_runs, b_runs = [a for a, _ in pairs], [b for _, b in pairs]
    return Row(
        label=label, steps=steps, calls=len(b_runs[0].calls), area=area_weighted(b_runs[0].calls, full),
        baseline_calls=len(a_runs[0].calls), sizes=[call.size for call in b_runs[0].calls],
        baseline_sizes=[call.size for call in a_runs[0].calls],
        ratios=[b.seconds / a.seconds for a, b in pairs],
        model_ratio=statistics.median(b.model_seconds / a.model_seconds for a, b in pairs),
        overhead=statistics.median(b.overhead for b in b_runs),
        baseline_overhead=statistics.median(a.overhead for a in a_runs),
        seconds=statistics.median(b.seconds for b in b_runs),
        baseline_seconds=statistics.median(a.seconds for a in a_runs),
    )


def add_call_times(rows: Sequence[Row], seconds: dict[tuple[int, int], float]) -> None:
    """Each row's cost ratio predicted from the median seconds of one call at each latent size: the area
    limit with the model's real cost per size, free of the run-to-run drift of whole-run timings."""
    for row in rows:
        own, baseline = (sum(seconds[size] for size in sizes) for sizes in (row.sizes, row.baseline_sizes))
        row.call_time_ratio = own / baseline


def base_of(label: str) -> str:
    """The sampler a family member is built on (docs/family.md §2): a CFG++ one's plain version; Euler a for
    Euler a Dy. The DPM++ Dy samplers' bases (k-diffusion's DPM++) are the WebUI's, not measured here."""
    if label.endswith(" CFG++"):
        return label.removesuffix(" CFG++")
    return EULER_A.label if label == "Euler a Dy" else ""


def add_base_ratios(rows: Sequence[Row]) -> None:
    """Each family row's wall time against its base's, where the base was measured in the same run."""
    by_label = {row.label: row for row in rows}
    for row in rows:
        base = base_of(row.label)
        if base == EULER_A.label:
            row.base, row.base_ratio = base, row.ratio
        elif base in by_label:
            row.base, row.base_ratio = base, row.seconds / by_label[base].seconds


def format_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table."""
    head = ("| sampler | steps | model calls (Euler a) | area-weighted calls | area limit | call-time limit | "
            "wall ratio vs Euler a (min–max) | model-time ratio | own overhead (Euler a) | peak memory vs Euler a | "
            "wall ratio vs its base |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for row in rows:
        call_time = "–" if row.call_time_ratio is None else f"{row.call_time_ratio:.3f}×"
        memory = "–" if row.memory_ratio is None else f"{row.memory_ratio:.2f}× ({row.memory_mib:+.0f} MiB)"
        spread = f"{min(row.ratios):.3f}–{max(row.ratios):.3f}"
        base = "–" if row.base_ratio is None else f"{row.base_ratio:.3f}× ({row.base})"
        lines.append(
            f"| {row.label} | {row.steps} | {row.calls} ({row.baseline_calls}) | {row.area:.2f} | "
            f"{row.area_ratio:.3f}× | {call_time} | **{row.ratio:.3f}×** ({spread}) | {row.model_ratio:.3f}× | "
            f"{100 * row.overhead:.2f}% ({100 * row.baseline_overhead:.2f}%) | {memory} | {base} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the machine


def cpu_name() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine(device: torch.device, dtype: torch.dtype) -> dict:
    """What the numbers were measured on."""
    info = {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "device": str(device),
            "dtype": str(dtype).removeprefix("torch.")}
    with contextlib.suppress(ImportError):
        import diffusers

        info["diffusers"] = diffusers.__version__
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def format_machine(info: dict) -> str:
    gpu = f", GPU {info['gpu']}" if "gpu" in info else ""
    return (f"Machine: {info['cpu']} ({info['cpu_count']} CPUs, torch threads {info['torch_threads']}){gpu}; "
            f"torch {info['torch']}, diffusers {info.get('diffusers', '–')}, Python {info['python']}; "
            f"device {info['device']}, {info['dtype']}")


# ---------------------------------------------------------------- the UNet


SD1_WIDTH = 320
DEFAULT_WIDTH = 32


def unet_config(width: int = DEFAULT_WIDTH) -> dict:
    """SD1's UNet layout with the first level `width` channels wide (SD1: 320, with 8 attention heads a level);
    narrower ones get one head per 64 channels (at least one), near SD1's head sizes of 40–160."""
    config = dict(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, cross_attention_dim=768,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )
    channels = (width, 2 * width, 4 * width, 4 * width)
    if width % 32:
        raise ValueError(f"the UNet width must be a multiple of 32 (its group norms have 32 groups), got {width}")
    # diffusers' SD1 config calls the head count attention_head_dim.
    heads = 8 if width == SD1_WIDTH else tuple(max(1, c // 64) for c in channels)
    return {**config, "block_out_channels": channels, "attention_head_dim": heads}


def import_diffusers():
    try:
        import diffusers
    except ImportError:
        raise SystemExit("the benchmark needs diffusers, which is not installed: pip install diffusers") from None
    return diffusers


def sd1_alphas_cumprod() -> torch.Tensor:
    """SD1's training schedule: "scaled linear" betas from 0.00085 to 0.012 over 1000 steps."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, dim=0)


class GuidedUNet:
    """An ε-prediction UNet as a k-diffusion denoiser with classifier-free guidance, as the WebUI wraps SD1.

    One call runs the UNet once on a batch of two per latent (cond and uncond) and
    returns uncond + scale·(cond − uncond) of the x0 predictions; uncond() then gives that call's uncond
    prediction, as a host gives it to a CFG++ sampler.
    """

    def __init__(self, unet, cond: torch.Tensor, uncond: torch.Tensor, scale: float = 7.0):
        self.unet = unet
        self.context = torch.cat([cond, uncond])
        self.scale = scale
        alphas_cumprod = sd1_alphas_cumprod()
        self.log_sigmas = (((1 - alphas_cumprod) / alphas_cumprod) ** 0.5).log().float().to(cond.device)
        self.last_uncond = None

    def uncond(self, x, sigma):
        return self.last_uncond

    def sigma_to_t(self, sigma: torch.Tensor) -> torch.Tensor:
        """The (fractional) training timestep of σ: k-diffusion's interpolation in log σ."""
        log_sigma = sigma.float().log()
        dists = log_sigma - self.log_sigmas[:, None]
        low = dists.ge(0).cumsum(dim=0).argmax(dim=0).clamp(max=len(self.log_sigmas) - 2)
        w = ((self.log_sigmas[low] - log_sigma) / (self.log_sigmas[low] - self.log_sigmas[low + 1])).clamp(0, 1)
        return (1 - w) * low + w * (low + 1)

    def __call__(self, x, sigma, **extra_args):
        batch = x.shape[0]
        x_in, sigma_in = torch.cat([x, x]), torch.cat([sigma, sigma])
        c_in = (sigma_in**2 + 1) ** -0.5
        context = self.context.repeat_interleave(batch, dim=0)
        eps = self.unet((x_in * c_in[:, None, None, None]).to(self.context.dtype), self.sigma_to_t(sigma_in),
                        encoder_hidden_states=context).sample
        cond, self.last_uncond = (x_in - eps.to(x.dtype) * sigma_in[:, None, None, None]).chunk(2)
        return self.last_uncond + (cond - self.last_uncond) * self.scale


def build_model(width: int, device: torch.device, dtype: torch.dtype, seed: int, cfg_scale: float) -> GuidedUNet:
    """The guided UNet with seeded random weights and random text embeddings (no download)."""
    diffusers = import_diffusers()
    torch.manual_seed(seed)
    unet = diffusers.UNet2DConditionModel(**unet_config(width)).eval().to(device)
    if dtype != torch.float32:
        unet = unet.to(dtype=dtype)
    generator = torch.Generator().manual_seed(seed + 1)
    cond, uncond = torch.randn(2, 1, 77, 768, generator=generator).to(device=device, dtype=dtype)
    return GuidedUNet(unet, cond, uncond, cfg_scale)


# ---------------------------------------------------------------- the measurements


@dataclass
class Setup:
    """What every process of one benchmark builds alike."""

    size: tuple[int, int]
    device: torch.device
    dtype: torch.dtype
    width: int
    seed: int
    cfg_scale: float
    model: GuidedUNet = field(init=False)

    def build(self) -> Setup:
        self.model = build_model(self.width, self.device, self.dtype, self.seed, self.cfg_scale)
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return (1, 4, *self.size)

    def synchronize(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def timed(self, info: SamplerInfo, steps: int) -> Run:
        with torch.inference_mode():
            return timed_run(info, self.model, self.shape, sd1_sigmas(steps, self.device), self.seed,
                             synchronize=self.synchronize)

    def dry_calls(self, info: SamplerInfo, steps: int) -> list[Call]:
        """The calls info's sampler makes (sizes, σ), from a run on a free stand-in model."""
        log = ModelCalls(lambda x, sigma, **extra_args: torch.zeros_like(x))
        run_sampler(info, log, self.shape, sd1_sigmas(steps, self.device), self.seed,
                    uncond=lambda x, sigma: torch.zeros_like(x))
        return log.calls

    def warm_up(self, sizes) -> dict[tuple[int, int], float]:
        """One model call at each size (first calls allocate and pick kernels); returns a second call's seconds."""
        seconds = {}
        sigma = torch.full((1,), 1.0, device=self.device)
        with torch.inference_mode():
            for height, width in sorted(sizes, key=lambda size: size[0] * size[1]):
                x = torch.zeros(1, 4, height, width, device=self.device)
                self.model(x, sigma)
                log = ModelCalls(self.model, synchronize=self.synchronize)
                log(x, sigma)
                seconds[(height, width)] = log.seconds
        return seconds


def plans(infos: Sequence[SamplerInfo], steps: int, kohaku_steps: int) -> list[tuple[SamplerInfo, int]]:
    """Each sampler with its step count: Kohaku is used at about 10 steps (its README), the others at `steps`."""
    return [(info, kohaku_steps if info.label == "Kohaku_LoNyu_Yog" else steps) for info in infos]


def peak_memory_probe(setup: Setup, info: SamplerInfo, steps: int) -> dict:
    """In this (fresh) process: the peak memory a run of info's sampler adds over the model at rest, in bytes."""
    setup.warm_up({setup.size})  # one-time allocations (thread pools, kernels) are nobody's peak
    if setup.device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(setup.device)
        before = torch.cuda.memory_allocated(setup.device)
        setup.timed(info, steps)
        return {"bytes": torch.cuda.max_memory_allocated(setup.device) - before, "method": "cuda max_memory_allocated"}
    try:
        # Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM) to the current one.
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        before = proc_status_bytes("VmRSS")
        setup.timed(info, steps)
        return {"bytes": proc_status_bytes("VmHWM") - before, "method": "VmHWM after reset"}
    except OSError:
        import resource

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        setup.timed(info, steps)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"bytes": after - before, "method": "ru_maxrss delta"}


def proc_status_bytes(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {key} in /proc/self/status")


def probe_in_subprocess(args: argparse.Namespace, label: str) -> dict:
    """peak_memory_probe for label in a fresh Python process with the same setup: its JSON, or the error."""
    command = [sys.executable, "-m", "smea_sampler.bench", "--probe-memory", label,
               "--size", "x".join(map(str, args.size)), "--width", str(args.width), "--device", args.device,
               "--dtype", args.dtype, "--seed", str(args.seed), "--cfg-scale", str(args.cfg_scale),
               "--memory-steps", str(args.memory_steps)]
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
           # glibc: serve blocks of 64 KiB and more by mmap, so memory freed goes back to the system at once and
           # the resident set follows what is live (otherwise freed heap is reused unseen and peaks are noisy).
           "MALLOC_MMAP_THRESHOLD_": "65536"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def estimate_seconds(setup: Setup, work, pairs: int, call_seconds: dict) -> float:
    """How long the timing pairs will take, from the warm-up's seconds per call size."""
    baseline = call_seconds[setup.size]
    return pairs * sum(steps * baseline + sum(call_seconds[call.size] for call in setup.dry_calls(info, steps))
                       for info, steps in work)


def seconds_by_size(runs: Sequence[Run]) -> dict[tuple[int, int], float]:
    """The median seconds of a model call at each latent size, over every call of the runs."""
    by_size: dict[tuple[int, int], list[float]] = {}
    for run in runs:
        for call in run.calls:
            by_size.setdefault(call.size, []).append(call.seconds)
    return {size: statistics.median(seconds) for size, seconds in sorted(by_size.items())}


def add_memory(rows: Sequence[Row], memory: dict) -> None:
    """Each row's peak memory relative to Euler a's, where both probes worked."""
    base = memory.get(EULER_A.label, {}).get("bytes")
    for row in rows:
        own = memory.get(row.label, {}).get("bytes")
        if base and own is not None:
            row.memory_ratio, row.memory_mib = own / base, (own - base) / 2**20


def benchmark(args: argparse.Namespace) -> dict:
    """The whole measurement: timing pairs in this process, then one memory probe process per sampler."""
    infos = select_samplers(args.samplers, SAMPLERS)
    setup = Setup(args.size, torch.device(args.device), getattr(torch, args.dtype), args.width, args.seed,
                  args.cfg_scale).build()
    work = plans(infos, args.steps, args.kohaku_steps)
    warm = setup.warm_up({call.size for info, steps in work for call in setup.dry_calls(info, steps)})
    print(f"one model call at {'×'.join(map(str, args.size))}: {warm[args.size]:.2f} s; "
          f"{args.pairs} pairs × {len(work)} samplers take about "
          f"{estimate_seconds(setup, work, args.pairs, warm) / 60:.1f} min", file=sys.stderr)

    rows, runs = [], []
    with tqdm(total=2 * args.pairs * len(work), desc="timing (Euler a, sampler) pairs", unit="run") as progress:
        for info, steps in work:
            pairs = alternate(lambda steps=steps: setup.timed(EULER_A, steps),
                              lambda info=info, steps=steps: setup.timed(info, steps), args.pairs, progress)
            rows.append(compare(info.label, steps, args.size, pairs))
            runs += [run for pair in pairs for run in pair]

    memory = {}
    if args.memory_steps > 0:
        for label in tqdm([EULER_A.label] + [info.label for info, _ in work], desc="peak memory (a process each)"):
            memory[label] = probe_in_subprocess(args, label)
            if "error" in memory[label]:
                print(f"memory probe for {label} failed: {memory[label]['error']}", file=sys.stderr)
        add_memory(rows, memory)
    seconds = seconds_by_size(runs)
    add_call_times(rows, seconds)
    add_base_ratios(rows)
    return {"machine": machine(setup.device, setup.dtype), "config": config_of(args, setup),
            "call_seconds": {"x".join(map(str, size)): value for size, value in seconds.items()},
            "memory": memory, "rows": rows}


def config_of(args: argparse.Namespace, setup: Setup) -> dict:
    parameters = sum(p.numel() for p in setup.model.unet.parameters())
    unet = "SD1" if args.width == SD1_WIDTH else f"SD1 layout at {args.width}/{SD1_WIDTH} of its widths"
    return {"size": list(args.size), "steps": args.steps, "kohaku_steps": args.kohaku_steps, "pairs": args.pairs,
            "unet": f"{unet}, {parameters / 1e6:.0f}M parameters", "width": args.width, "cfg_scale": args.cfg_scale,
            "memory_steps": args.memory_steps, "seed": args.seed}


def report(result: dict) -> str:
    """The Markdown the benchmark prints: the table, then how to read it."""
    sizes, config = result["call_seconds"], result["config"]
    full = "x".join(map(str, config["size"]))
    per_size = ", ".join(f"{size.replace('x', '×')}: {seconds:.3f} s ({seconds / sizes[full]:.2f}× the time for "
                         f"{area_of(size) / area_of(full):.2f}× the area)" for size, seconds in sizes.items())
    methods = sorted({probe.get("method", "failed") for probe in result["memory"].values()})
    return "\n".join([
        format_table(result["rows"]), "",
        f"Model: random-weight UNet ({config['unet']}) with CFG as a batch of two; latent "
        f"{full.replace('x', '×')}; Karras schedule; {config['pairs']} alternating pairs per sampler; "
        f"peak memory: {', '.join(methods) or 'not measured'}, a process per sampler, {config['memory_steps']} steps.",
        f"Median seconds per model call by latent size: {per_size}.",
        "area limit: area-weighted calls over Euler a's calls, the ratio if a call cost its latent's area. "
        "call-time limit: the same with each call's median seconds at its size, the ratio the model alone implies; "
        "it differs from the area limit as far as a call's cost is not linear in its area. "
        "wall ratio: median over pairs of whole-run times. model-time ratio: time inside the model, sampler over "
        "Euler a; the wall ratio minus it is the samplers' own overhead. "
        "own overhead: the share of the run outside model calls. "
        "vs its base: wall time over that of the sampler it is built on (a CFG++ one's plain version, Euler a for "
        "Euler a Dy), medians of their own runs; a CFG++ sampler makes its base's model calls.",
        format_machine(result["machine"]),
    ])


def area_of(size: str) -> int:
    height, width = map(int, size.split("x"))
    return height * width


def to_json(result: dict) -> str:
    rows = [{**asdict(row), "ratio": row.ratio, "area_ratio": row.area_ratio} for row in result["rows"]]
    return json.dumps({**result, "rows": rows}, indent=2)


def parser(prog: str = "python -m smea_sampler bench") -> argparse.ArgumentParser:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=parse_size, default=(64, 64), help="latent size H or HxW (default 64: 512 px)")
    p.add_argument("--steps", type=int, default=20, help="steps for every sampler but Kohaku (default 20)")
    p.add_argument("--kohaku-steps", type=int, default=10, help="steps for Kohaku_LoNyu_Yog (default 10)")
    p.add_argument("--pairs", type=int, default=5, help="alternating (Euler a, sampler) pairs (default 5)")
    p.add_argument("--samplers", help="comma list of labels (default: every registry sampler)")
    p.add_argument("--width", type=int, default=DEFAULT_WIDTH,
                   help=f"channels of the UNet's first level, a multiple of 32 (default {DEFAULT_WIDTH}; SD1: 320)")
    p.add_argument("--full", dest="width", action="store_const", const=SD1_WIDTH,
                   help="SD1's own UNet (860M parameters): --width 320")
    p.add_argument("--device", default="cuda" if cuda else "cpu", help="torch device (default: cuda if available)")
    p.add_argument("--dtype", default="float16" if cuda else "float32", choices=["float32", "float16", "bfloat16"],
                   help="UNet dtype (default float16 on CUDA, float32 on CPU)")
    p.add_argument("--cfg-scale", type=float, default=7.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--memory-steps", type=int, default=4,
                   help="steps of the peak-memory runs (default 4: every kind of sub-step and flip happens by "
                        "step 2; 0 skips memory)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH (- for stdout)")
    p.add_argument("--probe-memory", metavar="LABEL", help=argparse.SUPPRESS)  # the child of a memory probe
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m smea_sampler bench") -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    if min(args.steps, args.kohaku_steps, args.pairs) < 1:
        p.error("--steps, --kohaku-steps and --pairs must be at least 1")
    if args.width < 32 or args.width % 32:
        p.error(f"--width must be a multiple of 32, got {args.width}")
    try:
        select_samplers(args.samplers, SAMPLERS)
        probed = args.probe_memory and select_samplers(args.probe_memory, (*SAMPLERS, EULER_A))[0]
    except ValueError as error:
        p.error(str(error))
    import_diffusers()
    if probed:
        setup = Setup(args.size, torch.device(args.device), getattr(torch, args.dtype), args.width, args.seed,
                      args.cfg_scale).build()
        print(json.dumps(peak_memory_probe(setup, probed, args.memory_steps)))
        return 0
    result = benchmark(args)
    print(report(result))
    if args.json == "-":
        print(to_json(result))
    elif args.json:
        with open(args.json, "w") as out:
            out.write(to_json(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
