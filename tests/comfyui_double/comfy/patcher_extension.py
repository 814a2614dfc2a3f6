"""Double of comfy/patcher_extension.py: wrappers live in model_options["transformer_options"]["wrappers"]
[type][key]; an executor calls them outermost first, each getting the next one as its first argument."""


class WrappersMP:
    OUTER_SAMPLE = "outer_sample"
    SAMPLER_SAMPLE = "sampler_sample"
    PREDICT_NOISE = "predict_noise"
    CALC_COND_BATCH = "calc_cond_batch"
    APPLY_MODEL = "apply_model"


def add_wrapper_with_key(wrapper_type, key, wrapper, transformer_options, is_model_options=False):
    if is_model_options:
        transformer_options = transformer_options.setdefault("transformer_options", {})
    wrappers = transformer_options.setdefault("wrappers", {})
    wrappers.setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)


def get_all_wrappers(wrapper_type, transformer_options, is_model_options=False):
    if is_model_options:
        transformer_options = transformer_options.get("transformer_options", {})
    return [w for ws in transformer_options.get("wrappers", {}).get(wrapper_type, {}).values() for w in ws]


def copy_nested_dicts(value):
    """Dicts are copied at every level; their other values are shared."""
    return {key: copy_nested_dicts(item) if isinstance(item, dict) else item for key, item in value.items()}


class WrapperExecutor:
    def __init__(self, original, wrappers, idx=0):
        self.original, self.wrappers, self.idx = original, list(wrappers), idx

    @classmethod
    def new_executor(cls, original, wrappers, idx=0):
        return cls(original, wrappers, idx)

    def __call__(self, *args, **kwargs):
        return WrapperExecutor(self.original, self.wrappers, self.idx + 1).execute(*args, **kwargs)

    def execute(self, *args, **kwargs):
        if self.idx == len(self.wrappers):
            return self.original(*args, **kwargs)
        return self.wrappers[self.idx](self, *args, **kwargs)
