"""SamplePairing for detection: a synthetic shapes set, mixed in tf.data, drawn.

Builds images of coloured rectangles and discs with their boxes (it draws
them itself, no download), pairs them in a ``tf.data`` pipeline, and writes a
gallery PNG of the mixed images with both images' boxes: the image's own in
one colour, its partner's in another, each labelled with its class and its
weight for the detection loss.

    pip install -e ".[plot]"
    python examples/detection.py --out saved_models
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402
import matplotlib.patches  # noqa: E402

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


def box_layers(mixed: dict, count: int, scale: int) -> tuple[dict, dict, dict, dict]:
    """The first image's boxes and the partner's, apart, each box with its own
    label text (class and weight), in pixels of an image ``scale`` times larger.

    A mixed image's boxes are its own (the first ``count``) followed by its
    partner's; ``box_weights`` says how much each counts.
    """
    boxes = mixed["boxes"].numpy() * scale
    classes = mixed["labels"].numpy()
    weights = mixed["box_weights"].numpy()
    parts, names = [], []
    for half in (slice(0, count), slice(count, None)):
        ids = np.full(classes[:, half].shape, -1, "int32")
        mapping = {}
        for (row, column), kind in np.ndenumerate(classes[:, half]):
            if kind >= 0:
                ids[row, column] = len(mapping) + 100 * len(parts)
                mapping[int(ids[row, column])] = (
                    f"{CLASSES[int(kind)]} {weights[row, half][column]:.2f}"
                )
        parts.append({"boxes": boxes[:, half], "labels": ids})
        names.append(mapping)
    return parts[0], parts[1], names[0], names[1]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--count", type=int, default=16, help="images to make")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="saved_models")
    args = parser.parse_args(argv)

    images, boxes, classes = make_shapes(args.count, seed=args.seed)
    ds = tf.data.Dataset.from_tensor_slices(
        {"images": images, "bounding_boxes": {"boxes": boxes, "labels": classes}}
    )
    # λ from Beta(1, 1): each box weight shows how much its image counts.
    pair = samplepairing_map(seed=args.seed, lam="beta", bounding_box_format="xyxy")
    ds = ds.batch(args.batch).enumerate().map(pair, num_parallel_calls=tf.data.AUTOTUNE)
    batch = next(iter(ds))
    mixed = batch["bounding_boxes"]

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "detection_gallery.png")
    # Drawn four times larger, so the box labels are legible.
    scale = 4
    large = np.repeat(np.repeat(batch["images"].numpy(), scale, axis=1), scale, axis=2)
    own, partner, own_names, partner_names = box_layers(mixed, boxes.shape[1], scale)
    keras.visualization.plot_bounding_box_gallery(
        large,
        bounding_box_format="xyxy",
        y_true=own,
        y_pred=partner,
        ground_truth_mapping=own_names,
        prediction_mapping=partner_names,
        true_color=(0, 200, 255),
        pred_color=(255, 160, 0),
        legend_handles=[
            matplotlib.patches.Patch(color=(0, 200 / 255, 1.0), label="the image's own boxes"),
            matplotlib.patches.Patch(color=(1.0, 160 / 255, 0), label="its partner's boxes"),
        ],
        value_range=(0, 255),
        rows=2,
        cols=max(1, args.batch // 2),
        font_scale=0.45,
        line_thickness=2,
        text_thickness=1,
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
