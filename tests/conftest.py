"""Shared test set-up: quiet TensorFlow, small deterministic inputs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Two pytest-xdist workers share two cores. One TensorFlow thread each keeps
# them from oversubscribing the cores, and XLA's backend optimisation off
# compiles the same programs sooner (compiling is most of a small test's
# time): together 192 s -> 130 s on the ops, layers and data tests. The
# benchmarks measure TensorFlow's defaults.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import helpers  # noqa: E402

# The files that take longest, longest first (CPU-seconds measured on the
# suite): pytest-xdist hands each worker whole files, by default those with
# fewest tests last, which left one worker training a minute after the other
# had finished. Others follow in collection order.
SLOWEST_FILES = (
    "tests/compare/test_compare_training.py",
    "tests/test_examples.py",
    "tests/layers/test_sample_pairing.py",
    "tests/test_interop.py",
    "tests/callbacks/test_schedule.py",
    "tests/test_backends.py",
    "tests/compare/test_compare.py",
    "tests/data/test_whole_set.py",
    "tests/test_benchmarks.py",
    "tests/test_distribute.py",
    "tests/ops/test_ops_nonlinear.py",
    "tests/layers/test_semantic_pairing.py",
    "tests/test_demo.py",
)


def _xdist_controller(config) -> bool:
    """Whether this process only hands tests to pytest-xdist's workers."""
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not hasattr(config, "workerinput")


def pytest_configure(config):
    if _xdist_controller(config):
        return  # it runs no test: TensorFlow would cost it 6 s of CPU and 0.8 GB
    import tensorflow as tf

    # Two logical CPUs, for the tf.distribute tests: they can only be made
    # before TensorFlow starts, and a process of their own would start
    # TensorFlow again. Ops are placed on the first unless a strategy says
    # otherwise.
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )


def pytest_collection_modifyitems(config, items):
    rank = {path: place for place, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


# Forbidden because XLA cannot compile them on GPU (gamma) or at all (shuffle).
FORBIDDEN_OPS = {
    "RandomGamma",
    "StatelessRandomGammaV2",
    "StatelessRandomGammaV3",
    "RandomShuffle",
    "StatelessShuffle",
}


def _graph_op_types(concrete_function) -> set:
    graph_def = concrete_function.graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types |= {node.op for node in function.node_def}
    return types


@pytest.fixture
def assert_xla_safe():
    """Fails if a traced function holds an op XLA lacks on GPU."""

    def check(concrete_function) -> set:
        types = _graph_op_types(concrete_function)
        assert not types & FORBIDDEN_OPS, types & FORBIDDEN_OPS
        return types

    return check


@pytest.fixture
def images():
    """Eight distinct 8x8 RGB float images in [0, 255]."""
    return np.random.default_rng(0).uniform(0, 255, (8, 8, 8, 3)).astype("float32")


@pytest.fixture
def constant_images():
    """Image i is the constant 10 * i: a mix reveals its partner."""
    return helpers.constant_images(8)
