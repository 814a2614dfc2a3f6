"""Double of the WebUI's `modules` package (AUTOMATIC1111 v1.10.1, 82a973c): see tests/webui_double/__init__.py."""
