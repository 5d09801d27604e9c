"""The results files: read, compare settings, write this process's runs, combine.

An output folder holds ``results.json`` (every run and the summary, the
file the table is made from) and ``runs/``, where each process that trains
(a comparison, each ``--jobs`` worker, each ``--shard``) writes its runs to a
file of its own, rewritten whole after each run. No two processes ever write
the same runs file, so a run written at the same moment as another process's
is never lost; ``results.json`` is rewritten from all files together. On
resuming, every file is read and checked against the comparison's settings:
runs made with other settings are refused, never mixed in.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import stat
import tempfile
import time
from typing import Any

FORMAT = "keras_samplepairing.compare/2"
FORMAT_V1 = "keras_samplepairing.compare/1"
RESULTS_FILE = "results.json"
RUNS_FOLDER = "runs"


def write_json(path: str, content: Any) -> None:
    """Writes ``content`` as JSON atomically: an interrupted write never
    leaves a broken results file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=1, ensure_ascii=False, allow_nan=False)
            file.write("\n")
        # mkstemp makes the file private (0600); results are meant to be read
        # by others: the file's mode so far, or the usual 0644.
        mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def normal(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Where two settings differ: ``["training.epochs: 2 -> 3"]``."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                found.append(f"{name}: {old.get(key, '(none)')!r} -> {new.get(key, '(none)')!r}")
            else:
                found += differences(old[key], new[key], name)
        return found
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def environment() -> dict[str, Any]:
    """The software and machine the runs used (recorded, not compared)."""
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "backend": keras.config.backend(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }


def upgrade_v1(stored: dict) -> dict:
    """A results file of the first format (one recipe, before grids) in this
    format: its recipe was the defaults with the fixed subset."""
    settings = dict(stored.get("settings") or {})
    per_class = settings.get("per_class")
    training = dict(settings.get("training") or {})
    training.update(
        model={"name": "compact", "split_layer": "encoder_output", "feature_layer": "features"},
        augment={"name": "translate"},
        optimizer="adam",
        lr_schedule="cosine",
        lr_floor=0.0,
        lr_steps=[0.5, 0.75],
        lr_step_factor=0.1,
    )
    settings.update(
        training=training,
        subset=f"the first {per_class} of each class" if per_class is not None else None,
    )
    return {
        "format": FORMAT,
        "settings": settings,
        "grid": {},
        "cells": {"": {"factors": {}, "settings": settings}},
        "environment": stored.get("environment"),
        "variants": stored.get("variants", {}),
        "runs": [{"cell": "", **run} for run in stored.get("runs", [])],
    }


def read_results(path: str) -> dict:
    """A results file of this runner (the first format upgraded); ValueError if not one."""
    try:
        with open(path, encoding="utf-8") as file:
            stored = json.load(file)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"{path} is not a readable results file ({error}); move it away or use another --out."
        ) from error
    if isinstance(stored, dict) and stored.get("format") == FORMAT_V1:
        return upgrade_v1(stored)
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        raise ValueError(f"{path} is not a results file of this runner (format {FORMAT}).")
    return stored


def results_files(out: str) -> list[str]:
    """``results.json`` and every runs file in ``out``, in the order written."""
    found = []
    main = os.path.join(out, RESULTS_FILE)
    if os.path.exists(main):
        found.append(main)
    folder = os.path.join(out, RUNS_FOLDER)
    if os.path.isdir(folder):
        found += [
            os.path.join(folder, name)
            for name in sorted(os.listdir(folder))
            if name.endswith(".json") and not name.startswith(".")
        ]
    return found


def plan_content(plan: Any) -> dict[str, Any]:
    """What every results file records of the comparison itself."""
    from keras_samplepairing.compare.grid import without_factors

    first = plan.cells[0].label
    return normal(
        {
            "format": FORMAT,
            "settings": without_factors(plan.settings[first], list(plan.grid)),
            "grid": plan.grid,
            "cells": {
                cell.label: {"factors": cell.factors, "settings": plan.settings[cell.label]}
                for cell in plan.cells
            },
        }
    )


def _same_data(stored: Any, ours: Any) -> Any:
    """``stored`` with the data named as now when it is the same data:
    ``good.npz`` and ``./good.npz`` are one file."""
    if not isinstance(stored, dict) or not isinstance(ours, dict):
        return stored
    data, now = stored.get("data"), ours.get("data")
    same = isinstance(data, dict) and isinstance(now, dict) and "data" in now
    if same and data.get("fingerprint") == now.get("fingerprint"):
        return {**stored, "data": {**data, "data": now["data"]}}
    return stored


