"""Command line: ``python -m keras_samplepairing <command> [options]``."""

from __future__ import annotations

import importlib
import os
import sys

# Each command's module has main(argv, prog); the flag says whether importing
# it loads TensorFlow (then it is loaded quietly first), else the command
# loads it itself once its arguments are parsed (--help answers at once).
COMMANDS = {
    "demo": ("keras_samplepairing.demo", "baseline vs the paper's recipe on digits", True),
    "compare": (
        "keras_samplepairing.compare.cli",
        "which variant helps on your model and recipe: a seeded comparison, or a grid",
        False,
    ),
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
        for name, (_, summary, _) in COMMANDS.items():
            print(f"  {name:10s} {summary}")
        print(f"\n{program} <command> --help shows a command's options.")
        return None
    if argv[0] not in COMMANDS:
        sys.exit(f"{program}: unknown command {argv[0]!r}; try: {program} --help")
    module_name, _, loads_tensorflow = COMMANDS[argv[0]]
    if loads_tensorflow:
        from keras_samplepairing.compare.tensorflow_setup import quiet_tensorflow

        quiet_tensorflow()
    module = importlib.import_module(module_name)
    return module.main(argv[1:], prog=f"{program} {argv[0]}")


if __name__ == "__main__":
    main()
