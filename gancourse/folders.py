"""Your own images: a folder tree of JPEG/PNG files, decoded once into a uint8 cache.

``load_folder("photos/", image_size=64)`` finds every image under the folder, resizes its shorter side
to ``image_size`` and crops the centre square (the usual DCGAN preprocessing, as in PyTorch's example),
converts it to RGB (or greyscale with ``channels=1``) and keeps the result as uint8 (N, C, H, W): a
quarter of float32's memory (CelebA's 200,000 faces at 64x64x3: 2.5 GB instead of 10 GB). Training
converts each batch to [-1, 1] on the way (:class:`gancourse.data.Batches`).

The decoded images are cached in the course's cache folder under a name made from the folder's
files (paths, sizes, modification times) and the settings, so the second run starts at once and a
changed folder is decoded again. Files that cannot be decoded are skipped and counted. Images in
first-level subfolders get the subfolder's index as their label (``faces/cats/``, ``faces/dogs/``);
images with no subfolder get label 0.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from gancourse.checkpoint import atomic_write
from gancourse.data import DataError, ImageData
from gancourse.paths import CACHE_DIR, display_path

PREFIX = "folder:"  # --dataset folder:PATH
IMAGE_SIZES = (32, 64)  # what the DCGAN layouts generate (28 stays MNIST's)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def is_folder(dataset: str) -> bool:
    """Whether a dataset name points at an image folder (``folder:PATH``)."""
    return isinstance(dataset, str) and dataset.startswith(PREFIX)


def folder_of(dataset: str) -> Path:
    """The folder of ``folder:PATH``."""
    return Path(dataset[len(PREFIX):]).expanduser()


def find_images(folder: Path) -> list[Path]:
    """Every file with an image extension under ``folder``, sorted, hidden folders left out."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in sorted(files)
                  if f.lower().endswith(EXTENSIONS) and not f.startswith(".")]
    return found


def load_folder(folder: str | os.PathLike, image_size: int = 32, channels: int = 3, *,
                cache_dir: str | os.PathLike | None = None, progress: bool = True) -> ImageData:
    """The images under ``folder`` as uint8 :class:`ImageData` (N, channels, image_size, image_size).

    Decoded once with a progress bar and cached; unreadable files are skipped and counted, and a
    folder without one readable image is a :class:`DataError` that says what was found instead.
    """
    folder = Path(folder).expanduser()
    if image_size not in IMAGE_SIZES:
        raise DataError(f"image_size must be one of {', '.join(map(str, IMAGE_SIZES))} for an image folder, "
                        f"got {image_size!r}")
    if channels not in (1, 3):
        raise DataError(f"channels must be 3 (RGB) or 1 (greyscale), got {channels!r}")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; pass --dataset folder:PATH with a folder of JPEG or PNG images")
    files = find_images(folder)
    if not files:
        others = sum(len(f) for _, _, f in os.walk(folder))
        raise DataError(f"{folder} holds no images ({others} other files); put JPEG or PNG files "
                        f"({', '.join(EXTENSIONS[:3])} ...) in it or in its subfolders")
    key = _cache_key(folder, files, image_size, channels)
    path = Path(cache_dir or CACHE_DIR) / "folders" / f"{folder.resolve().name or 'root'}-{image_size}px-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as arrays:
                images, labels = arrays["images"], arrays["labels"]
                classes, skipped = tuple(str(c) for c in arrays["classes"]), int(arrays["skipped"])
            return _as_data(folder, images, labels, classes, f"cache {path.name}", skipped)
        except Exception as err:  # noqa: BLE001 - a damaged cache is decoded again
            print(f"warning: the cache {path.name} is damaged ({type(err).__name__}); decoding again",
                  file=sys.stderr)
    images, labels, classes, report = decode(folder, files, image_size, channels, progress)
    atomic_write(path, lambda f: np.savez(f, images=images, labels=labels, classes=np.array(classes),
                                          skipped=np.array(report["skipped"])))
    print(f"{folder.name}: {len(images):,} images decoded in {report['seconds']:.1f} s "
          f"({len(images) / max(report['seconds'], 1e-9):,.0f} images/s); {report['sizes']}; cached in "
          f"{display_path(path)} ({path.stat().st_size / 2**20:.1f} MiB)")
    return _as_data(folder, images, labels, classes, display_path(folder), report["skipped"])


