"""Double of modules/scripts.py (v1.10.1): Script, scripts_data and load_scripts().

load_scripts() clears scripts_data and every callback, then imports each script file with its
extension's folder first on sys.path, records its Script subclasses with their module in scripts_data,
and reports (not raises) a script that fails to import, as the WebUI does with errors.report.
"""

import inspect
import sys
import traceback
from collections import namedtuple

from modules import script_callbacks, script_loading

ScriptClassData = namedtuple("ScriptClassData", ["script_class", "path", "basedir", "module"])
scripts_data = []
load_errors = []  # what errors.report would have printed


class Script:
    def title(self):
        raise NotImplementedError()


def load_scripts(script_files):
    """script_files: (path, basedir) pairs, the built-in scripts first, as list_scripts orders them."""
    scripts_data.clear()
    script_callbacks.clear_callbacks()
    syspath = sys.path
    for path, basedir in script_files:
        try:
            sys.path = [str(basedir), *sys.path]
            module = script_loading.load_module(str(path))
            for script_class in module.__dict__.values():
                if inspect.isclass(script_class) and issubclass(script_class, Script):
                    scripts_data.append(ScriptClassData(script_class, str(path), str(basedir), module))
        except Exception:
            load_errors.append(traceback.format_exc())
        finally:
            sys.path = syspath
