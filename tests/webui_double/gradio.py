"""Stand-in for gradio: the component classes a settings OptionInfo names (the WebUI builds them later)."""


class Component:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class Slider(Component):
    pass


class Textbox(Component):
    pass


class Number(Component):
    pass


class Checkbox(Component):
    pass


class Radio(Component):
    pass
