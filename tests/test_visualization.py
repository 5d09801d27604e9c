"""plot_partners: the gallery draws the partners its source chooses."""

import importlib
import sys

import numpy as np
import pytest

from keras_samplepairing import PartnerIndex, WholeSetPairing, visualization
from keras_samplepairing.demo import mixed_gallery_batch, plot_gallery
from keras_samplepairing.visualization import pick_counts, plot_partners

# Eight points on a line: each one's nearest neighbour is known by hand.
POSITIONS = np.array([0.0, 1.0, 10.0, 12.0, 30.0, 31.0, 60.0, 100.0], np.float32)
NEAREST = [1, 0, 3, 2, 5, 4, 5, 6]
# Image i is the constant 20 * i, so a drawn image tells which one it is.
IMAGES = np.stack([np.full((4, 4, 1), 20.0 * i, np.float32) for i in range(8)])
LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3])


def _ids(axes):
    """The image index each axes shows (None for an empty one)."""
    found = []
    for ax in axes:
        shown = ax.get_images()
        found.append(None if not shown else int(round(float(shown[0].get_array().mean()) * 12.75)))
    return found


def _rows(fig, n):
    """The anchors' axes, their partners' and the most-chosen images' (drawn
    ones only), by their place in the grid."""
    top, bottom = (fig.subfigs[0].axes, fig.subfigs[1].axes) if fig.subfigs else (fig.axes, [])

    def place(ax):
        spec = ax.get_subplotspec()
        return spec.rowspan.start, spec.colspan.start

    anchors = sorted((ax for ax in top if place(ax)[0] == 0), key=place)[:n]
    partners = sorted((ax for ax in top if place(ax)[0] == 1), key=place)[:n]
    chosen = sorted((ax for ax in bottom if ax.get_images()), key=place)
    return anchors, partners, chosen


@pytest.fixture(scope="module")
def index():
    return PartnerIndex.build(POSITIONS[:, None], "euclidean", k=2)


