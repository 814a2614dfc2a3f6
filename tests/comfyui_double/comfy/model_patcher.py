"""Double of comfy/model_patcher.py: what a sampler may use to copy model_options."""

from comfy import patcher_extension


def create_model_options_clone(orig_model_options):
    return patcher_extension.copy_nested_dicts(orig_model_options)
