"""SamplePairing for detection: a synthetic shapes set, mixed in tf.data, drawn.

Builds images of coloured rectangles and discs with their boxes (it draws
them itself, no download), pairs them in a ``tf.data`` pipeline, and writes a
gallery PNG of the mixed images with both images' boxes.

    pip install -e ".[plot]"
    python examples/detection.py --out saved_models
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_samplepairing import samplepairing_map  # noqa: E402

CLASSES = {0: "rectangle", 1: "disc"}
COLOURS = np.array([[230, 60, 60], [60, 200, 80], [70, 110, 240]], "float32")


def make_shapes(count: int, size: int = 64, max_objects: int = 3, seed: int = 0):
    """Images with 1..max_objects shapes; boxes xyxy padded with -1."""
    rng = np.random.default_rng(seed)
    images = np.full((count, size, size, 3), 20.0, "float32")
    boxes = -np.ones((count, max_objects, 4), "float32")
    classes = -np.ones((count, max_objects), "int32")
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        for j in range(rng.integers(1, max_objects + 1)):
            w, h = rng.integers(size // 6, size // 2, 2)
            x0, y0 = rng.integers(0, size - w), rng.integers(0, size - h)
            kind = int(rng.integers(0, 2))
            if kind == 0:
                inside = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
            else:
                cx, cy = x0 + w / 2, y0 + h / 2
                inside = ((xx - cx) / (w / 2)) ** 2 + ((yy - cy) / (h / 2)) ** 2 <= 1
            images[i][inside] = COLOURS[rng.integers(0, len(COLOURS))]
            boxes[i, j] = [x0, y0, x0 + w, y0 + h]
            classes[i, j] = kind
    return images, boxes, classes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16, help="images to make")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="saved_models")
    args = parser.parse_args(argv)

    images, boxes, classes = make_shapes(args.count, seed=args.seed)
    ds = tf.data.Dataset.from_tensor_slices(
        {"images": images, "bounding_boxes": {"boxes": boxes, "labels": classes}}
    )
    pair = samplepairing_map(seed=args.seed, bounding_box_format="xyxy")
    ds = ds.batch(args.batch).enumerate().map(pair, num_parallel_calls=tf.data.AUTOTUNE)
    batch = next(iter(ds))
    mixed = batch["bounding_boxes"]

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "detection_gallery.png")
    keras.visualization.plot_bounding_box_gallery(
        batch["images"],
        bounding_box_format="xyxy",
        y_true={"boxes": mixed["boxes"], "labels": mixed["labels"]},
        class_mapping=CLASSES,
        value_range=(0, 255),
        rows=2,
        cols=max(1, args.batch // 2),
        font_scale=0.4,
        line_thickness=1,
        path=path,
        transparent=False,
        scale=3,
        dpi=80,
    )
    plt.close("all")
    boxes_per_image = np.sum(mixed["labels"].numpy() != -1, axis=1)
    print(f"boxes per mixed image: {boxes_per_image.tolist()}\ngallery: {path}")
    return {"gallery": path, "boxes_per_image": boxes_per_image, "batch": batch}


if __name__ == "__main__":
    main()
