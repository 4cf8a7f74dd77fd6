"""Images that are not digits: the negatives outlier exposure trains on, and the families the score is measured on.

Training negatives are generated here from a seed: noise of several kinds, scribbled strokes, blobs, blank and
nearly blank images, and training digits made into non-digits (mirrored, turned on their side, two overlaid).
Letters are never among them: they are the held-out family that shows the score generalises.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.core.images import to_mnist_digit
from training.data import DIGIT_SIDE, MAX_SHIFT, Mnist, shift_digits

OUTLIER_LABEL = -1
OUTLIER_WEIGHT = 0.5  # the loss on a negative, relative to a digit's: cross-entropy to the uniform distribution
DRAW_SCALE = 4  # strokes, blobs and letters are drawn at 4x and brought to 28x28 the way the upload path does it
DRAW_SIDE = DIGIT_SIDE * DRAW_SCALE
UPLOAD_STYLE_FRACTION = 0.3  # share of the UPLOAD_FRAMED_KINDS also passed through the upload path's framing
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HELD_OUT_SIZE = 2000
MIRRORED_CLASSES = np.array([2, 3, 4, 5, 6, 7, 9])  # 0, 1 and 8 stay digits in a mirror
TURNED_CLASSES = np.array([1, 2, 3, 4, 5, 7])  # on their side 0 and 8 stay digit-like, 6 and 9 look like each other
OVERLAID_CLASSES = np.array([0, 2, 3, 4, 5, 6, 7, 8, 9])  # a 1 drawn over a digit mostly leaves that digit
UPLOAD_FRAMED_KINDS = ("uniform_noise", "gaussian_noise", "smooth_noise", "near_blank")

Generator = Callable[[np.random.Generator, int], np.ndarray]


def _pixels(values: np.ndarray) -> np.ndarray:
    """Float images -> uint8 raw pixels."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def uniform_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform noise up to a random peak, on a random share of the pixels."""
    peak = rng.uniform(20, 255, size=(n, 1, 1))
    density = rng.uniform(0.05, 1.0, size=(n, 1, 1))
    shape = (n, DIGIT_SIDE, DIGIT_SIDE)
    return _pixels(rng.uniform(0, 1, size=shape) * peak * (rng.random(shape) < density))


def gaussian_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Gaussian noise with a random mean and spread, clipped to 0..255."""
    mean = rng.uniform(0, 255, size=(n, 1, 1))
    spread = rng.uniform(5, 100, size=(n, 1, 1))
    return _pixels(rng.normal(mean, spread, size=(n, DIGIT_SIDE, DIGIT_SIDE)))


def smooth_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Coarse random grids (2x2 to 7x7) blown up to 28x28: smooth clouds, half of them cut into hard-edged blobs."""
    images = np.empty((n, DIGIT_SIDE, DIGIT_SIDE), dtype=np.uint8)
    for i in range(n):
        side = int(rng.integers(2, 8))
        coarse = Image.fromarray(rng.uniform(0, 255, size=(side, side)).astype(np.float32))
        cloud = np.asarray(coarse.resize((DIGIT_SIDE, DIGIT_SIDE), Image.Resampling.BICUBIC), dtype=np.float32)
        if rng.random() < 0.5:
            cloud = np.where(cloud > rng.uniform(80, 200), rng.uniform(100, 255), 0.0)
        images[i] = _pixels(cloud)
    return images


def _framed(canvas: Image.Image) -> np.ndarray:
    """A drawing at DRAW_SIDE -> 28x28 the upload path's way: crop to the ink, fit 20x20, centre by mass."""
    return _pixels(to_mnist_digit(np.asarray(canvas, dtype=np.float32)))


