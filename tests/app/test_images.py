import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.core.errors import ClientGone
from app.core.images import ImageError, decode_grayscale, to_canvas, to_mnist_digit
from tests.app.conftest import png_bytes, request_budget


def decode(data: bytes) -> np.ndarray:
    return decode_grayscale(data, request_budget(), 28)


def test_dark_ink_on_white_is_inverted_to_mnist_polarity() -> None:
    page = np.full((40, 30), 255, dtype=np.uint8)
    page[10:30, 12:16] = 0
    gray = decode(png_bytes(page))
    assert gray[0, 0] == 0 and gray[15, 13] == 255


def test_transparent_png_is_read_on_white() -> None:
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[5:15, 8:12] = (0, 0, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    gray = decode(buffer.getvalue())
    assert gray[0, 0] == 0 and gray[10, 10] == 255


def test_digit_is_fitted_in_20x20_and_centred_by_mass() -> None:
    big = np.zeros((200, 100), dtype=np.float32)
    big[20:180, 40:60] = 255  # a tall bar far from the centre of its picture
    digit = to_mnist_digit(big)
    rows = np.nonzero(digit > 25)[0]
    assert digit.shape == (28, 28)
    assert rows.max() - rows.min() + 1 == 20
    mass = digit / digit.sum()
    centre = ((mass.sum(axis=1) * np.arange(28)).sum(), (mass.sum(axis=0) * np.arange(28)).sum())
    assert centre == pytest.approx((13.5, 13.5), abs=0.6)


def test_a_blank_picture_gives_a_blank_digit() -> None:
    assert not to_mnist_digit(np.zeros((50, 50), dtype=np.float32)).any()


def test_canvas_is_resized_to_the_model_shape_keeping_its_digits_in_place(test_canvases: tuple) -> None:
    canvas = test_canvases[0][np.count_nonzero(test_canvases[1], axis=1) == 2][0].astype(np.float32)
    photo = np.kron(canvas, np.ones((2, 3), dtype=np.float32))  # the same picture at 112x168, as a phone might send it
    resized = to_canvas(photo, (56, 56))
    assert resized.shape == (56, 56)
    assert np.abs(resized - canvas).mean() < 0.1 * np.abs(canvas).mean()  # the ink landed where it was
    assert np.corrcoef(resized.ravel(), canvas.ravel())[0, 1] > 0.95


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_non_images_raise_image_error(data: bytes) -> None:
    with pytest.raises(ImageError):
        decode(data)


def test_gif_is_not_accepted() -> None:
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="GIF")
    with pytest.raises(ImageError, match="not a PNG or JPEG"):
        decode(buffer.getvalue())


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_elongated_image_is_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match=r"100x2000, more elongated than 16:1 \(MAX_IMAGE_ASPECT\)"):
        decode(_png(100, 2000))


def test_the_request_total_of_declared_pixels_is_bounded() -> None:
    budget = request_budget(max_image_pixels=1000 * 1000, max_request_pixels=2500 * 1000)
    decode_grayscale(_png(1000, 1000), budget, 28)
    decode_grayscale(_png(1000, 1000), budget, 28)
    with pytest.raises(ImageError, match=r"more than 2500000 pixels \(MAX_REQUEST_PIXELS\)"):
        decode_grayscale(_png(1000, 1000), budget, 28)


def test_large_images_are_decoded_small_and_still_read_right() -> None:
    page = Image.new("L", (2000, 2000), 255)
    page.paste(0, (900, 300, 1100, 1700))  # a thick dark "1" on white paper
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        page.save(buffer, format=fmt)
        gray = decode(buffer.getvalue())
        assert max(gray.shape) <= 2 * 8 * 28 and gray.shape[0] == gray.shape[1]
        digit = to_mnist_digit(gray)
        assert digit[:, 14].sum() > 10 * digit[:, 4].sum()  # the ink stands in the middle column


def test_a_client_that_went_away_stops_decoding() -> None:
    budget = request_budget()
    budget.client_gone()
    with pytest.raises(ClientGone):
        decode_grayscale(_png(28, 28), budget, 28)


def test_a_16_bit_grayscale_scan_is_scaled_to_8_bits_not_clipped_to_white(
    client: TestClient, test_digits: tuple
) -> None:
    images, labels = test_digits[0][:10], test_digits[1][:10]
    files = []
    for image in images:
        scan = (255 - image.astype(np.uint16)) * 257  # dark ink on white, the full 16-bit range
        buffer = io.BytesIO()
        Image.fromarray(scan).save(buffer, format="PNG")
        assert Image.open(buffer).mode == "I;16"
        files.append(("file", ("scan.png", buffer.getvalue(), "image/png")))
    answer = client.post("/predict/multiclass", files=files)
    assert answer.status_code == 200
    assert [prediction["label"] for prediction in answer.json()["predictions"]] == labels.tolist()
