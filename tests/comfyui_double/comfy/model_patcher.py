"""Double of comfy/model_patcher.py: what a sampler may use to copy model_options and add a post-CFG function."""

from comfy import patcher_extension


def create_model_options_clone(orig_model_options):
    return patcher_extension.copy_nested_dicts(orig_model_options)


def set_model_options_post_cfg_function(model_options, post_cfg_function, disable_cfg1_optimization=False):
    # ComfyUI's own line (a new list, so a clone's functions never leak into the original's)
    model_options["sampler_post_cfg_function"] = model_options.get("sampler_post_cfg_function", []) + [  # noqa: RUF005
        post_cfg_function]
    if disable_cfg1_optimization:
        model_options["disable_cfg1_optimization"] = True
    return model_options
