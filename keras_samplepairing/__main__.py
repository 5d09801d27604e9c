"""Command line: ``python -m keras_samplepairing demo [options]``."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Runs a sub-command; ``demo`` is the only one."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: python -m keras_samplepairing demo [--epochs N] [--subset N] [--seed N] [--out DIR]"
        )
        return
    if argv[0] != "demo":
        sys.exit(f"unknown command {argv[0]!r}; try: python -m keras_samplepairing demo --help")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_samplepairing.demo import main as demo

    demo(argv[1:])


if __name__ == "__main__":
    main()
