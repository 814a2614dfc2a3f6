"""Fixtures for the WebUI glue tests: a fresh WebUI double per test, removed from sys.modules afterwards."""

import pytest

from tests import webui_double


@pytest.fixture
def make_webui():
    """make(flavor="a1111", argv=(), load=True, original=False, settings=None): install a double with settings
    as its saved config; with load, run its load_scripts() over the X/Y/Z script, the original extension's
    (with original) and ours (webui.glue is then our adapter module)."""
    installed = []

    def make(flavor="a1111", argv=(), load=True, original=False, settings=None):
        webui = webui_double.install(flavor, argv)
        installed.append(webui)
        webui.shared.opts.data.update(settings or {})
        webui.glue = webui_double.load_scripts(webui, original) if load else None
        return webui

    yield make
    for webui in reversed(installed):
        webui_double.uninstall(webui)


@pytest.fixture
def webui(make_webui):
    return make_webui()
