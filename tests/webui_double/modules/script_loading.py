"""Double of modules/script_loading.py (v1.10.1): scripts and preload.py files are loaded under their file
name (e.g. "xyz_grid.py"), not as importable modules; loaded_scripts remembers them by path."""

import importlib.util
import os

loaded_scripts = {}


def load_module(path):
    module_spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    loaded_scripts[path] = module
    return module
