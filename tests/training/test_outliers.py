"""The generated negatives and the held-out families: shapes, reproducibility, and what each kind looks like."""

from pathlib import Path

import numpy as np
import pytest

from training.data import Mnist
from training.outliers import (
    LETTERS,
    NEGATIVE_KINDS,
    blank,
    font_files,
    held_out_families,
    make_negatives,
    mirrored_digits,
    near_blank,
    overlaid_digits,
    render_letters,
    strokes,
    turned_digits,
)


def test_negatives_are_raw_pixels_reproducible_from_the_seed_and_mix_every_kind(mnist: Mnist) -> None:
    negatives = make_negatives(700, 3, mnist.x_train, mnist.y_train)
    assert negatives.shape == (700, 28, 28) and negatives.dtype == np.uint8
    np.testing.assert_array_equal(negatives, make_negatives(700, 3, mnist.x_train, mnist.y_train))
    assert not np.array_equal(negatives, make_negatives(700, 4, mnist.x_train, mnist.y_train))
    flat = negatives.reshape(700, -1).astype(np.float64)
    assert np.sum(flat.std(axis=1) == 0) >= 700 // 10  # the blank share is flat
    assert np.sum(flat.std(axis=1) > 60) >= 700 // 10  # noise, strokes and blobs are not


@pytest.mark.parametrize("kind", list(NEGATIVE_KINDS))
def test_each_kind_makes_the_asked_number_of_images(kind: str) -> None:
    images = NEGATIVE_KINDS[kind](np.random.default_rng(0), 5)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8


def test_blank_images_are_flat_and_include_black_and_white() -> None:
    images = blank(np.random.default_rng(0), 300)
    assert np.all(images.min(axis=(1, 2)) == images.max(axis=(1, 2)))
    assert {0, 255} <= set(images[:, 0, 0].tolist())


def test_near_blank_images_are_mostly_black() -> None:
    images = near_blank(np.random.default_rng(0), 200)
    assert np.all(np.mean(images > 40, axis=(1, 2)) < 0.05)


def test_strokes_are_framed_like_an_upload() -> None:
    images = strokes(np.random.default_rng(0), 50)
    assert np.all(images.max(axis=(1, 2)) > 200)  # there is ink
    for image in images:  # cropped to the ink and fitted into a 20x20 box
        rows, cols = np.nonzero(image)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 20


def test_fonts_come_from_debian_or_else_from_matplotlib(tmp_path: Path) -> None:
    (tmp_path / "Mine.ttf").write_bytes(b"")
    assert font_files((tmp_path,)) == [tmp_path / "Mine.ttf"]
    bundled = font_files((tmp_path / "absent",))
    assert len(bundled) >= 10 and all(path.name.startswith("DejaVu") for path in bundled)
    assert {"DejaVuSans-Bold", "DejaVuSerif-Italic", "DejaVuSansMono"} <= {path.stem for path in bundled}


def test_letters_render_one_image_per_letter_and_font() -> None:
    fonts = font_files()
    images = render_letters(fonts[:2])
    assert images.shape == (2 * len(LETTERS), 28, 28) and len(LETTERS) == 52
    assert np.all(images.max(axis=(1, 2)) > 200)
    assert len({image.tobytes() for image in images}) == len(images)


def test_held_out_families_are_reproducible_and_apart_from_training(mnist: Mnist) -> None:
    families = held_out_families(mnist, seed=11, fonts=[], size=100)
    assert set(families) == {"uniform_noise", "gaussian_noise", "strokes", "blank", "inverted_digits"}
    again = held_out_families(mnist, seed=11, fonts=[], size=100)
    for name, images in families.items():
        assert images.shape == (100, 28, 28) and images.dtype == np.uint8
        np.testing.assert_array_equal(images, again[name])
    np.testing.assert_array_equal(families["inverted_digits"][0], 255 - mnist.x_test[0])
    training = make_negatives(700, 11, mnist.x_train, mnist.y_train)
    held_out = {image.tobytes() for name in ("uniform_noise", "strokes") for image in families[name]}
    assert not held_out & {image.tobytes() for image in training}


def digits_by_class(mnist: Mnist) -> dict[bytes, int]:
    return {
        image.tobytes(): int(label) for image, label in zip(mnist.x_train[:3000], mnist.y_train[:3000], strict=True)
    }


def test_mirrored_and_turned_digits_come_only_from_classes_that_stop_being_digits(mnist: Mnist) -> None:
    images, labels = mnist.x_train[:3000], mnist.y_train[:3000]
    known = digits_by_class(mnist)
    mirrored = mirrored_digits(np.random.default_rng(0), 200, images, labels)
    assert {known[image[:, ::-1].tobytes()] for image in mirrored} <= {2, 3, 4, 5, 6, 7, 9}
    turned = turned_digits(np.random.default_rng(0), 200, images, labels)
    sources = [known.get(np.rot90(image, k).tobytes()) for image in turned for k in (1, -1)]
    assert len([s for s in sources if s is not None]) >= 200
    assert {s for s in sources if s is not None} <= {1, 2, 3, 4, 5, 7}


def test_overlaid_digits_hold_more_ink_than_one_digit(mnist: Mnist) -> None:
    images, labels = mnist.x_train[:3000], mnist.y_train[:3000]
    overlaid = overlaid_digits(np.random.default_rng(0), 100, images, labels)
    assert overlaid.shape == (100, 28, 28) and overlaid.dtype == np.uint8
    ink = (overlaid > 128).sum(axis=(1, 2))
    assert np.median(ink) > 1.3 * np.median((images > 128).sum(axis=(1, 2)))  # more ink than one digit
