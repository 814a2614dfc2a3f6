"""The extension's other files: javascript hints, preload.py's flag, install.py's checks."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
from pathlib import Path

from smea_sampler import SAMPLERS

REPO = Path(__file__).resolve().parents[2]


def load(path):
    spec = importlib.util.spec_from_file_location(path.name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hints_are_exactly_the_registry_labels_and_summaries():
    text = (REPO / "javascript" / "smea_hints.js").read_text(encoding="utf-8")
    entries = dict(re.findall(r'^\s*"([^"]+)":\s*"([^"]+)",?$', text, flags=re.MULTILINE))
    assert entries == {info.label: info.summary for info in SAMPLERS}
    assert "titles" in text and "Object.assign(titles" in text  # extends hints.js's global, never replaces it


def test_preload_adds_only_the_strict_flag_and_imports_nothing_of_the_webui():
    path = REPO / "preload.py"
    imports = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imports == []
    parser = argparse.ArgumentParser()
    load(path).preload(parser)
    glue_flag = ast.literal_eval(re.search(r'^STRICT_FLAG = ("\w+")', (REPO / "smea_sampler" / "webui.py")
                                           .read_text(), flags=re.MULTILINE).group(1))
    assert vars(parser.parse_args([])) == {glue_flag: False}
    assert vars(parser.parse_args(["--smea-strict"])) == {glue_flag: True}


def test_install_finds_nothing_missing_in_a_working_environment(capsys):
    module = load(REPO / "install.py")  # imported, not run: it must not print or install anything then
    assert module.problems() == []
    assert capsys.readouterr().out == ""


def test_install_run_as_a_script_prints_nothing_and_succeeds_where_torch_is_present():
    # ComfyUI-Manager runs a root install.py after cloning: it must be harmless there.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "install.py")], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
