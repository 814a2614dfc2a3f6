"""Double of modules/script_callbacks.py (v1.10.1): the callback kinds the glue may use. app_started callbacks
get (demo, app): demo is None in an API-only WebUI (--nowebui).

load_scripts() clears every callback before it imports the scripts again ("Reload UI"), so a script
registers its callbacks at import time, each load.
"""

callback_map = {"callbacks_before_ui": [], "callbacks_ui_settings": [], "callbacks_app_started": []}


def clear_callbacks():
    for callback_list in callback_map.values():
        callback_list.clear()


def on_before_ui(callback, *, name=None):
    callback_map["callbacks_before_ui"].append(callback)


def on_ui_settings(callback, *, name=None):
    callback_map["callbacks_ui_settings"].append(callback)


def before_ui_callback():
    for callback in callback_map["callbacks_before_ui"]:
        callback()


def ui_settings_callback():
    for callback in callback_map["callbacks_ui_settings"]:
        callback()


def on_app_started(callback, *, name=None):
    callback_map["callbacks_app_started"].append(callback)


def app_started_callback(demo, app):
    for callback in callback_map["callbacks_app_started"]:
        callback(demo, app)