def check_stored(path: str, stored: dict, plan: Any) -> None:
    """Refuses a results file made with other settings than ``plan``'s.

    Raises:
        ValueError: naming the file and the first differences.
    """
    ours = plan_content(plan)
    advice = "to resume it, use the same settings; to start over, use another --out or delete it"
    before = sorted(stored.get("grid") or {})
    if before != sorted(ours["grid"]):
        shown = ", ".join(before) or "none"
        raise ValueError(
            f"{path} holds a comparison whose grid varies {shown}, not "
            f"{', '.join(sorted(ours['grid'])) or 'nothing'}; {advice}."
        )
    changed = differences(_same_data(stored.get("settings"), ours["settings"]), ours["settings"])
    if changed:
        raise ValueError(
            f"{path} holds runs made with other settings ({'; '.join(changed)}); {advice}."
        )
    for label, cell in ours["cells"].items():
        old = (stored.get("cells") or {}).get(label)
        if old is None:
            continue
        changed = differences(_same_data(old.get("settings"), cell["settings"]), cell["settings"])
        if changed:
            raise ValueError(
                f"{path}: the cell {label!r} was run with other settings "
                f"({'; '.join(changed)}); {advice}."
            )
    recorded = stored.get("variants") or {}
    for variant in plan.variants:
        old = recorded.get(variant.name)
        if old is None:
            continue
        old = {key: value for key, value in old.items() if key != "description"}
        changed = differences(old, normal(variant.describe()))
        if changed:
            raise ValueError(
                f"{path}: the variant {variant.name!r} was run with another definition "
                f"({'; '.join(changed)}); use another --out or delete the file."
            )


def _key(run: dict) -> tuple[str, str, int]:
    return (str(run.get("cell", "")), str(run["variant"]), int(run["seed"]))


def gather_runs(plan: Any) -> dict[str, Any]:
    """Every run in the output folder's files, checked against ``plan``.

    A run found in several files counts once: a finished one before a
    failed one, else the first written.

    Returns:
        ``{"runs": {(cell, variant, seed): record}, "variants", "cells",
        "environment"}`` (the last from ``results.json``, or the first file).

    Raises:
        ValueError: a file that is not a results file, or made with other
            settings.
    """
    runs: dict[tuple[str, str, int], dict] = {}
    variants: dict[str, Any] = {}
    cells: dict[str, Any] = {}
    found_environment = None
    for path in results_files(plan.out):
        stored = read_results(path)
        check_stored(path, stored, plan)
        for run in stored.get("runs", []):
            key = _key(run)
            kept = runs.get(key)
            if kept is None or (kept.get("status") == "failed" and run.get("status") != "failed"):
                runs[key] = run
        for name, described in (stored.get("variants") or {}).items():
            variants.setdefault(name, described)
        for label, cell in (stored.get("cells") or {}).items():
            cells.setdefault(label, cell)
        if found_environment is None:
            found_environment = stored.get("environment")
    return {"runs": runs, "variants": variants, "cells": cells, "environment": found_environment}


def load_results(plan: Any) -> None:
    """Reads the output folder's results files into ``plan.runs`` and
    ``plan.stored`` (refusing files made with other settings)."""
    from keras_samplepairing.compare.plan import Run

    gathered = gather_runs(plan)
    plan.runs = {Run(*key): run for key, run in gathered.pop("runs").items()}
    plan.stored = gathered


def variant_records(plan: Any, stored: dict) -> dict[str, Any]:
    """The variants' definitions: those stored, and the plan's."""
    recorded = dict(stored.get("variants") or {})
    for variant in plan.variants:
        recorded[variant.name] = normal({"description": variant.description, **variant.describe()})
    return recorded


class RunsFile:
    """This process's own runs file in ``<out>/runs/``, written whole after each run.

    Its name holds the start time, host, process id and shard, so no other
    process writes it. Nothing is written until the first run is added.

    Args:
        plan: the comparison.
        tag: what else tells this writer apart (``"job-2"``).
    """

    def __init__(self, plan: Any, tag: str = "") -> None:
        index, count = plan.shard
        parts = [
            time.strftime("%Y%m%d-%H%M%S"),
            socket.gethostname().split(".")[0] or "host",
            str(os.getpid()),
        ]
        if count > 1:
            parts.append(f"shard-{index}-of-{count}")
        if tag:
            parts.append(tag)
        name = "-".join("".join(c if c.isalnum() or c in "._-" else "_" for c in p) for p in parts)
        self.path = os.path.join(plan.out, RUNS_FOLDER, f"{name}.json")
        self.plan = plan
        self.runs: list[dict] = []
        self.software = environment()

    def add(self, record: dict) -> None:
        """Adds a finished (or failed) run (with the software it ran on) and
        rewrites the file."""
        record.setdefault("environment", self.software)
        self.runs.append(record)
        plan = self.plan
        content = {
            **plan_content(plan),
            "environment": self.software,
            "writer": {"shard": list(plan.shard), "jobs": plan.jobs, "pid": os.getpid()},
            "variants": variant_records(plan, {}),
            "runs": self.runs,
        }
        write_json(self.path, content)


def write_combined(plan: Any, summary: dict | None) -> dict[str, Any]:
    """Rewrites ``results.json`` from every file in the folder (all runs, the
    plan's cells and variants, and the summary). Returns what it wrote."""
    gathered = gather_runs(plan)
    cells = dict(gathered["cells"])
    ours = plan_content(plan)
    cells.update(ours["cells"])
    content = {
        **ours,
        "cells": cells,
        "environment": environment(),
        "variants": variant_records(plan, gathered),
        "runs": sorted(
            gathered["runs"].values(),
            key=lambda run: (run.get("cell", ""), run["seed"], run["variant"]),
        ),
    }
    if summary is not None:
        content["summary"] = summary
    write_json(os.path.join(plan.out, RESULTS_FILE), content)
    return content
