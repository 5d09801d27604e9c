"""SamplePairing in a pipeline distributed by the tf.data service.

The dispatcher and workers run in this process on localhost ports here; in a
real job they run on their own machines, and the trainer only needs the
dispatcher's address. Workers read and batch the data (the expensive part,
decoding and per-image augmentation, belongs there); dynamic sharding
(``ShardingPolicy.DYNAMIC``) hands each batch to one worker exactly once per
epoch, in an order that depends on timing.

Pairing is mapped after ``distribute``, on the trainer: a remote worker gets
the pipeline with the values its variables have when it is registered, so a
switch or a ``SamplePairingSchedule`` flipped later would never reach it.
Each batch's mix is seeded by the index of its first element, so it is the
same whichever worker made the batch and whenever it arrives.

    python examples/data_service.py
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from keras_samplepairing import SamplePairingMap, samplepairing_map  # noqa: E402

SERVICE = tf.data.experimental.service


def start_local_service(workers: int = 2):
    """A dispatcher and workers on localhost (for the demo; use real hosts at scale)."""
    dispatcher = SERVICE.DispatchServer(SERVICE.DispatcherConfig(port=0))
    address = dispatcher.target.split("://")[1]
    servers = [
        SERVICE.WorkerServer(SERVICE.WorkerConfig(dispatcher_address=address, port=0))
        for _ in range(workers)
    ]
    return dispatcher, servers


def build_dataset(
    elements: int, batch: int, service: str, pair: SamplePairingMap
) -> tf.data.Dataset:
    def element(i):
        image = tf.fill([16, 16, 3], tf.cast(i % 256, tf.float32))
        return {"images": image, "labels": i % 10, "index": i}

    ds = tf.data.Dataset.range(elements).map(element).batch(batch)
    ds = ds.apply(
        SERVICE.distribute(processing_mode=SERVICE.ShardingPolicy.DYNAMIC, service=service)
    )
    # On the trainer: the switch stays live, and the seed follows the batch.
    return ds.map(
        lambda b: pair.pair(b, seed_index=b["index"][0]), num_parallel_calls=tf.data.AUTOTUNE
    )


def main(argv: list[str] | None = None, service: str | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--elements", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    if service is None:
        # Kept referenced until the end: the servers stop with this process.
        dispatcher, workers = start_local_service()
        service = dispatcher.target
    delivered = []
    # The index is metadata: it names the batch element, it must not be mixed.
    pair = samplepairing_map(seed=0, label_mode="mix", num_classes=10, passthrough_keys=("index",))
    for batch in build_dataset(args.elements, args.batch, service, pair):
        delivered += batch["index"].numpy().tolist()
    delivered.sort()
    print(
        f"{len(delivered)} elements delivered, each once: {delivered == list(range(args.elements))}"
    )
    return {"delivered": delivered}


if __name__ == "__main__":
    main()
