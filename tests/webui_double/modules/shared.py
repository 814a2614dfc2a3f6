"""Double of modules/shared.py (v1.10.1) with the settings of modules/shared_options.py and the job state of
modules/shared_state.py that samplers read: opts, cmd_opts, state, sd_model, device, total_tqdm, OptionInfo.
"""

import itertools
import time

import torch
from modules import options, sd_models, shared_cmd_options

cmd_opts = shared_cmd_options.cmd_opts
OptionInfo = options.OptionInfo
device = torch.device("cpu")

# shared_options.py: the "Sampler parameters" section and the seed settings, with their real defaults.
opts = options.Options({
    "hide_samplers": OptionInfo([], "Hide samplers in user interface"),
    "eta_ancestral": OptionInfo(1.0, "Eta for k-diffusion samplers", infotext="Eta"),
    "s_churn": OptionInfo(0.0, "sigma churn", infotext="Sigma churn"),
    "s_tmin": OptionInfo(0.0, "sigma tmin", infotext="Sigma tmin"),
    "s_tmax": OptionInfo(0.0, "sigma tmax", infotext="Sigma tmax"),  # 0 = inf
    "s_noise": OptionInfo(1.0, "sigma noise", infotext="Sigma noise"),
    "s_min_uncond": OptionInfo(0.0, "Negative Guidance minimum sigma"),
    "s_min_uncond_all": OptionInfo(False, "Negative Guidance minimum sigma all steps"),
    "skip_early_cond": OptionInfo(0.0, "Ignore negative prompt during early sampling"),
    "eta_noise_seed_delta": OptionInfo(0, "Eta noise seed delta", infotext="ENSD"),
    "randn_source": OptionInfo("CPU", "Random number generator source.", infotext="RNG"),
    "img2img_fix_steps": OptionInfo(False, "With img2img, do exactly the amount of steps the slider specifies."),
})


class State:
    """shared_state.State: the flags the Interrupt and Skip buttons set, the progress counters, and begin(),
    which the UI's and the API's job wrappers call once per job (a batch count or an X/Y/Z plot is one job)."""

    interrupted = False
    skipped = False
    sampling_step = 0
    sampling_steps = 0
    job_timestamp = "0"
    time_start = None

    def begin(self, job="(unknown)"):
        self.interrupted = self.skipped = False
        self.job_timestamp = f"job {next(JOB_NUMBERS)}"  # the real one is the start time to the second
        self.time_start = time.time()

    def interrupt(self):
        self.interrupted = True


class TotalTQDM:
    def __init__(self):
        self.updates = 0

    def update(self):
        self.updates += 1


JOB_NUMBERS = itertools.count(1)
state = State()
total_tqdm = TotalTQDM()
sd_model = sd_models.ToyCheckpoint()
