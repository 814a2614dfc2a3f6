"""Fixtures for the ComfyUI adapter tests: a fresh ComfyUI double per test, removed from sys.modules afterwards."""

import pytest

from tests import comfyui_double


@pytest.fixture
def comfy():
    double = comfyui_double.install()
    yield double
    comfyui_double.uninstall(double)


@pytest.fixture
def adapter(comfy):
    """smea_sampler.comfyui with its names registered in the double."""
    from smea_sampler import comfyui

    comfyui.setup()
    return comfyui
