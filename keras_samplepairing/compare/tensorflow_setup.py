"""How the comparison's processes start TensorFlow: with the threads asked
for, and quietly (the package's commands stay quiet unless the user asks:
TensorFlow's start-up lines hidden, a user's own ``TF_CPP_MIN_LOG_LEVEL``
respected)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


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


def configure_threads(threads: int | None) -> int:
    """Sets TensorFlow's threads per op (intra and inter) before it starts.

    Args:
        threads: threads, or None to leave TensorFlow's default (all cores).

    Returns:
        The intra-op threads in force (0: TensorFlow's default).
    """
    import tensorflow as tf

    threading = tf.config.threading
    if threads is not None and threading.get_intra_op_parallelism_threads() != threads:
        try:
            threading.set_intra_op_parallelism_threads(threads)
            threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already started in this process
            pass
    return threading.get_intra_op_parallelism_threads()


@contextlib.contextmanager
def no_retracing_warnings() -> Iterator[None]:
    """Every run builds a new model, whose train function TensorFlow counts
    as a retracing of the last one's and warns about: a false alarm here."""
    import logging

    import tensorflow as tf

    class Retracing(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "triggered tf.function retracing" not in record.getMessage()

    quiet = Retracing()
    logger = tf.get_logger()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
