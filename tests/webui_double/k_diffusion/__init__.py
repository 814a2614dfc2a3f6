"""Double of k-diffusion as the WebUI 1.10 imports it (its pin ab527a9): only what the WebUI double calls."""