def strokes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Scribbles: a pen line through 4 to 8 random points, of a random width."""
    images = np.empty((n, DIGIT_SIDE, DIGIT_SIDE), dtype=np.uint8)
    for i in range(n):
        canvas = Image.new("L", (DRAW_SIDE, DRAW_SIDE))
        points = [tuple(p) for p in rng.uniform(8, DRAW_SIDE - 8, size=(int(rng.integers(4, 9)), 2))]
        ImageDraw.Draw(canvas).line(points, fill=255, width=int(rng.integers(6, 15)), joint="curve")
        images[i] = _framed(canvas)
    return images


def blobs(rng: np.random.Generator, n: int) -> np.ndarray:
    """One to four filled ellipses and rectangles, sometimes framed like an upload, sometimes where they fell."""
    images = np.empty((n, DIGIT_SIDE, DIGIT_SIDE), dtype=np.uint8)
    for i in range(n):
        canvas = Image.new("L", (DRAW_SIDE, DRAW_SIDE))
        draw = ImageDraw.Draw(canvas)
        for _ in range(int(rng.integers(1, 5))):
            corners = np.sort(rng.uniform(0, DRAW_SIDE, size=(2, 2)), axis=0)
            box = (corners[0, 0], corners[0, 1], corners[1, 0] + 4, corners[1, 1] + 4)
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape(box, fill=int(rng.integers(80, 256)))
        if rng.random() < 0.5:
            images[i] = _framed(canvas)
        else:
            images[i] = np.asarray(canvas.resize((DIGIT_SIDE, DIGIT_SIDE), Image.Resampling.BOX))
    return images


def blank(rng: np.random.Generator, n: int) -> np.ndarray:
    """Flat images: a third black, a sixth white, the rest one random grey level."""
    levels = rng.uniform(0, 255, size=n)
    kind = rng.random(n)
    levels = np.where(kind < 1 / 3, 0.0, np.where(kind < 0.5, 255.0, levels))
    return _pixels(np.broadcast_to(levels[:, None, None], (n, DIGIT_SIDE, DIGIT_SIDE)))


def near_blank(rng: np.random.Generator, n: int) -> np.ndarray:
    """Black images with a few stray dots or a faint haze."""
    shape = (n, DIGIT_SIDE, DIGIT_SIDE)
    dots = (rng.random(shape) < rng.uniform(0.001, 0.01, size=(n, 1, 1))) * rng.uniform(30, 255, size=shape)
    haze = rng.uniform(0, 1, size=shape) * rng.uniform(2, 40, size=(n, 1, 1))
    return _pixels(np.where(rng.random((n, 1, 1)) < 0.5, dots, haze))


DigitGenerator = Callable[[np.random.Generator, int, np.ndarray, np.ndarray], np.ndarray]


def _pick(rng: np.random.Generator, n: int, labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Indices of n random training digits whose class is in `classes`."""
    return rng.choice(np.flatnonzero(np.isin(labels, classes)), size=n)


