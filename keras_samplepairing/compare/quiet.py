"""The package's commands stay quiet unless the user asks: TensorFlow's
start-up lines hidden, a user's own ``TF_CPP_MIN_LOG_LEVEL`` respected."""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Imports TensorFlow without its start-up lines, unless the user set
    ``TF_CPP_MIN_LOG_LEVEL`` (then they see what that level shows).

    TensorFlow prints some lines (oneDNN, CUDA drivers, ``cuInit`` on a
    machine without a GPU) before its log level applies, once for each of
    its libraries; those are hidden by sending the process's standard error
    to nowhere while TensorFlow loads (the level, set first, hides the
    rest). Python errors still show: an import that fails raises after
    standard error is back. TensorFlow's runtime is not started, so its
    threads can still be set.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" in sys.modules:
        _quiet_python_logger()
        return
    sys.stderr.flush()
    saved = os.dup(2)
    nowhere = os.open(os.devnull, os.O_WRONLY)
    failure: BaseException | None = None
    try:
        os.dup2(nowhere, 2)
        try:
            import tensorflow  # noqa: F401 - loaded here, quietly; its runtime starts later
        except BaseException as error:  # shown once standard error is back
            failure = error
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(nowhere)
    if failure is not None:
        raise failure
    _quiet_python_logger()


def _quiet_python_logger() -> None:
    """TensorFlow's Python warnings too: every run of a comparison builds a new
    model, which TensorFlow takes for needless retracing and warns about."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
