"""The Dy and SMEA sub-steps: one extra Euler step (or CFG++ step) on a resampled latent.

A sub-step is a spatial map over the last two dims of the latent (the 2×2
sub-lattice for Dy, a nearest-exact 1.25× resize for SMEA), a model call on the
mapped latent with its conditioning mapped the same way, and the way back.
When that model call fails because of the shapes, the sub-step is skipped and
the step is plain Euler (SAMPLERS.md §2, §4, §5).

Pure torch: this module never imports a host.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
import torch.nn.functional as F

logger = logging.getLogger("smea_sampler")

SpatialMap = Callable[[torch.Tensor], torch.Tensor]
# host_state(size, spatial_map): a context in which the host's own grid state follows one sub-step call.
HostState = Callable[[torch.Size, SpatialMap], AbstractContextManager]
# update(c, D): a sub-step's move of the mapped latent c, given the model's prediction D at c; called right after
# that model call, so a CFG++ update can read the call's unconditional prediction.
Update = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Fragments of the RuntimeError messages torch raises when tensors of different
# spatial sizes meet: broadcasting, cat, conv/linear channel checks, view.
SHAPE_ERROR_FRAGMENTS = (
    "must match the size",
    "sizes of tensors must match",
    "size mismatch",
    "expected size",
    "shapes cannot be multiplied",
    "shape '[",
    "channels",
    "input size",
    "output size",
)
# Out-of-memory errors are RuntimeErrors too, and some mention a size: never a fallback.
OUT_OF_MEMORY_FRAGMENTS = ("out of memory", "can't allocate memory")


def lattice_slices(height: int, width: int) -> tuple[slice, slice] | None:
    """Rows and columns of the bottom-right element of every 2×2 block, or None if there is no block."""
    m, n = height // 2, width // 2
    if m == 0 or n == 0:
        return None
    return slice(1, 2 * m, 2), slice(1, 2 * n, 2)


def on_grid(op: SpatialMap) -> SpatialMap:
    """Lift a 4-D (N, C, H, W) resize to a tensor of any rank ≥ 2 and any dtype."""

    def mapped(t: torch.Tensor) -> torch.Tensor:
        lead = t.shape[:-2]
        # Nearest resampling only copies values, so a float32 detour is exact. It is needed for
        # masks stored as bool or int, and for half precision on the CPU, which torch < 2.1
        # cannot resample with nearest-exact.
        work = t if t.dtype in (torch.float32, torch.float64) else t.float()
        out = op(work.reshape(1, -1, *t.shape[-2:]))
        return out.reshape(*lead, *out.shape[-2:]).to(t.dtype)

    return mapped


def smea_maps(height: int, width: int, scale: float) -> tuple[SpatialMap, SpatialMap]:
    """The SMEA map up (scale_factor=scale, nearest-exact) and its way back to (height, width)."""
    up = on_grid(lambda t: F.interpolate(t, scale_factor=scale, mode="nearest-exact"))
    down = on_grid(lambda t: F.interpolate(t, size=(height, width), mode="nearest-exact"))
    return up, down


def on_finer_grid(spatial_map: SpatialMap, factor: int) -> SpatialMap:
    """spatial_map lifted to a grid factor times finer than the latent's (an image-space ControlNet hint).

    Each latent cell's factor×factor block of pixels moves as one channel group (pixel_unshuffle), so a
    pixel lands where its latent cell lands: the Dy lattice picks the same blocks, SMEA repeats the same ones."""

    def mapped(t: torch.Tensor) -> torch.Tensor:
        lead = t.shape[:-2]
        work = t.reshape(1, -1, *t.shape[-2:])
        out = F.pixel_shuffle(spatial_map(F.pixel_unshuffle(work, factor)), factor)
        return out.reshape(*lead, *out.shape[-2:])

    return mapped


def map_latent_aligned(value, size: torch.Size, spatial_map: SpatialMap):
    """value with spatial_map applied to every tensor inside whose last two dims equal size.

    The host's objects come back untouched, the very same objects, unless a latent-aligned tensor
    inside them changes (SAMPLERS.md §4). Then only the containers on the way to it are copied, each
    keeping its type: a namedtuple stays that namedtuple, a dict subclass that subclass, a list a list.
    Dicts, lists and tuples are walked; any other object is left as it is.
    """
    if isinstance(value, torch.Tensor):
        return spatial_map(value) if value.ndim >= 2 and value.shape[-2:] == size else value
    if isinstance(value, dict):
        changed = {key: mapped for key, item in value.items()
                   if (mapped := map_latent_aligned(item, size, spatial_map)) is not item}
        if not changed:
            return value
        mapped = copy.copy(value)  # keeps a dict subclass and its attributes, as dict.copy() would not
        mapped.update(changed)
        return mapped
    if isinstance(value, (list, tuple)):
        items = [map_latent_aligned(item, size, spatial_map) for item in value]
        if all(mapped is item for mapped, item in zip(items, value, strict=True)):
            return value
        if isinstance(value, list):
            mapped = copy.copy(value)
            mapped[:] = items
            return mapped
        if hasattr(value, "_fields"):  # a namedtuple takes its fields as positional arguments
            return type(value)(*items)
        return type(value)(items)
    return value


@contextmanager
def mapped_attributes(owner, names: Iterable[str], size: torch.Size, spatial_map: SpatialMap):
    """Temporarily replace owner's latent-aligned tensor attributes by their mapped versions.

    The originals are put back whatever happens inside the block (the host
    blends with them on its next full-size call).
    """
    saved = {}
    try:
        for name in names:
            value = getattr(owner, name, None)
            mapped = map_latent_aligned(value, size, spatial_map)
            if mapped is not value:
                saved[name] = value
                setattr(owner, name, mapped)
        yield
    finally:
        for name, value in saved.items():
            setattr(owner, name, value)


def is_shape_error(error: BaseException) -> bool:
    """True for the RuntimeError of a spatial size mismatch, False for anything else (OOM included)."""
    if not isinstance(error, RuntimeError) or isinstance(error, torch.cuda.OutOfMemoryError):
        return False
    message = str(error).lower()
    if any(fragment in message for fragment in OUT_OF_MEMORY_FRAGMENTS):
        return False
    return any(fragment in message for fragment in SHAPE_ERROR_FRAGMENTS)


class SubSteps:
    """The sub-steps of one sampling run: conditioning mapping and the once-per-run fallback log.

    A host says what it lays out on the latent grid (SAMPLERS.md §4):
    - latent_attrs: attributes of model that the host reads during a model call (the WebUI's CFG denoiser:
      init_latent, mask, nmask). They are mapped with the latent for the sub-step's call and restored after.
    - map_extra_args(extra_args, size, spatial_map): the extra_args of a sub-step's call. The default maps
      every tensor in them whose last two dims equal the latent's size; a host whose conditioning lives
      elsewhere (ComfyUI's guider) passes its own.
    - host_state(size, spatial_map): a context manager for the host's other state on the latent grid, kept
      outside model and extra_args (a ControlNet's hint in the WebUI): it maps that state for the one call
      inside it and puts it back on leaving.
    With fallback=False a failing sub-step raises instead of being skipped.
    """

    def __init__(self, model, extra_args: dict, sampler: Callable, latent_attrs: Iterable[str] = (),
                 map_extra_args: Callable = map_latent_aligned, fallback: bool = True,
                 host_state: HostState | None = None):
        self.model = model
        self.extra_args = extra_args
        self.sampler = sampler
        self.latent_attrs = tuple(latent_attrs)
        self.map_extra_args = map_extra_args
        self.fallback = fallback
        self.host_state = host_state or (lambda size, spatial_map: nullcontext())
        self.warned = False

    def dy(self, x: torch.Tensor, sigma_hat: torch.Tensor, dt: torch.Tensor, update: Update | None = None):
        """Euler step of the 2×2 sub-lattice x[..., 1::2, 1::2]; every other element is left as it is.

        update(c, D) replaces the Euler step c + dt·(c − D)/σ̂ (a CFG++ sampler's own step)."""
        lattice = lattice_slices(*x.shape[-2:])
        if lattice is None:
            return x
        rows, cols = lattice
        stepped = self._step_on(x, x[..., rows, cols], lambda t: t[..., rows, cols], sigma_hat, dt, update, "Dy")
        if stepped is None:
            return x
        out = x.clone()
        out[..., rows, cols] = stepped
        return out

    def smea(self, x: torch.Tensor, sigma_hat: torch.Tensor, dt: torch.Tensor, scale: float,
             update: Update | None = None) -> torch.Tensor:
        """Euler step (or update, as for dy) of x resized by scale (nearest-exact), then resized back to x's size."""
        up, down = smea_maps(*x.shape[-2:], scale)
        stepped = self._step_on(x, up(x), up, sigma_hat, dt, update, "SMEA")
        return x if stepped is None else down(stepped)

    def _step_on(self, x, small, spatial_map, sigma_hat, dt, update, kind):
        """One step of the mapped latent small, or None when the model cannot take its shape."""
        size = x.shape[-2:]
        extra_args = self.map_extra_args(self.extra_args, size, spatial_map)
        try:
            with mapped_attributes(self.model, self.latent_attrs, size, spatial_map), \
                    self.host_state(size, spatial_map):
                denoised = self.model(small, sigma_hat * small.new_ones([small.shape[0]]), **extra_args)
        except RuntimeError as error:
            if not (self.fallback and is_shape_error(error)):
                raise
            self._log_skip(kind, tuple(small.shape[-2:]), error)
            return None
        if update is not None:
            return update(small, denoised)
        return small + dt * (small - denoised) / sigma_hat

    def _log_skip(self, kind, size, error):
        if not self.warned:
            self.warned = True
            logger.warning(
                "%s: %s sub-step at latent size %s skipped, that step runs as plain Euler "
                "(further skips in this run are not logged): %s",
                self.sampler.__name__, kind, "×".join(map(str, size)), error,
            )
