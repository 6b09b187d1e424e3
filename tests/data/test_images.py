"""Every image mode Pillow can hand back decodes to the right 8-bit RGB, or is refused naming the file."""

import numpy as np
import pytest
from PIL import Image

from pe_lab.data.images import DataError, decode_image, load_image_folder


def _grey16(path):
    values = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)   # 0 .. 65472
    Image.fromarray(values).save(path)
    return values


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    values = _grey16(tmp_path / "g.png")
    assert Image.open(tmp_path / "g.png").mode.startswith("I")
    decoded = decode_image(tmp_path / "g.png")
    expected = np.round(values / 65535 * 255).astype(np.uint8)
    assert decoded.shape == (3, 32, 32)
    assert np.array_equal(decoded[0].numpy(), expected) and np.array_equal(decoded[2].numpy(), expected)
    assert decoded.float().mean() < 200  # the bug decoded this gradient as a white image (mean 255)


def test_transparent_pixels_show_black_not_the_colour_stored_beneath(tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 200                      # red stored everywhere ...
    rgba[:4, :, 3] = 255                    # ... visible in the top half only
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    decoded = decode_image(tmp_path / "a.png")
    assert (decoded[0, :4] == 200).all() and (decoded[0, 4:] == 0).all()
    Image.fromarray(rgba[..., [0, 3]], "LA").save(tmp_path / "la.png")
    assert (decode_image(tmp_path / "la.png")[:, 4:] == 0).all()
    palette = Image.fromarray(np.array([[0, 1], [1, 0]], dtype=np.uint8), "P")
    palette.putpalette([255, 255, 255, 10, 20, 30] + [0] * 762)
    palette.save(tmp_path / "p.png", transparency=0)
    assert decode_image(tmp_path / "p.png")[:, 0, 0].tolist() == [0, 0, 0]
    assert decode_image(tmp_path / "p.png")[:, 0, 1].tolist() == [10, 20, 30]


def test_cmyk_and_grey_become_rgb(tmp_path):
    Image.new("CMYK", (4, 4), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    assert decode_image(tmp_path / "c.jpg").float().mean() > 240  # no ink: white
    Image.new("L", (4, 4), 77).save(tmp_path / "l.png")
    assert decode_image(tmp_path / "l.png").unique().tolist() == [77]


@pytest.mark.parametrize("mode,dtype,message", [("I", np.int32, "32-bit integer"), ("F", np.float32, "floating-point")])
def test_images_of_unknown_scale_are_refused_by_name(tmp_path, mode, dtype, message):
    Image.fromarray(np.full((4, 4), 3, dtype=dtype)).save(tmp_path / "x.tif")
    with pytest.raises(DataError, match=f"x.tif is a {message} image .*convert it to 8-bit RGB"):
        decode_image(tmp_path / "x.tif")


def test_a_folder_with_a_16_bit_image_trains_on_its_real_pixels(tmp_path, monkeypatch):
    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path / "cache"))
    for cls in ("a", "b"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        _grey16(tmp_path / "data" / cls / "0.png")
    images = load_image_folder(tmp_path / "data").images
    assert images.dtype.is_floating_point is False and images.float().mean() < 200


def test_other_files_in_a_class_folder_are_counted_in_a_warning_and_webp_tif_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("PE_LAB_CACHE", str(tmp_path / "cache"))
    for cls in ("a", "b"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        Image.new("RGB", (32, 32), (9, 9, 9)).save(tmp_path / "data" / cls / "0.webp")
        Image.new("RGB", (32, 32), (9, 9, 9)).save(tmp_path / "data" / cls / "1.tif")
    (tmp_path / "data" / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "data" / "a" / ".DS_Store").write_text("litter")
    with pytest.warns(UserWarning, match="1 file\\(s\\) that are not images were skipped \\(.txt"):
        images = load_image_folder(tmp_path / "data").images
    assert images.shape == (4, 3, 32, 32)
