"""Your own images: a folder of JPEG/PNG files decoded once into a uint8 cache, the DCGAN paper's
32x32 and 64x64 layouts, and the command line on a folder. Every folder is drawn here with PIL."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from gancourse.cli import main
from gancourse.data import Batches, DataError, to_uint8
from gancourse.folders import load_folder
from gancourse.models import build_models


def draw_folder(root, n: int = 24, sizes=((40, 40),), grey: bool = False, classes=("circles", "squares")):
    """n coloured shapes on plain backgrounds, spread over one subfolder per class."""
    rng = np.random.default_rng(0)
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        image = Image.new("RGB", (w, h), tuple(int(c) for c in rng.integers(0, 256, 3)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw = ImageDraw.Draw(image)
        box = [w // 4, h // 4, 3 * w // 4, 3 * h // 4]
        kind = classes[i % len(classes)]
        (draw.ellipse if kind == "circles" else draw.rectangle)(box, fill=colour)
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        (image.convert("L") if grey else image).save(folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    return root


def test_a_folder_is_decoded_resized_cropped_and_labelled_by_subfolder(tmp_path, capsys):
    folder = draw_folder(tmp_path / "shapes", sizes=((40, 40), (60, 30)))
    data = load_folder(folder, 32, cache_dir=tmp_path / "cache", progress=False)
    assert data.images.dtype == torch.uint8 and data.images.shape == (24, 3, 32, 32)
    assert data.classes == ("circles", "squares") and data.labels.tolist() == [0] * 12 + [1] * 12
    assert "2 different sizes from 40x40 to 60x30" in capsys.readouterr().out
    # squares/001.png is 60x30: its shorter side becomes 32, then the centre 32 columns are kept, so the
    # crop's centre is the rectangle's colour and its top-left corner the background's
    original = np.asarray(Image.open(folder / "squares" / "001.png"))
    decoded = data.images[12].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(decoded[16, 16] - original[15, 30]).max() <= 2  # inside the rectangle
    assert np.abs(decoded[1, 1] - original[1, 16]).max() <= 2  # the background above it
    assert np.abs(original[15, 30].astype(int) - original[1, 16]).max() > 10  # two different colours


def test_the_cache_is_reused_and_a_changed_folder_decoded_again(tmp_path, capsys):
    folder = draw_folder(tmp_path / "shapes")
    first = load_folder(folder, 32, cache_dir=tmp_path / "cache", progress=False)
    assert "decoded" in capsys.readouterr().out
    again = load_folder(folder, 32, cache_dir=tmp_path / "cache", progress=False)
    assert "decoded" not in capsys.readouterr().out and "cache" in again.source
    assert torch.equal(first.images, again.images)
    Image.new("RGB", (40, 40), (255, 0, 0)).save(folder / "circles" / "new.png")
    assert len(load_folder(folder, 32, cache_dir=tmp_path / "cache", progress=False)) == 25


def test_greyscale_and_64_pixels(tmp_path):
    folder = draw_folder(tmp_path / "grey", grey=True, classes=("all",))
    data = load_folder(folder, 64, channels=1, cache_dir=tmp_path / "cache", progress=False)
    assert data.images.shape == (24, 1, 64, 64) and data.labels.unique().tolist() == [0]


def test_unreadable_files_are_skipped_and_counted(tmp_path, capsys):
    folder = draw_folder(tmp_path / "shapes", n=4)
    (folder / "circles" / "broken.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("not an image file at all")  # no image extension: not looked at
    data = load_folder(folder, 32, cache_dir=tmp_path / "cache", progress=False)
    assert len(data) == 4 and "1 unreadable file skipped" in data.source
    assert "skipped 1 of 5 files" in capsys.readouterr().err


@pytest.mark.parametrize("make, message", [
    (lambda p: p.mkdir(), "holds no images"),
    (lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), r"holds no images \(1 other files\)"),
    (lambda p: (p.mkdir(), (p / "a.png").write_bytes(b"x")), "none of the 1 image files"),
    (lambda p: None, "is not a folder"),
])
def test_a_folder_without_readable_images_is_one_clear_error(tmp_path, make, message):
    make(tmp_path / "photos")
    with pytest.raises(DataError, match=message):
        load_folder(tmp_path / "photos", 32, cache_dir=tmp_path / "cache", progress=False)


def test_uint8_batches_arrive_in_minus_one_to_one():
    images = torch.tensor([0, 255, 128], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 3, 2, 2).contiguous()
    x, _ = Batches(images, batch_size=3, seed=0)(0)
    assert x.dtype == torch.float32 and sorted(x[:, 0, 0, 0].tolist()) == [-1.0, pytest.approx(0.00392, abs=1e-4), 1.0]


def test_colour_images_become_channels_last_uint8():
    x = torch.zeros(2, 3, 4, 4)
    x[:, 0] = 1  # red
    pixels = to_uint8(x)
    assert pixels.shape == (2, 4, 4, 3) and pixels[0, 0, 0].tolist() == [255, 128, 128]
    assert to_uint8(torch.zeros(2, 1, 4, 4)).shape == (2, 4, 4)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_paper_layouts(size, channels):
    G, D = build_models("dcgan", width=64, channels=channels, image_size=size)
    x = G(torch.randn(5, 100))
    assert x.shape == (5, channels, size, size) and x.abs().max() <= 1
    assert D(x).shape == (5,)
    assert not any(isinstance(m, torch.nn.Dropout2d) for m in D.modules())  # the paper's D has none
    packed = build_models("dcgan", width=64, channels=channels, image_size=size, d_pack=2)[1]
    assert packed(x[:4]).shape == (2,)
    with pytest.raises(ValueError, match="expected images of shape"):
        D(torch.zeros(2, channels, 28, 28))


def test_dcgan_refuses_sizes_it_has_no_layout_for():
    with pytest.raises(ValueError, match="28, 32, 64"):
        build_models("dcgan", image_size=48)
    with pytest.raises(ValueError, match="too narrow"):
        build_models("dcgan", image_size=64, width=4)


def test_cli_trains_samples_and_refuses_on_a_folder(tmp_path, capsys):
    folder = draw_folder(tmp_path / "shapes", n=40)
    out, npz = tmp_path / "run", tmp_path / "s.npz"
    assert main(["train", "dcgan", "--dataset", f"folder:{folder}", "--image-size", "64", "--profile", "quick",
                 "--steps", "3", "--out", str(out)]) == 0
    assert main(["sample", str(out), "--n", "6", "--out", str(npz)]) == 0
    assert np.load(npz)["images"].shape == (6, 64, 64, 3)
    assert main(["train", "dcgan", "--dataset", f"folder:{folder}", "--channels", "1", "--profile", "quick",
                 "--steps", "3", "--out", str(tmp_path / "grey")]) == 0
    assert main(["sample", str(tmp_path / "grey"), "--n", "6", "--out", str(npz)]) == 0
    assert np.load(npz)["images"].shape == (6, 32, 32)
    capsys.readouterr()
    for argv, message in [
        (["train", "mlp-gan", "--dataset", f"folder:{folder}", "--out", "x"], "train dcgan"),
        (["train", "dcgan", "--dataset", "mnist", "--image-size", "32", "--out", "x"], "folder:PATH"),
        (["train", "dcgan", "--dataset", "folder:", "--out", "x"], "a folder of images after 'folder:'"),
        (["train", "dcgan", "--dataset", f"folder:{tmp_path / 'none'}", "--profile", "quick", "--out",
          str(tmp_path / "r2")], "is not a folder"),
        (["evaluate", str(npz), "--dataset", f"folder:{folder}"], "GANCOURSE_INCEPTION_WEIGHTS"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
