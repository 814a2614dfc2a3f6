"""Command-line flags of the smea-samplers extension; the WebUI calls preload(parser) while it builds its parser.

This runs before the WebUI's options exist: it must never import `modules.*` (importing the sampler
modules here is circular) nor the smea_sampler package. It only adds flags.
"""


def preload(parser):
    # Read by scripts/smea_samplers.py as cmd_opts.smea_strict.
    parser.add_argument(
        "--smea-strict",
        action="store_true",
        help="smea-samplers: let a Dy/SMEA sub-step that fails on its resampled latent raise instead of "
        "falling back to a plain Euler step (for bug reports: the traceback shows which tensor did not fit)",
    )
