"""The demo's embedded model: an exact denoiser that needs no weights and no network, at any latent size.

Its data are small "landscapes" in a 4-channel latent: one of a few scenes drawn in
code (a sky gradient, a horizon, soft discs) plus a stationary Gaussian texture
(colour clouds at large scales, grain at fine ones). That distribution is a
Gaussian mixture whose components share one circulant covariance, so its
denoiser is exact and closed-form with FFTs:

    w_k  ∝ exp(−½ Σ_f |X_f − M_k,f|² / (S_f + σ²))     posterior of scene k (M_k = FFT(μ_k))
    D(x, σ) = μ̄ + IFFT(S / (S + σ²) · FFT(x − μ̄)),   μ̄ = Σ_k w_k μ_k

The scenes are drawn from continuous image coordinates and the texture's power
spectrum S is a function of frequency in cycles per pixel, so the model is
defined at every size, odd ones included: the Dy sub-step's half-size and the
SMEA sub-step's 1.25× latents get the same scenes at their own resolution. At
σ → 0 it returns its input (S > 0 everywhere). Being exact, it shows what a
sampler does with a perfect model: which scene it settles on, and how much
noise or blur its steps leave behind.

Pure torch; `to_rgb` maps the 4 latent channels to a displayable image.
"""

from __future__ import annotations

import math

import torch

CHANNELS = 4
# Latent → RGB in [−1, 1]: channels 0–2 are colour, channel 3 is brightness shared by all three.
BRIGHTNESS = 0.5
DISPLAY = torch.tensor([[1.0, 0.0, 0.0, BRIGHTNESS], [0.0, 1.0, 0.0, BRIGHTNESS], [0.0, 0.0, 1.0, BRIGHTNESS]])

# Texture power spectrum per channel, over radial frequency ρ in cycles per pixel: colour clouds
# (a 1/ρ⁴ law, flat below ρ = 1/32) and, mostly in the brightness channel, grain near ρ = 0.2.
CLOUD_POWER = (0.02, 0.02, 0.02, 0.03)
CLOUD_CORNER = 1 / 32
GRAIN_POWER = (0.0005, 0.0005, 0.0005, 0.004)
GRAIN_FREQUENCY, GRAIN_WIDTH = 0.2, 0.08
# A floor keeps S > 0 at every frequency, so that D(x, σ) → x as σ → 0.
POWER_FLOOR = 1e-4


def radial_frequency(height: int, width: int) -> torch.Tensor:
    """|f| in cycles per pixel on the (height, width) FFT grid."""
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(width, dtype=torch.float64)[None, :]
    return (fy**2 + fx**2).sqrt()


def power_spectrum(height: int, width: int) -> torch.Tensor:
    """The texture's per-channel power spectrum S (C, height, width) for the orthonormal FFT."""
    rho = radial_frequency(height, width)
    # Each shape is divided by its integral over the frequency plane, so that the powers above are
    # (close to) the per-pixel variances whatever the size.
    clouds = (rho**2 + CLOUD_CORNER**2) ** -2 * CLOUD_CORNER**2 / math.pi
    grain = torch.exp(-0.5 * ((rho - GRAIN_FREQUENCY) / GRAIN_WIDTH) ** 2)
    grain = grain / (2 * math.pi * GRAIN_FREQUENCY * GRAIN_WIDTH * math.sqrt(2 * math.pi))
    cloud_power = torch.tensor(CLOUD_POWER, dtype=torch.float64)[:, None, None]
    grain_power = torch.tensor(GRAIN_POWER, dtype=torch.float64)[:, None, None]
    return cloud_power * clouds + grain_power * grain + POWER_FLOOR


def filtered(x: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """x with each spatial frequency scaled by gain: IFFT(gain · FFT(x)) over the last two dims."""
    return torch.fft.ifft2(gain * torch.fft.fft2(x, norm="ortho"), norm="ortho").real


def soft_step(t: torch.Tensor, edge: float) -> torch.Tensor:
    """0 below −edge, 1 above +edge, smooth in between: an anti-aliased edge at any resolution."""
    return torch.sigmoid(t / edge)




def draw_scene(generator: torch.Generator):
    """Random parameters of one scene; returns a function (height, width) -> latent (C, H, W)."""

    def uniform(low, high, *shape):
        return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)

    sky_top, sky_bottom, ground = uniform(-1, 1, 3), uniform(-0.6, 1, 3), uniform(-1, 0.4, 3)
    horizon, tilt = uniform(0.5, 0.75).item(), uniform(-0.25, 0.25).item()
    discs = [(uniform(0.15, 0.85, 2), uniform(0.07, 0.2).item(), uniform(-1, 1, 3)) for _ in range(2)]
    stripes = uniform(4, 10).item()

    def render(height: int, width: int) -> torch.Tensor:
        v = ((torch.arange(height, dtype=torch.float64) + 0.5) / height)[:, None].expand(height, width)
        u = ((torch.arange(width, dtype=torch.float64) + 0.5) / width)[None, :].expand(height, width)
        edge = 0.6 / min(height, width)
        rgb = sky_top[:, None, None] * (1 - v) + sky_bottom[:, None, None] * v
        shade = 0.4 - 0.8 * v
        for centre, radius, colour in discs:
            distance = ((u - centre[0]) ** 2 + (v - centre[1]) ** 2).sqrt()
            inside = soft_step(radius - distance, edge)
            rgb = rgb + inside * (colour[:, None, None] - rgb)
            shade = shade + inside * (0.6 * (1 - distance / radius).clamp(min=0) - shade)
        land = soft_step(v - horizon - tilt * (u - 0.5), edge)
        furrows = 0.4 * torch.cos(2 * math.pi * stripes * (v - horizon) / (1 - horizon + 1e-6) ** 0.5)
        rgb = rgb + land * (ground[:, None, None] - rgb)
        shade = shade + land * (furrows - 0.3 - shade)
        return torch.cat([rgb, shade[None]])

    return render