def decode(folder: Path, files: list[Path], image_size: int, channels: int,
           progress: bool = True) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], dict]:
    """Decode, resize and centre-crop ``files``: uint8 (N, C, S, S), labels, class names, and a report
    (files skipped, sizes seen, seconds)."""
    from PIL import Image, ImageOps

    from gancourse.run import progress_bar

    classes = _classes(folder, files)
    mode = "RGB" if channels == 3 else "L"
    images = np.empty((len(files), image_size, image_size, channels), dtype=np.uint8)
    labels, sizes, bad, n = np.empty(len(files), dtype=np.int64), Counter(), [], 0
    start = time.perf_counter()
    for file in progress_bar(files, desc=f"decoding {folder.name or folder}", unit="image", disable=not progress):
        try:
            with Image.open(file) as image:
                image.draft(mode, (image_size * 2, image_size * 2))  # JPEG: decode at a fraction of full size
                sizes[image.size] += 1
                square = ImageOps.fit(image.convert(mode), (image_size, image_size), Image.Resampling.LANCZOS)
                pixels = np.asarray(square, dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):  # unreadable or not an image
            bad.append(file)
            continue
        images[n] = pixels.reshape(image_size, image_size, channels)
        labels[n] = classes.index(_class_of(folder, file))
        n += 1
    seconds = time.perf_counter() - start
    if bad:
        names = ", ".join(display_path(f) for f in bad[:3]) + (" ..." if len(bad) > 3 else "")
        print(f"warning: skipped {len(bad)} of {len(files)} files that are not readable images ({names})",
              file=sys.stderr)
    if n == 0:
        raise DataError(f"none of the {len(files)} image files under {folder} could be read; they may be "
                        f"damaged or not images (first: {display_path(bad[0])})")
    images, labels = np.ascontiguousarray(images[:n].transpose(0, 3, 1, 2)), labels[:n]
    used = sorted(set(labels.tolist()))  # classes whose every file was unreadable disappear
    classes = tuple(classes[i] for i in used)
    labels = np.searchsorted(np.array(used), labels)
    return images, labels, classes, {"skipped": len(bad), "seconds": seconds,
                                     "sizes": describe_sizes(sizes, image_size)}


def describe_sizes(sizes: Counter, image_size: int) -> str:
    """The sizes seen, in words: one size, or a range when they are mixed (all are made square)."""
    if len(sizes) == 1:
        (w, h), = sizes
        what = "resized" if w == h else "resized and centre-cropped"
        return f"all {w}x{h}, {what} to {image_size}x{image_size}"
    areas = sorted(sizes, key=lambda s: s[0] * s[1])
    (w0, h0), (w1, h1) = areas[0], areas[-1]
    return (f"{len(sizes)} different sizes from {w0}x{h0} to {w1}x{h1}, each resized (shorter side) and "
            f"centre-cropped to {image_size}x{image_size}")


def _class_of(folder: Path, file: Path) -> str:
    parts = file.relative_to(folder).parts
    return parts[0] if len(parts) > 1 else "."


def _classes(folder: Path, files: list[Path]) -> list[str]:
    return sorted({_class_of(folder, f) for f in files})


def _cache_key(folder: Path, files: list[Path], image_size: int, channels: int) -> str:
    digest = hashlib.sha256(f"{image_size} {channels} v1".encode())
    for f in files:
        stat = f.stat()
        digest.update(f"{f.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _as_data(folder: Path, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], source: str,
             skipped: int) -> ImageData:
    note = f", {skipped} unreadable file{'s' if skipped > 1 else ''} skipped" if skipped else ""
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels).long(), f"{PREFIX}{folder}", "train",
                     source + note, classes)
