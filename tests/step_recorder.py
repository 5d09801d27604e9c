"""A layer that records, step by step, whether ``fit`` trained on a mixed batch."""

import keras
import numpy as np
import tensorflow as tf


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
        if training:
            mixed = tf.cast(self.is_mixed(x), tf.int32)
            flags, count = tf.convert_to_tensor(self.flags), tf.convert_to_tensor(self.count)
            self.flags.assign(tf.tensor_scatter_nd_update(flags, [[count]], [mixed]))
            self.count.assign_add(1)
        return x

    def recorded(self) -> list:
        flags = self.flags.numpy()
        return flags[flags >= 0].tolist()