class ToyModel:
    """The exact denoiser described in the module docstring: `model(x, sigma[B])` → D(x, σ), any (B, 4, H, W).

    prior: the scenes' probabilities (all alike by default); a conditional law favours some."""

    def __init__(self, scenes: int = 6, seed: int = 0, prior=None):
        generator = torch.Generator().manual_seed(seed)
        self.scenes = [draw_scene(generator) for _ in range(scenes)]
        prior = torch.ones(scenes) if prior is None else torch.as_tensor(prior)
        self.log_prior = (prior / prior.sum()).log().to(torch.float64)
        self._cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def grid(self, height: int, width: int):
        """(μ (K, C, H, W), FFT(μ), S (C, H, W)) at one size, in float64, cached."""
        key = (height, width)
        if key not in self._cache:
            means = torch.stack([render(height, width) for render in self.scenes])
            self._cache[key] = (means, torch.fft.fft2(means, norm="ortho"), power_spectrum(height, width))
        return self._cache[key]

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **extra_args) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != CHANNELS:
            raise ValueError(f"ToyModel takes latents of shape (B, {CHANNELS}, H, W), got {tuple(x.shape)}")
        means, means_hat, spectrum = self.grid(*x.shape[-2:])
        variance = sigma.to(torch.float64).reshape(-1, 1, 1, 1) ** 2
        x_hat = torch.fft.fft2(x.to(torch.float64), norm="ortho")
        # Log-likelihood of each scene: a Gaussian with circulant covariance S + σ² is diagonal in Fourier space.
        residual = (x_hat[:, None] - means_hat[None]).abs() ** 2 / (spectrum + variance[:, None])
        weights = torch.softmax(self.log_prior - 0.5 * residual.sum(dim=(2, 3, 4)), dim=1)
        mean = torch.einsum("bk,kchw->bchw", weights, means)
        # Given the scene, the texture's posterior mean is a Wiener filter.
        gain = spectrum / (spectrum + variance)
        return (mean + filtered(x.to(torch.float64) - mean, gain)).to(x.dtype)

    def sample_data(self, height: int, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw from the model's data distribution (C, H, W): a scene plus texture."""
        means, _, spectrum = self.grid(height, width)
        k = int(torch.multinomial(self.log_prior.exp(), 1, generator=generator))
        white = torch.randn((CHANNELS, height, width), generator=generator, dtype=torch.float64)
        return (means[k] + filtered(white, spectrum.sqrt())).float()


class GuidedToyModel:
    """Classifier-free guidance over the toy: a conditional law (the "prompt" makes scene 0 three times as
    likely as all the others together) and the unconditional one (every scene alike). A call returns
    D_u + scale·(D_c − D_u); uncond() then gives that call's D_u, as a host gives it to a CFG++ sampler."""

    def __init__(self, scale: float = 1.0, scenes: int = 6, seed: int = 0):
        self.scale = scale
        self.conditional = ToyModel(scenes, seed, prior=[3.0 * (scenes - 1), *[1.0] * (scenes - 1)])
        self.unconditional = ToyModel(scenes, seed)
        self.last_uncond = None

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **extra_args) -> torch.Tensor:
        cond = self.conditional(x, sigma)
        self.last_uncond = self.unconditional(x, sigma)
        return self.last_uncond + self.scale * (cond - self.last_uncond)

    def uncond(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor | None:
        return self.last_uncond


def to_rgb(latent: torch.Tensor) -> torch.Tensor:
    """A latent (C, H, W) as an image (H, W, 3), uint8."""
    rgb = torch.einsum("rc,chw->hwr", DISPLAY.to(latent.dtype), latent[:CHANNELS])
    return ((rgb + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
