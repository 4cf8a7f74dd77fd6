import numpy as np
import pytest

from app.core.explain import occlude, occlusion_masks, sensitivity_maps


def test_masks_tile_a_digit_with_overlapping_7x7_patches() -> None:
    masks = occlusion_masks((28, 28))  # starts 0, 4, ..., 20 and 21 for the edge, in both directions
    assert masks.shape == (49, 28, 28)
    assert (masks.sum(axis=(1, 2)) == 49).all()
    assert masks.any(axis=0).all()  # every pixel is blanked by some patch


def test_masks_reach_the_far_edge_when_the_stride_does_not() -> None:
    masks = occlusion_masks((11, 11), patch=4, stride=3)  # starts 0, 3, 6 and then 7 for the edge
    assert masks.shape == (16, 11, 11)
    assert masks.any(axis=0).all()
    assert masks[-1, 7:, 7:].all()


@pytest.mark.parametrize(("patch", "stride"), [(0, 1), (29, 1), (7, 0)])
def test_masks_refuse_impossible_patches(patch: int, stride: int) -> None:
    with pytest.raises(ValueError, match="patch must be"):
        occlusion_masks((28, 28), patch, stride)


def test_occlude_blanks_one_patch_per_row_and_keeps_the_input() -> None:
    pixels = np.random.default_rng(0).uniform(1, 255, size=(2, 6, 6)).astype(np.float32)
    original = pixels.copy()
    masks = occlusion_masks((6, 6), patch=3, stride=3)
    occluded = occlude(pixels, masks)
    assert occluded.shape == (8, 6, 6) and occluded.dtype == np.float32
    for image in range(2):
        for patch in range(4):
            row = occluded[image * 4 + patch]
            assert (row[masks[patch]] == 0).all()
            np.testing.assert_array_equal(row[~masks[patch]], pixels[image][~masks[patch]])
    np.testing.assert_array_equal(pixels, original)


def test_map_credits_each_pixel_with_the_drop_of_the_patch_over_it() -> None:
    masks = occlusion_masks((4, 4), patch=2, stride=2)  # four disjoint quadrants
    maps = sensitivity_maps(np.array([0.9]), np.array([[0.5, 0.9, 0.9, 1.0]]), masks)
    expected = np.array([[0.4, 0.4, 0, 0], [0.4, 0.4, 0, 0], [0, 0, -0.1, -0.1], [0, 0, -0.1, -0.1]])
    np.testing.assert_allclose(maps[0], expected, atol=1e-6)


def test_overlapping_patches_are_averaged() -> None:
    masks = occlusion_masks((3, 3), patch=2, stride=1)  # four patches, all covering the centre
    drops = np.array([0.4, 0.0, 0.0, 0.0])
    maps = sensitivity_maps(np.array([1.0]), 1.0 - drops[None], masks)
    assert maps[0, 0, 0] == pytest.approx(0.4)  # only patch 0 covers the corner
    assert maps[0, 0, 1] == pytest.approx(0.2)  # patches 0 and 1
    assert maps[0, 1, 1] == pytest.approx(0.1)  # all four
    assert maps[0, 2, 2] == pytest.approx(0.0)


def test_maps_are_one_per_image() -> None:
    masks = occlusion_masks((28, 28))
    occluded = np.random.default_rng(1).uniform(size=(5, len(masks)))
    maps = sensitivity_maps(np.ones(5), occluded, masks)
    assert maps.shape == (5, 28, 28)
    for index in range(5):
        alone = sensitivity_maps(np.ones(1), occluded[index : index + 1], masks)
        np.testing.assert_allclose(maps[index], alone[0], rtol=1e-6)
