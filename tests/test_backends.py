"""The backend matrix: the same layers under JAX and PyTorch.

``tests/backends/checks.py`` runs once per backend in a fresh process
(``KERAS_BACKEND`` is read when Keras is imported): the model group without
TensorFlow, then the pipeline group; every check is a test here. The TensorFlow backend is what the rest of the suite runs on.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent / "backends" / "checks.py"
COMMON = {
    "model": [
        "eager_calls_are_native_seeded_and_fresh",
        "a_model_layer_trains_and_is_the_identity_at_inference",
        "feature_pairing_passes_gradients_through_the_mix",
        "pairing_model_trains_on_mixed_labels",
        "the_schedule_switches_a_model_layer_at_run_time",
        "no_tensorflow_was_imported",
    ],
    "pipeline": [
        "a_layer_maps_over_tf_data_with_a_new_pairing_each_batch",
        "the_switch_and_the_seed_are_read_at_run_time_in_tf_data",
        "the_schedule_switches_a_mapped_layer_and_map",
        "a_features_model_in_tf_data_is_refused_clearly",
    ],
}
ONLY = {
    ("jax", "model"): ["the_jax_step_is_native"],
    ("torch", "model"): ["torch_tensors_stay_torch_tensors_on_their_device"],
    ("jax", "pipeline"): ["export_serves_the_model_without_the_layer"],
}
CASES = [
    (backend, group, name)
    for backend in ("jax", "torch")
    for group, names in COMMON.items()
    for name in names + ONLY.get((backend, group), [])
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    cache = {}

    def run(backend, group):
        if backend not in cache:
            if importlib.util.find_spec(backend) is None:
                pytest.skip(f"{backend} is not installed")
            out = tmp_path_factory.mktemp(backend) / "result.json"
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
            subprocess.run(
                [sys.executable, str(SCRIPT), str(out)], env=env, check=True, timeout=900
            )
            result = json.loads(out.read_text())
            assert result["backend"] == backend
            cache[backend] = result["results"]
        return cache[backend][group]

    return run


@pytest.mark.parametrize("backend, group, name", CASES)
def test_backend(outcomes, backend, group, name):
    results = outcomes(backend, group)
    assert name in results, f"{name} did not run under {backend}"
    assert results[name] == "ok", results[name]
