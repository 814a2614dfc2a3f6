"""Double of comfy/k_diffusion/sampling.py: the module ComfyUI looks sample_<name> up in, with two built-ins."""

import torch


def default_noise_sampler(x, seed=None):
    generator = torch.Generator(device=x.device).manual_seed(seed) if seed is not None else None
    return lambda sigma, sigma_next: torch.randn(x.size(), generator=generator, device=x.device, dtype=x.dtype)


@torch.no_grad()
def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        x = x + (x - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    return x


sample_euler_ancestral = sample_euler  # a stand-in: only its name matters here
