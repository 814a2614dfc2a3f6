"""Double of modules/shared_cmd_options.py + cmd_args.py (v1.10.1): the parser extensions' preload(parser) extends.

The real module runs every extension's preload.py on the parser, then parses sys.argv; the double's
install() does the same with the argv a test gives.
"""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--api", action="store_true")
parser.add_argument("--nowebui", action="store_true")
parser.add_argument("--freeze-settings", action="store_true")

cmd_opts = parser.parse_args([])
