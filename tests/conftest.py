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

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPUs, for the tf.distribute tests: they can only be made before
# TensorFlow starts, and a process of their own would start TensorFlow again.
# Ops are placed on the first unless a strategy says otherwise.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

from tests import helpers  # noqa: E402

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


class StepRecorder(keras.layers.Layer):
    """Records, for every train step, whether the batch reaching it was mixed.

    Args:
        is_mixed: ``batch -> scalar bool tensor`` (TensorFlow ops).
    """

    def __init__(self, is_mixed, **kwargs):
        super().__init__(**kwargs)
        self.is_mixed = is_mixed
        self.flags = keras.Variable(-np.ones(64, "int32"), trainable=False, dtype="int32")
        self.count = keras.Variable(0, trainable=False, dtype="int32")

    def call(self, x, training=None):
        import tensorflow as tf

        if training:
            mixed = tf.cast(self.is_mixed(x), tf.int32)
            flags, count = tf.convert_to_tensor(self.flags), tf.convert_to_tensor(self.count)
            self.flags.assign(tf.tensor_scatter_nd_update(flags, [[count]], [mixed]))
            self.count.assign_add(1)
        return x

    def recorded(self) -> list:
        flags = self.flags.numpy()
        return flags[flags >= 0].tolist()
