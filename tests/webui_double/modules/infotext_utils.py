"""Double of modules/infotext_utils.py (v1.10.1): how an infotext line is written, read back, and turned into
"Override settings" for every option registered with `infotext=`.

Kept: values with ',' or ':' are JSON-quoted; the parameter regex; a key whose value is empty is dropped
(the real parser hits `v[0]` on it, prints "Error parsing" and skips it); an override is made only for a
value that differs from the current setting, cast to the option's type.
"""

import json
import re

from modules import shared

re_param = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def quote(text):
    if "," not in str(text) and "\n" not in str(text) and ":" not in str(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text):
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


def parse_generation_parameters(line):
    res = {}
    for k, v in re_param.findall(line):
        try:
            if v[0] == '"' and v[-1] == '"':
                v = unquote(v)
            res[k] = v
        except Exception:
            print(f'Error parsing "{k}: {v}"')
    return res


def get_override_settings(params, *, skip_fields=None):
    res = []
    mapping = [(info.infotext, k) for k, info in shared.opts.data_labels.items() if info.infotext]
    for param_name, setting_name in mapping:
        if param_name in (skip_fields or {}):
            continue
        v = params.get(param_name, None)
        if v is None:
            continue
        v = shared.opts.cast_value(setting_name, v)
        if v == getattr(shared.opts, setting_name, None):
            continue
        res.append((param_name, setting_name, v))
    return res
