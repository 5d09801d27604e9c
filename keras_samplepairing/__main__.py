"""Command line: ``python -m keras_samplepairing <command> [options]``."""

from __future__ import annotations

import importlib
import os
import sys

# Each command's module has main(argv, prog).
COMMANDS = {
    "demo": ("keras_samplepairing.demo", "baseline vs the paper's recipe on digits"),
    "compare": ("keras_samplepairing.compare.runner", "which variant helps: a seeded comparison"),
}


def program_name(argv0: str | None = None) -> str:
    """How the user ran us: the console script's name, or ``python -m ...``."""
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    if not name or name.endswith(".py") or name in ("-m", "-c"):
        return "python -m keras_samplepairing"
    return name


def main(argv: list[str] | None = None) -> object:
    """Runs a sub-command (see ``COMMANDS``)."""
    argv = sys.argv[1:] if argv is None else argv
    program = program_name()
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {program} {{{','.join(COMMANDS)}}} [options]\n")
        for name, (_, summary) in COMMANDS.items():
            print(f"  {name:10s} {summary}")
        print(f"\n{program} <command> --help shows a command's options.")
        return None
    if argv[0] not in COMMANDS:
        sys.exit(f"{program}: unknown command {argv[0]!r}; try: {program} --help")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:], prog=f"{program} {argv[0]}")


if __name__ == "__main__":
    main()
