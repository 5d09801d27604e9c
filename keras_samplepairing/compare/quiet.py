"""The package's commands stay quiet unless the user asks: TensorFlow's
start-up lines hidden, a user's own ``TF_CPP_MIN_LOG_LEVEL`` respected."""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Imports TensorFlow without its start-up lines, unless the user set
    ``TF_CPP_MIN_LOG_LEVEL`` (then they see what that level shows).

    The level is set to 3 first (worker processes inherit it); see
    ``import_tensorflow_quietly`` for the lines no level hides.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import_tensorflow_quietly()


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with the process's standard error sent nowhere,
    then keeps its Python logger to errors.

    TensorFlow prints some lines (oneDNN, CUDA drivers) before its log level
    applies, once for each of its libraries: only silencing standard error
    while it loads hides them. Python errors still show: an import that
    fails raises after standard error is back. TensorFlow's runtime is not
    started, so its threads can still be set.
    """
    if "tensorflow" not in sys.modules:
        sys.stderr.flush()
        saved = os.dup(2)
        nowhere = os.open(os.devnull, os.O_WRONLY)
        failure: BaseException | None = None
        try:
            os.dup2(nowhere, 2)
            try:
                import tensorflow  # noqa: F401 - loaded here, quietly
            except BaseException as error:  # shown once standard error is back
                failure = error
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(nowhere)
        if failure is not None:
            raise failure
    import tensorflow as tf

    # Every run of a comparison builds a new model, which TensorFlow takes for
    # needless retracing and warns about.
    tf.get_logger().setLevel("ERROR")