def mirrored_digits(rng: np.random.Generator, n: int, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Training digits flipped left to right, from the classes a mirror turns into non-digits."""
    return images[_pick(rng, n, labels, MIRRORED_CLASSES)][:, :, ::-1].copy()


def turned_digits(rng: np.random.Generator, n: int, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Training digits turned a quarter, either way, from the classes that stop being digits on their side."""
    chosen = images[_pick(rng, n, labels, TURNED_CLASSES)]
    clockwise = rng.random(n) < 0.5
    return np.where(clockwise[:, None, None], np.rot90(chosen, -1, axes=(1, 2)), np.rot90(chosen, 1, axes=(1, 2)))


def overlaid_digits(rng: np.random.Generator, n: int, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Two training digits (no 1s) of different classes drawn over each other, each shifted a little."""
    first, second = _pick(rng, n, labels, OVERLAID_CLASSES), _pick(rng, n, labels, OVERLAID_CLASSES)
    same = labels[first] == labels[second]
    second[same] = _pick(rng, int(same.sum()), labels, OVERLAID_CLASSES)
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(2, n, 2))
    return np.maximum(shift_digits(images[first], shifts[0]), shift_digits(images[second], shifts[1]))


DIGIT_NEGATIVE_KINDS: dict[str, DigitGenerator] = {
    "mirrored_digits": mirrored_digits,
    "turned_digits": turned_digits,
    "overlaid_digits": overlaid_digits,
}

NEGATIVE_KINDS: dict[str, Generator] = {
    "uniform_noise": uniform_noise,
    "gaussian_noise": gaussian_noise,
    "smooth_noise": smooth_noise,
    "strokes": strokes,
    "blobs": blobs,
    "blank": blank,
    "near_blank": near_blank,
}


def _upload_framing(images: np.ndarray) -> np.ndarray:
    """The same images as the upload path would present them (cropped to the ink, 20x20, centred)."""
    return np.stack([_pixels(to_mnist_digit(image.astype(np.float32))) for image in images])


def make_negatives(n: int, seed: int, digits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """n training negatives, uint8 [n, 28, 28], an equal share of each kind, shuffled; reproducible from `seed`.

    `digits` and `labels` are the training digits the digit-derived kinds are made from.
    """
    rng = np.random.default_rng(seed)
    kinds = [*NEGATIVE_KINDS, *DIGIT_NEGATIVE_KINDS]
    shares = np.diff(np.linspace(0, n, len(kinds) + 1).round().astype(int))
    parts = []
    for name, size in zip(kinds, shares, strict=True):
        if name in DIGIT_NEGATIVE_KINDS:
            images = DIGIT_NEGATIVE_KINDS[name](rng, int(size), digits, labels)
        else:
            images = NEGATIVE_KINDS[name](rng, int(size))
        if name in UPLOAD_FRAMED_KINDS:
            framed = rng.random(len(images)) < UPLOAD_STYLE_FRACTION
            if framed.any():
                images[framed] = _upload_framing(images[framed])
        parts.append(images)
    return np.concatenate(parts)[rng.permutation(n)]


def font_files(folders: tuple[Path, ...] = FONT_FOLDERS) -> list[Path]:
    """The TrueType fonts of Debian's fonts-dejavu and fonts-liberation packages, sorted by name; on a machine
    without them, the DejaVu fonts bundled with matplotlib (model.json records which fonts were used)."""
    found = sorted(path for folder in folders if folder.is_dir() for path in folder.glob("*.ttf"))
    if found:
        return found
    bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return sorted(path for path in bundled.glob("DejaVu*.ttf") if "Display" not in path.stem)


def render_letters(fonts: list[Path]) -> np.ndarray:
    """Every capital and small letter in every font, drawn large and framed like an upload: uint8 [N, 28, 28]."""
    images = []
    for path in fonts:
        font = ImageFont.truetype(str(path), size=DRAW_SIDE * 3 // 4)
        for letter in LETTERS:
            canvas = Image.new("L", (DRAW_SIDE, DRAW_SIDE))
            ImageDraw.Draw(canvas).text((DRAW_SIDE / 2, DRAW_SIDE / 2), letter, fill=255, font=font, anchor="mm")
            images.append(_framed(canvas))
    return np.stack(images)


def held_out_families(mnist: Mnist, seed: int, fonts: list[Path], size: int = HELD_OUT_SIZE) -> dict[str, np.ndarray]:
    """The evaluation families, uint8 [N, 28, 28] each, generated apart from anything training saw."""
    rng = np.random.default_rng(seed)
    shape = (size, DIGIT_SIDE, DIGIT_SIDE)
    pick = np.linspace(0, len(mnist.x_test) - 1, size).astype(int)
    families = {"letters": render_letters(fonts)} if fonts else {}
    return families | {
        "uniform_noise": _pixels(rng.uniform(0, 256, size=shape) - 0.5),
        "gaussian_noise": _pixels(rng.normal(rng.uniform(64, 192, size=(size, 1, 1)), 48, size=shape)),
        "strokes": strokes(rng, size),
        "blank": blank(rng, size),
        "inverted_digits": 255 - mnist.x_test[pick],
    }
