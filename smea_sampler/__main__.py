"""`python -m smea_sampler [demo|bench] …`: the demo picture (the default) or the benchmark."""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = ("demo", "bench")
USAGE = """usage: python -m smea_sampler [demo|bench] [options]

  demo   (default) every sampler on an embedded toy model, drawn as one PNG
  bench  cost against Euler a on a random-weight SD1-layout UNet (needs diffusers)

python -m smea_sampler demo --help, python -m smea_sampler bench --help: their options."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    command = argv.pop(0) if argv[:1] and argv[0] in COMMANDS else "demo"
    prog = f"python -m smea_sampler {command}"
    if command == "bench":
        from .bench import main as run
    else:
        from .demo import main as run
    return run(argv, prog=prog)


if __name__ == "__main__":
    sys.exit(main())
