"""tf.distribute and the tf.data service: the engines this library runs inside."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_samplepairing import PairingModel, SamplePairing, WholeSetPairing, samplepairing_map


def test_mirrored_strategy_pairs_within_each_replica():
    # Two logical CPUs, made by conftest.py before TensorFlow started.
    assert len(tf.config.list_logical_devices("CPU")) == 2
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x = np.stack([np.full((4, 4, 1), 10.0 * i, "float32") for i in range(16)])
    y = np.arange(16) % 4
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.Input((4, 4, 1)),
                SamplePairing(seed=0),
                keras.layers.Rescaling(1 / 255),
                keras.layers.Flatten(),
                keras.layers.Dense(4),
            ]
        )
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).map(samplepairing_map(seed=0))
    history = model.fit(ds, epochs=2, verbose=0)
    # Partners from the whole set, in a distributed input pipeline.
    whole = WholeSetPairing((x, y), seed=0, pairing="most_similar", label_mode="first")
    whole_history = model.fit(whole.dataset(8, repeat=True), steps_per_epoch=2, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"] + whole_history.history["loss"]))

    per_replica = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(x[ctx.replica_id_in_sync_group * 8 :][:8])
    )

    def decode(out):
        partners = []
        for r, t in enumerate(strategy.experimental_local_results(out)):
            own = np.arange(r * 8, r * 8 + 8)
            partners.append(np.rint(t.numpy()[:, 0, 0, 0] / 5 - own).astype(int).tolist())
        return partners

    layer = model.layers[0]
    with strategy.scope():  # mixes its input and returns it: the pairing shows
        trainer = PairingModel(
            keras.layers.Identity(),
            keras.layers.Identity(),
            mix_at="input",
            label_mode="first",
            seed=0,
        )
    result = {
        "partners": decode(strategy.run(lambda t: layer(t, training=True), args=(per_replica,))),
        "model_partners": decode(
            strategy.run(lambda t: trainer(t, training=True), args=(per_replica,))
        ),
    }
    for key in ("partners", "model_partners"):  # the layer's and PairingModel's
        first, second = result[key]
        assert sorted(first) == list(range(8)) and sorted(second) == list(range(8, 16))
        # Replicas draw independent pairings (the replica id is folded into the seed).
        assert [p - 8 for p in second] != first


@pytest.fixture
def data_service():
    service = tf.data.experimental.service
    dispatcher = service.DispatchServer(service.DispatcherConfig(port=0))
    address = dispatcher.target.split("://")[1]
    workers = [
        service.WorkerServer(service.WorkerConfig(dispatcher_address=address, port=0))
        for _ in range(2)
    ]
    yield dispatcher.target
    for server in (*workers, dispatcher):
        server._stop()  # the servers' only stop call; they would outlive the test


def test_tf_data_service_delivers_every_element_once_mixed(data_service):
    service = tf.data.experimental.service
    n = 48

    def element(i):
        return {
            "images": tf.fill([4, 4, 3], tf.cast(i, tf.float32) * 10.0),
            "labels": i % 4,
            "index": i,
        }

    pair = samplepairing_map(seed=0, label_mode="mix", num_classes=4, passthrough_keys=("index",))
    ds = tf.data.Dataset.range(n).map(element).batch(8).enumerate().map(pair)
    ds = ds.apply(
        service.distribute(processing_mode=service.ShardingPolicy.DYNAMIC, service=data_service)
    )
    indices, count = [], 0
    for batch in ds:
        count += 1
        index = batch["index"].numpy()
        indices += index.tolist()
        images = batch["images"].numpy()
        assert images.shape == (8, 4, 4, 3)
        lo, hi = index.min() * 10.0, index.max() * 10.0  # partners come from the batch
        assert np.all((images >= lo) & (images <= hi))
        np.testing.assert_allclose(batch["labels"].numpy().sum(axis=1), 1.0, rtol=1e-6)
        assert not np.allclose(images[:, 0, 0, 0], index * 10.0)  # mixed
    assert count == n // 8
    assert sorted(indices) == list(range(n))  # none lost, none duplicated


def test_pairing_after_the_service_keeps_the_switch_live(data_service):
    # A worker gets the pipeline's variables by value when the dataset is
    # registered: a switch (or schedule) flipped later never reaches it.
    # Mapped after `distribute`, pairing runs on the trainer.
    service = tf.data.experimental.service
    images = np.arange(16, dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1))
    pair = samplepairing_map(seed=0)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(8)
    ds = ds.apply(
        service.distribute(processing_mode=service.ShardingPolicy.OFF, service=data_service)
    ).map(pair)
    assert not np.array_equal(next(iter(ds)).numpy(), images[:8])
    pair.enabled.assign(False)
    np.testing.assert_array_equal(next(iter(ds)).numpy(), images[:8])


def test_data_service_example(data_service):
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "data_service.py"
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    result = namespace["main"](["--elements", "32", "--batch", "8"], service=data_service)
    assert result["delivered"] == list(range(32))
