"""The public CMP facades dataset of the pix2pix paper (label map -> photo), for machines online.

Each file is a 256x512 JPEG: the photo on the left, the coloured label map on the right. The
archive (about 30 MB) is downloaded once into the data root and checked: SHA-256 against
``FACADES_SHA256`` when pinned, otherwise against the hash recorded at the first download
(``facades.sha256`` beside it), and the number of images per split.
"""
from __future__ import annotations

import os
import socket
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gancourse.data import DataError, display_path, resolve_root, sha256_of
from gancourse.pix2pix import Pairs

FACADES_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
FACADES_SHA256: str | None = None  # pin here once verified; until then the first download's hash is recorded
FACADES_SPLITS = {"train": 400, "val": 100, "test": 106}


def _online(timeout: float = 3.0) -> bool:
    if os.environ.get("GANCOURSE_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("efrosgans.eecs.berkeley.edu", 80), timeout=timeout).close()
        return True
    except OSError:
        return False


def download_facades(root: Path) -> None:
    """Download and extract the archive into ``root``, checking its SHA-256."""
    archive, record = root / "facades.tar.gz", root / "facades.sha256"
    root.mkdir(parents=True, exist_ok=True)
    print(f"downloading {FACADES_URL} into {display_path(root)} ...")
    urllib.request.urlretrieve(FACADES_URL, archive)
    digest = sha256_of(archive)
    expected = FACADES_SHA256 or (record.read_text().strip() if record.exists() else None)
    if expected and digest != expected:
        archive.unlink()
        raise DataError(f"the downloaded facades archive has SHA-256 {digest}, expected {expected}: "
                        "the download is damaged or the file changed upstream; try again")
    record.write_text(digest + "\n")
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(root, filter="data")  # refuses paths that leave root
        except TypeError:  # Python without extraction filters
            tar.extractall(root)


def load_facades(split: str = "train", root=None, *, size: int = 256, download: bool = True) -> Pairs:
    """Facades pairs: inputs = label maps, targets = photos, (N, 3, size, size) in [-1, 1].

    The CMP Facade Database (Tyleček and Šára, 2013; free for research), as the pix2pix authors
    repackaged it. Offline and not yet downloaded: a DataError that says how to get it.
    """
    if split not in FACADES_SPLITS:
        raise DataError(f"unknown facades split {split!r}; choose one of {', '.join(FACADES_SPLITS)}")
    root = resolve_root(root)[0]
    folder = root / "facades" / split
    if not folder.is_dir():
        if not (download and _online()):
            raise DataError(
                f"the facades dataset is not in {display_path(root / 'facades')} and this machine is offline. "
                f"On a machine with internet, run python -c \"from gancourse.facades import load_facades; "
                f"load_facades()\", or download {FACADES_URL} (about 30 MB) and extract it so that "
                f"{display_path(folder)}/1.jpg exists; then copy the folder here. Offline, use "
                "gancourse.pix2pix.load_pairs (pairs built from MNIST and Fashion-MNIST)")
        download_facades(root)
    files = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
    if len(files) != FACADES_SPLITS[split]:
        raise DataError(f"{display_path(folder)} has {len(files)} images, expected {FACADES_SPLITS[split]}: "
                        "the extraction is incomplete; delete the folder and load again")
    photos, labels = zip(*(_read_pair(f, size) for f in files))  # one file at a time: memory stays small
    return Pairs(torch.stack(labels), torch.stack(photos), torch.zeros(len(files), dtype=torch.long),
                 f"facades {split}")


def _read_pair(path: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One 256x512 file -> (photo, label map), each (3, size, size) in [-1, 1]."""
    pixels = torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy())
    image = pixels.permute(2, 0, 1).float() / 127.5 - 1  # (3, 256, 512): photo left, label map right
    if image.shape[1:] != (256, 512):
        raise DataError(f"{display_path(path)} is {image.shape[2]}x{image.shape[1]} pixels, expected 512x256 "
                        "(photo and label map side by side)")
    halves = image[:, :, :256].clone(), image[:, :, 256:].clone()  # copies: the file's tensor is freed
    if size != 256:
        halves = tuple(F.interpolate(h[None], size=(size, size), mode="bilinear", align_corners=False)[0]
                       for h in halves)
    return halves
