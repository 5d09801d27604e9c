"""The paper's on/off schedule as a pure function of the epoch (or step)."""

from __future__ import annotations

import numbers
from typing import Any


def schedule_state(index: Any, warmup: Any, on: Any, off: Any, finetune: Any, total: Any) -> Any:
    """Whether SamplePairing is on at epoch (or step) ``index``.

    Off for the first ``warmup``, then cycles of ``on`` enabled and ``off``
    disabled, and off again for the last ``finetune`` of ``total`` (None or a
    negative total: no end known). Works on Python ints and, elementwise, on
    integer tensors.
    """
    if isinstance(index, numbers.Integral):
        if index < warmup or (total is not None and total >= 0 and index >= total - finetune):
            return False
        return (index - warmup) % (on + off) < on
    import tensorflow as tf

    started = index >= warmup
    ended = tf.logical_and(total >= 0, index >= total - finetune)
    cycling = tf.math.floormod(index - warmup, on + off) < on
    return tf.logical_and(tf.logical_and(started, tf.logical_not(ended)), cycling)
