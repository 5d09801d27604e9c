"""Checking a comparison's arguments and expanding its grid into cells and runs.

A comparison trains every variant with every seed on one recipe (a *cell*:
model, basic augmentation, optimizer, learning-rate schedule, epochs, batch
size, training-set size). A grid varies some of the recipe's factors: each
combination of their values is a cell, compared with its own baseline. A
*run* is one (cell, variant, seed). ``prepare`` checks everything a user can
get wrong before anything trains, and reads what the output folder holds.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from keras_samplepairing.compare.arguments import count, flag
from keras_samplepairing.compare.data import ComparisonData, take_per_class, training_subset
from keras_samplepairing.compare.grid import (
    FACTORS,
    RECIPE_DEFAULTS,
    Cell,
    cell_settings,
    expand_cells,
    parse_grid,
    show_value,
)
from keras_samplepairing.compare.variants import BASELINE, Variant, select_variants

DEFAULT_SEEDS = 5
DEFAULT_OUT = "compare_results"


class Run(NamedTuple):
    """One run: a variant of a cell with a seed."""

    cell: str
    variant: str
    seed: int


@dataclasses.dataclass
class Plan:
    """A checked comparison, ready to run (see ``prepare``).

    Attributes:
        data: the whole train/test split (each run takes its subset).
        cells: the recipes, in the grid's order (one without a grid).
        variants: the variants asked for, the baseline first.
        skipped: per cell label, ``(variant, reason)`` of those that cannot
            run with its model.
        seeds: the seeds.
        fixed_subset: every seed trains on the first ``per_class`` images
            of each class (else each seed draws its own subset).
        grid: the varied factors and their values, as shown.
        settings: per cell label, what the results file records and
            resuming compares.
        out: the output folder.
        runs: finished runs by ``Run`` (from the results files).
        stored: what the results files hold besides runs (variants, cells,
            environment).
        all_variants: whether the user asked for every variant.
        shard: ``(i, n)``: this process runs the i-th of n shares (1-based).
        jobs: runs at once in this process's workers.
        threads: TensorFlow threads per run (None: TensorFlow's default).
        retry_failed: run failed runs again.
    """

    data: ComparisonData
    cells: list[Cell]
    variants: list[Variant]
    skipped: dict[str, list[tuple[str, str]]]
    seeds: list[int]
    fixed_subset: bool
    grid: dict[str, list[str]]
    settings: dict[str, dict[str, Any]]
    out: str
    runs: dict[Run, dict[str, Any]] = dataclasses.field(default_factory=dict)
    stored: dict[str, Any] = dataclasses.field(default_factory=dict)
    all_variants: bool = False
    shard: tuple[int, int] = (1, 1)
    jobs: int = 1
    threads: int | None = None
    retry_failed: bool = False

    def __post_init__(self) -> None:
        self._subsets: dict[tuple, ComparisonData] = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_subsets"] = {}  # rebuilt on demand in a worker
        return state

    def threads_per_run(self) -> int:
        """TensorFlow's threads per run: ``threads``, else the cores divided
        among ``jobs`` (TensorFlow's default, all cores, for one job). A run
        is reproducible given its seed and this number."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpucount()
        return self.threads or max(1, (cores or 1) // self.jobs)

    @property
    def per_class(self) -> int | None:
        """The training subset's size per class, when every cell shares one."""
        sizes = {cell.per_class for cell in self.cells}
        return sizes.pop() if len(sizes) == 1 else None

    @property
    def config(self) -> Any:
        """The first cell's training settings (the only cell's, without a grid)."""
        return self.cells[0].config

    def cell(self, label: str) -> Cell:
        """The cell with this label."""
        return next(cell for cell in self.cells if cell.label == label)

    def variant(self, name: str) -> Variant:
        """The variant with this name."""
        return next(variant for variant in self.variants if variant.name == name)

    def variants_of(self, cell: Cell) -> list[Variant]:
        """The variants that run in ``cell`` (those its model can run)."""
        left_out = {name for name, _ in self.skipped.get(cell.label, [])}
        return [variant for variant in self.variants if variant.name not in left_out]

    def all_runs(self) -> list[Run]:
        """Every run of the comparison: by cell, then seed, then variant."""
        return [
            Run(cell.label, variant.name, seed)
            for cell in self.cells
            for seed in self.seeds
            for variant in self.variants_of(cell)
        ]

    def my_runs(self) -> list[Run]:
        """This shard's runs: every n-th of ``all_runs``, from the i-th on.

        The split depends only on the comparison, never on what is done, so
        shards started at any time, or again, divide it the same way; taking
        every n-th run spreads the variants' costs evenly.
        """
        index, count = self.shard
        return self.all_runs()[index - 1 :: count]

    def pending(self) -> list[Run]:
        """This shard's runs still to do (failed ones too, with ``retry_failed``)."""
        return [
            run
            for run in self.my_runs()
            if run not in self.runs
            or (self.retry_failed and self.runs[run].get("status") == "failed")
        ]

    def training_data(self, cell: Cell, seed: int) -> ComparisonData:
        """The data one run of ``cell`` trains on: the seed's subset."""
        key = (cell.per_class, None if self.fixed_subset else seed)
        if key not in self._subsets:
            self._subsets[key] = training_subset(self.data, cell.per_class, seed, self.fixed_subset)
        return self._subsets[key]

    @property
    def paths(self) -> dict[str, str]:
        """Where the outputs go (the charts and galleries: see ``chart_path``)."""
        return {
            "results": os.path.join(self.out, "results.json"),
            "table": os.path.join(self.out, "table.md"),
            "chart": os.path.join(self.out, "chart.png"),
        }


def check_shard(shard: Any) -> tuple[int, int]:
    """``"i/n"`` (or ``(i, n)``) as ``(i, n)`` with ``1 <= i <= n``."""
    if shard is None:
        return (1, 1)
    try:
        index, count = (int(p) for p in (shard.split("/") if isinstance(shard, str) else shard))
    except (TypeError, ValueError):
        raise ValueError(f"`shard` must be i/n (e.g. 1/4), got {shard!r}.") from None
    if not 1 <= index <= count:
        raise ValueError(f"`shard` must be i/n with 1 <= i <= n, got {index}/{count}.")
    return (index, count)


def check_picklable(value: Any, argument: str) -> None:
    """Refuses a function that worker processes cannot import by name."""
    try:
        pickle.dumps(value)
    except Exception as error:
        raise ValueError(
            f"`{argument}`: {value!r} cannot be sent to --jobs worker processes ({error}); "
            "define it at the top level of a module (module:function), not as a lambda or "
            "a nested function."
        ) from error


def first_variants(cells: list[Cell], names: Any, data: ComparisonData) -> list[Variant]:
    """The variants asked for, checked against the data of the smallest cell."""
    sizes = [cell.per_class for cell in cells if cell.per_class is not None]
    smallest = take_per_class(data, min(sizes)) if sizes else data
    chosen = select_variants(names, smallest)
    assert chosen[0].name == BASELINE
    return chosen


def prepare(
    data: Any = "digits",
    per_class: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    epochs: int | None = None,
    variants: str | Sequence[str] | None = None,
    schedule: bool | None = None,
    out: str = DEFAULT_OUT,
    batch_size: int | None = None,
    *,
    model: Any = None,
    augment: Any = None,
    split_layer: str | None = None,
    feature_layer: str | None = None,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    lr_schedule: str | None = None,
    lr_floor: float | None = None,
    lr_steps: Sequence[float] | None = None,
    lr_step_factor: float | None = None,
    shift: float | None = None,
    grid: Sequence[str] | Mapping[str, Any] | None = None,
    fixed_subset: bool = False,
    jobs: int = 1,
    shard: str | tuple[int, int] | None = None,
    threads: int | None = None,
    retry_failed: bool = False,
) -> Plan:
    """Checks a comparison's arguments, loads its data and its results files.

    Every mistake a user can make is raised here, before anything trains:
    the user's model is built once and checked, the user's augmentation is
    applied once to a few images. The arguments are ``compare``'s.

    Raises:
        ValueError, TypeError: a bad argument (named), a missing or malformed
            data file, or results files made with other settings.
    """
    from keras_samplepairing.compare.augmentations import DEFAULT_AUGMENTATION, DEFAULT_SHIFT
    from keras_samplepairing.compare.datasets import load_data
    from keras_samplepairing.compare.results import load_results
    from keras_samplepairing.compare.training import scaled_schedule, schedule_states

    seeds = count("seeds", seeds, 1)
    jobs = count("jobs", jobs, 1)
    if threads is not None:
        threads = count("threads", threads, 1)
    fixed_subset = flag("fixed_subset", fixed_subset)
    retry_failed = flag("retry_failed", retry_failed)
    shard = check_shard(shard)
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"`out` must be a folder path, got {out!r}.")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"`out`: {out!r} is a file; give a folder for the results.")
    grid_values = parse_grid(grid)
    given = {
        "model": model,
        "augment": augment,
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "lr_schedule": lr_schedule,
        "lr_floor": lr_floor,
        "lr_steps": lr_steps,
        "lr_step_factor": lr_step_factor,
        "epochs": epochs,
        "batch_size": batch_size,
        "shift": shift,
        "per_class": per_class,
        "schedule": schedule,
    }
    for name in grid_values:
        argument = FACTORS[name].argument
        if given[argument] is not None:
            raise ValueError(
                f"`{argument}` is given and varied by `grid` ({name}=...): give one of them."
            )
    defaults = {**RECIPE_DEFAULTS, "augment": DEFAULT_AUGMENTATION, "shift": DEFAULT_SHIFT}
    recipe = {k: defaults[k] if v is None else v for k, v in given.items()}
    loaded = load_data(data)
    cells = expand_cells(recipe, grid_values, split_layer, feature_layer)
    if fixed_subset and all(cell.per_class is None for cell in cells):
        raise ValueError("`fixed_subset` needs `per_class` (the subset's size per class).")
    chosen = first_variants(cells, variants, loaded)
    for cell in cells:
        where = f"`grid` {cell.label}: " if cell.label else ""
        if cell.per_class is not None:
            try:
                take_per_class(loaded, cell.per_class)
            except ValueError as error:
                raise ValueError(f"{where}{error}") from error
        epochs_of = cell.config.epochs
        mixing = cell.config.schedule and any(v.mixes for v in chosen)
        if mixing and not any(schedule_states(epochs_of)):
            steps = scaled_schedule(epochs_of)
            raise ValueError(
                f"{where}`epochs`={epochs_of} leaves no epoch with mixing on under the "
                f"schedule (warm-up {steps['warmup']}, fine-tuning {steps['finetune']}): "
                "use epochs >= 3, or no schedule (--no-schedule, schedule=False)."
            )
    architectures = _check_parts(cells, loaded, jobs)
    skipped = {
        cell.label: [
            (v.name, reason) for v in chosen if (reason := v.skip_reason(cell.config.model))
        ]
        for cell in cells
    }
    settings = {
        cell.label: cell_settings(loaded, cell, fixed_subset, architectures[cell.config.model])
        for cell in cells
    }
    plan = Plan(
        data=loaded,
        cells=cells,
        variants=chosen,
        skipped={label: found for label, found in skipped.items() if found},
        seeds=list(range(seeds)),
        fixed_subset=fixed_subset,
        grid={name: [show_value(v) for v in values] for name, values in grid_values.items()},
        settings=settings,
        out=out,
        all_variants=isinstance(variants, str) and variants.strip() == "all",
        shard=shard,
        jobs=jobs,
        threads=threads,
        retry_failed=retry_failed,
    )
    load_results(plan)
    return plan


def _check_parts(cells: list[Cell], data: ComparisonData, jobs: int) -> dict[Any, str]:
    """Checks each distinct user model and augmentation once; returns each
    model's architecture in one line."""
    from keras_samplepairing.compare.augmentations import check_augmentation
    from keras_samplepairing.compare.models import check_model

    images = data.x_train[:4]
    architectures: dict[Any, str] = {}
    checked_augmentations = set()
    for cell in cells:
        config = cell.config
        choice = config.model
        if choice not in architectures:
            if choice.built_in:
                architectures[choice] = choice.architecture(data.image_shape, data.num_classes)
            else:
                if jobs > 1:
                    check_picklable(choice.function, "model")
                summary = check_model(choice, images, data.num_classes, data.value_range)
                architectures[choice] = f"{choice.name}: {summary}"
        augment = config.augment
        if augment.factory is not None and (augment, config.shift) not in checked_augmentations:
            if jobs > 1:
                check_picklable(augment.factory, "augment")
            check_augmentation(augment, images, config.shift)
            checked_augmentations.add((augment, config.shift))
    return architectures
