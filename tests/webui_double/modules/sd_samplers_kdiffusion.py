"""Double of modules/sd_samplers_kdiffusion.py (v1.10.1): the built-in list, sampler_extra_params,
CFGDenoiserKDiffusion and KDiffusionSampler.

KDiffusionSampler is the real one in how it resolves and calls a sampler function: `self.func` is the
callable itself when given one; `extra_params = sampler_extra_params.get(funcname, [])` is looked up with
that very object; sample() and sample_img2img() pass `n`, `sigma_min`/`sigma_max`, `sigma_sched` and
`sigmas` only when the function's signature names them, and call
`func(model_wrap_cfg, x, extra_args={cond, image_cond, uncond, cond_scale, s_min_uncond}, disable=False,
callback=callback_state, **kwargs)` inside launch_sampling (disable=True here, where the WebUI shows its
progress bars). get_sigmas keeps the "Automatic" path: the sampler's `scheduler` option, else the model's
own discrete schedule.
"""

import inspect

import k_diffusion.external
import k_diffusion.sampling
import modules.shared as shared
import torch
from modules import sd_samplers_cfg_denoiser, sd_samplers_common

samplers_k_diffusion = [
    ("Euler a", "sample_euler_ancestral", ["k_euler_a", "k_euler_ancestral"], {"uses_ensd": True}),
    ("Euler", "sample_euler", ["k_euler"], {}),
]

samplers_data_k_diffusion = [
    sd_samplers_common.SamplerData(label, lambda model, funcname=funcname: KDiffusionSampler(funcname, model),
                                   aliases, options)
    for label, funcname, aliases, options in samplers_k_diffusion
    if callable(funcname) or hasattr(k_diffusion.sampling, funcname)
]

# reForge 3b56b268 appends its own copies of four of our samplers (`additional_samplers`, by function name);
# the double's "reforge" flavour adds these, with a stand-in function.
reforge_additional_samplers = [
    ("Euler Dy", "sample_euler", ["k_euler_dy"], {}),
    ("Euler SMEA Dy", "sample_euler", ["k_euler_smea_dy"], {}),
    ("Euler Negative", "sample_euler", ["k_euler_negative"], {}),
    ("Euler Negative Dy", "sample_euler", ["k_euler_dy_negative"], {}),
]


def reforge_samplers_data():
    return [sd_samplers_common.SamplerData(label, lambda model, funcname=funcname: KDiffusionSampler(funcname, model),
                                           aliases, options)
            for label, funcname, aliases, options in reforge_additional_samplers]


sampler_extra_params = {
    "sample_euler": ["s_churn", "s_tmin", "s_tmax", "s_noise"],
}


def get_sigmas_karras(n, sigma_min, sigma_max, rho=7.0):
    ramp = torch.linspace(0, 1, n)
    sigmas = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return k_diffusion.sampling.append_zero(sigmas)


class CFGDenoiserKDiffusion(sd_samplers_cfg_denoiser.CFGDenoiser):
    @property
    def inner_model(self):
        if self.model_wrap is None:
            denoiser_constructor = getattr(shared.sd_model, "create_denoiser", None)
            if denoiser_constructor is not None:
                self.model_wrap = denoiser_constructor()
            else:
                self.model_wrap = k_diffusion.external.CompVisDenoiser(shared.sd_model)
        return self.model_wrap


class KDiffusionSampler(sd_samplers_common.Sampler):
    def __init__(self, funcname, sd_model, options=None):
        super().__init__(funcname)
        self.extra_params = sampler_extra_params.get(funcname, [])
        self.options = options or {}
        self.func = funcname if callable(funcname) else getattr(k_diffusion.sampling, self.funcname)
        self.model_wrap_cfg = CFGDenoiserKDiffusion(self)
        self.model_wrap = self.model_wrap_cfg.inner_model

    def get_sigmas(self, p, steps):
        if p.sampler_noise_scheduler_override:
            return p.sampler_noise_scheduler_override(steps)
        if self.config.options.get("scheduler") == "karras":
            sigmas = self.model_wrap.sigmas
            return get_sigmas_karras(steps, float(sigmas[0]), float(sigmas[-1]))
        return self.model_wrap.get_sigmas(steps)

    def sample_img2img(self, p, x, noise, conditioning, unconditional_conditioning, steps=None,
                       image_conditioning=None):
        steps, t_enc = sd_samplers_common.setup_img2img_steps(p, steps)
        sigmas = self.get_sigmas(p, steps)
        sigma_sched = sigmas[steps - t_enc - 1:]
        xi = x + noise * sigma_sched[0]

        extra_params_kwargs = self.initialize(p)
        parameters = inspect.signature(self.func).parameters
        if "sigma_min" in parameters:
            extra_params_kwargs["sigma_min"] = sigma_sched[-2]
        if "sigma_max" in parameters:
            extra_params_kwargs["sigma_max"] = sigma_sched[0]
        if "n" in parameters:
            extra_params_kwargs["n"] = len(sigma_sched) - 1
        if "sigma_sched" in parameters:
            extra_params_kwargs["sigma_sched"] = sigma_sched
        if "sigmas" in parameters:
            extra_params_kwargs["sigmas"] = sigma_sched

        self.model_wrap_cfg.init_latent = x
        self.last_latent = x
        self.sampler_extra_args = {"cond": conditioning, "image_cond": image_conditioning,
                                   "uncond": unconditional_conditioning, "cond_scale": p.cfg_scale,
                                   "s_min_uncond": self.s_min_uncond}
        return self.launch_sampling(t_enc + 1, lambda: self.func(
            self.model_wrap_cfg, xi, extra_args=self.sampler_extra_args, disable=True,
            callback=self.callback_state, **extra_params_kwargs))

    def sample(self, p, x, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        steps = steps or p.steps
        sigmas = self.get_sigmas(p, steps)
        x = x * sigmas[0]

        extra_params_kwargs = self.initialize(p)
        parameters = inspect.signature(self.func).parameters
        if "n" in parameters:
            extra_params_kwargs["n"] = steps
        if "sigma_min" in parameters:
            extra_params_kwargs["sigma_min"] = self.model_wrap.sigmas[0].item()
            extra_params_kwargs["sigma_max"] = self.model_wrap.sigmas[-1].item()
        if "sigmas" in parameters:
            extra_params_kwargs["sigmas"] = sigmas

        self.last_latent = x
        self.sampler_extra_args = {"cond": conditioning, "image_cond": image_conditioning,
                                   "uncond": unconditional_conditioning, "cond_scale": p.cfg_scale,
                                   "s_min_uncond": self.s_min_uncond}
        return self.launch_sampling(steps, lambda: self.func(
            self.model_wrap_cfg, x, extra_args=self.sampler_extra_args, disable=True,
            callback=self.callback_state, **extra_params_kwargs))
