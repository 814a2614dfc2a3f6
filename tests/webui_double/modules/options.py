"""Double of modules/options.py (v1.10.1): OptionInfo and the Options store the settings live in.

Kept: reading a setting falls back to its OptionInfo default, setting an unknown key is a KeyError
(as opts.set does when an override names a setting nobody registered), add_option keeps a value
already loaded from config.json, cast_value converts infotext text to the option's type, set runs onchange
and puts the old value back when it raises.
"""


displayed_errors = []  # (task, error) of each errors.display(error, task)


class OptionInfo:
    def __init__(self, default=None, label="", component=None, component_args=None, onchange=None, section=None,
                 refresh=None, comment_before="", comment_after="", infotext=None, restrict_api=False,
                 category_id=None):
        self.default = default
        self.label = label
        self.component = component
        self.component_args = component_args
        self.onchange = onchange
        self.section = section
        self.category_id = category_id
        self.refresh = refresh
        self.do_not_save = False
        self.comment_before = comment_before
        self.comment_after = comment_after
        self.infotext = infotext
        self.restrict_api = restrict_api

    def info(self, info):
        self.comment_after += f"<span class='info'>({info})</span>"
        return self


class Options:
    builtin_fields = ("data", "data_labels")

    def __init__(self, data_labels):
        self.data_labels = dict(data_labels)
        self.data = {key: info.default for key, info in self.data_labels.items()}

    def __setattr__(self, key, value):
        if key in self.builtin_fields:
            return super().__setattr__(key, value)
        if key in self.data or key in self.data_labels:
            self.data[key] = value
            return None
        return super().__setattr__(key, value)

    def __getattr__(self, item):
        if item in Options.builtin_fields:
            return super().__getattribute__(item)
        if item in self.data:
            return self.data[item]
        if item in self.data_labels:
            return self.data_labels[item].default
        return super().__getattribute__(item)

    def set(self, key, value, is_api=False, run_callbacks=True):
        """Settings' Apply and POST /sdapi/v1/options: store, then onchange; an onchange that raises is shown
        in the console (errors.display) and the old value is put back."""
        oldval = self.data.get(key, None)
        if oldval == value:
            return False
        option = self.data_labels[key]
        if is_api and option.restrict_api:
            return False
        setattr(self, key, value)
        if run_callbacks and option.onchange is not None:
            try:
                option.onchange()
            except Exception as error:
                displayed_errors.append((f"changing setting {key} to {value}", error))
                setattr(self, key, oldval)
                return False
        return True

    def get_default(self, key):
        info = self.data_labels.get(key)
        return None if info is None else info.default

    def add_option(self, key, info):
        self.data_labels[key] = info
        if key not in self.data and not info.do_not_save:
            self.data[key] = info.default

    def cast_value(self, key, value):
        if value is None:
            return None
        default_value = self.data_labels[key].default
        if default_value is None:
            default_value = getattr(self, key, None)
        if default_value is None:
            return None
        expected_type = type(default_value)
        if expected_type is bool and value == "False":
            return False
        return expected_type(value)