def test_index_gallery_draws_each_anchors_first_neighbour(index, tmp_path):
    assert index.neighbours[:, 0].tolist() == NEAREST
    path = tmp_path / "partners.png"
    fig = plot_partners(index, images=IMAGES, anchors=[0, 2, 4, 6, 7], path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    anchors, partners, chosen = _rows(fig, 5)
    assert _ids(anchors) == [0, 2, 4, 6, 7]
    assert _ids(partners) == [1, 3, 5, 5, 6]
    assert [ax.get_title() for ax in anchors] == ["#0", "#2", "#4", "#6", "#7"]
    similarity = index.similarities[4, 0]
    assert partners[2].get_title() == f"#5\neuclidean {similarity:.2f}"  # no λ for an index
    # Hubness: image 5 is the nearest of 4 and of 6; image 7 of nobody.
    assert _ids(chosen) == [5, 0, 1, 2, 3]
    assert chosen[0].get_title() == "#5\npicked 2×"
    caption = fig.subfigs[1].get_suptitle()
    assert (
        "the 5 most-chosen images take 75% of all 8 picks (at random they would take 62.5%)"
        in caption
    )
    assert (
        fig.subfigs[0]
        .get_suptitle()
        .startswith("PartnerIndex: each image's nearest neighbour by euclidean (k=2, 8 images)")
    )


def test_default_anchors_labels_and_title(index):
    fig = plot_partners(index, images=IMAGES, count=4, labels=LABELS, title="Mine")
    anchors, partners, _ = _rows(fig, 4)
    assert _ids(anchors) == [0, 2, 5, 7]  # evenly spaced
    assert _ids(partners) == [1, 3, 4, 6]
    assert anchors[1].get_title() == "#2, label 1"
    assert partners[3].get_title().startswith("#6, label 3\n")
    assert fig.subfigs[0].get_suptitle() == "Mine"


def test_pick_counts_first_neighbours_and_expected_samples(index):
    assert pick_counts(index).tolist() == [1, 1, 1, 1, 1, 2, 1, 0]
    expected = pick_counts(index, "sample", temperature=1.0)
    assert expected.sum() == pytest.approx(8.0)
    # With a tiny temperature sampling is the nearest neighbour.
    np.testing.assert_allclose(
        pick_counts(index, "sample", temperature=1e-6), [1, 1, 1, 1, 1, 2, 1, 0]
    )


def test_whole_set_gallery_draws_the_preview(tmp_path):
    pairing = WholeSetPairing((IMAGES, LABELS), seed=3)
    anchors = [1, 3, 5, 7]
    preview = pairing.preview(anchors=anchors, seed=11)
    fig = plot_partners(pairing, anchors=anchors, seed=11, path=str(tmp_path / "p.png"))
    drawn_anchors, drawn_partners, chosen = _rows(fig, 4)
    assert _ids(drawn_anchors) == anchors
    assert _ids(drawn_partners) == preview["partners"].tolist()
    assert all(p != a for p, a in zip(_ids(drawn_partners), anchors, strict=True))
    assert all(ax.get_title().endswith("\nλ 0.50") for ax in drawn_partners)
    assert chosen == []  # random partners: no index, no hubness row
    assert (tmp_path / "p.png").stat().st_size > 3000


def test_whole_set_gallery_with_an_index_shows_similarity_and_hubness():
    pairing = WholeSetPairing(
        (IMAGES, LABELS),
        seed=0,
        pairing="most_similar",
        similarity="euclidean",
        features=POSITIONS[:, None],
    )
    fig = plot_partners(pairing, anchors=[0, 4, 6])
    _, partners, chosen = _rows(fig, 3)
    assert _ids(partners) == [1, 5, 5]
    assert "euclidean" in partners[1].get_title() and "λ 0.50" in partners[1].get_title()
    assert _ids(chosen) == [5, 0, 1, 2, 3]


def test_unpaired_anchors_say_so():
    pairing = WholeSetPairing((IMAGES, LABELS), seed=0, rate=0.0)
    fig = plot_partners(pairing, anchors=[2, 3])
    _, partners, _ = _rows(fig, 2)
    assert _ids(partners) == [None, None]
    assert [ax.texts[0].get_text() for ax in partners] == ["not paired", "not paired"]


def test_bad_arguments_name_the_argument(index):
    with pytest.raises(ValueError, match="`images` is required with a PartnerIndex"):
        plot_partners(index)
    with pytest.raises(ValueError, match=r"`images` has 7 images but the index was built over 8"):
        plot_partners(index, images=IMAGES[:7])
    with pytest.raises(ValueError, match=r"`images` must be \(N, H, W, C\)"):
        plot_partners(index, images=IMAGES[..., 0])
    for anchors in ([8], [-1], [3, 9]):
        with pytest.raises(ValueError, match=r"`anchors` must be indices into the 8 images"):
            plot_partners(index, images=IMAGES, anchors=anchors)
    with pytest.raises(ValueError, match="`anchors` must be a non-empty list of int indices"):
        plot_partners(index, images=IMAGES, anchors=[1.5])
    with pytest.raises(ValueError, match="`count` must be a positive int"):
        plot_partners(index, images=IMAGES, count=0)
    for value_range in ((1, 1), (0, 1, 2), "dark"):
        with pytest.raises(ValueError, match="`value_range` must be"):
            plot_partners(index, images=IMAGES, value_range=value_range)
    with pytest.raises(ValueError, match="`labels` has 3 entries for 8 images"):
        plot_partners(index, images=IMAGES, labels=[0, 1, 2])
    with pytest.raises(TypeError, match="`source` must be a WholeSetPairing or a PartnerIndex"):
        plot_partners(IMAGES)
    pairing = WholeSetPairing((IMAGES, LABELS), seed=0)
    with pytest.raises(ValueError, match="`images` is for a PartnerIndex"):
        plot_partners(pairing, images=IMAGES)
    with pytest.raises(ValueError, match=r"`anchors` must be indices into the 8 images"):
        plot_partners(pairing, anchors=[8])


def test_importing_it_needs_no_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # any import of it fails
    importlib.reload(visualization)


def test_the_demo_gallery_shows_its_pairings_own_partners(tmp_path):
    # The demo draws its examples from the WholeSetPairing it trains with.
    pairing = WholeSetPairing((IMAGES, LABELS), seed=5)
    gallery = mixed_gallery_batch(pairing, LABELS, count=4)
    preview = pairing.preview(count=4)
    assert gallery["anchor_ids"].tolist() == preview["anchors"].tolist() == [0, 2, 5, 7]
    assert gallery["partner_ids"].tolist() == preview["partners"].tolist()
    np.testing.assert_array_equal(gallery["images"], IMAGES[[0, 2, 5, 7]])
    np.testing.assert_array_equal(gallery["partners"], IMAGES[preview["partners"]])
    np.testing.assert_allclose(
        gallery["mixes"], 0.5 * gallery["images"] + 0.5 * gallery["partners"]
    )
    assert gallery["labels"].tolist() == [0, 1, 2, 3]  # the first image's label is kept
    assert gallery["lam"].tolist() == [0.5] * 4
    path = tmp_path / "gallery.png"
    plot_gallery(gallery, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
