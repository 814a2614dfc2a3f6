"""Double of k_diffusion/external.py: CompVisDenoiser (k-diffusion ab527a9, used by A1111 1.6–1.10 and reForge)
and ForgeScheduleLinker (Forge's vendored k_diffusion/external.py, dfdcbab6)."""

import torch

from .sampling import append_zero


class CompVisDenoiser(torch.nn.Module):
    """An eps-predicting model on a discrete schedule seen as a denoiser D(x, σ) = x − σ·eps(x·c_in, t)."""

    def __init__(self, model, quantize=False):
        super().__init__()
        self.inner_model = model
        self.quantize = quantize
        sigmas = ((1 - model.alphas_cumprod) / model.alphas_cumprod) ** 0.5
        self.register_buffer("sigmas", sigmas)
        self.register_buffer("log_sigmas", sigmas.log())

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]

    def sigma_to_t(self, sigma):
        return (sigma.log()[:, None] - self.log_sigmas[None]).abs().argmin(dim=1).float()

    def t_to_sigma(self, t):
        low, high = t.floor().long(), t.ceil().long()
        w = t - low
        return ((1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]).exp()

    def get_sigmas(self, n=None):
        t = torch.linspace(len(self.sigmas) - 1, 0, n)
        return append_zero(self.t_to_sigma(t))

    def forward(self, x, sigma, **kwargs):
        c_in = 1 / (sigma**2 + 1) ** 0.5
        eps = self.inner_model.apply_model(x * c_in[:, None, None, None], self.sigma_to_t(sigma), **kwargs)
        return x - eps * sigma[:, None, None, None]


class ForgeScheduleLinker(torch.nn.Module):
    """Forge v2 wraps its backend's predictor (backend/modules/k_prediction.py) so that k-diffusion code sees sigmas."""

    def __init__(self, predictor):
        super().__init__()
        self.predictor = predictor

    @property
    def sigmas(self):
        return self.predictor.sigmas

    def get_sigmas(self, n=None):
        return append_zero(torch.linspace(float(self.sigmas[-1]), float(self.sigmas[0]), n))
