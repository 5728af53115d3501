"""Image datasets, offline-first: where the files come from, checking them, and batching.

Root resolution: an explicit ``root`` argument, else ``$GANCOURSE_DATA``, else the project's ``data/``
in a checkout or the user data folder when installed (:mod:`gancourse.paths`). Missing files are
downloaded through torchvision when online; offline, the small sample shipped inside the package
(``gancourse/sample/``) is used instead, with a warning that says how to get the full data.
"""
from __future__ import annotations

import hashlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
import torchvision
from torch import Tensor

from gancourse.paths import DATA_ORIGIN, DATA_ROOT, SAMPLE_DIR, display_path


class DataError(Exception):
    """A dataset that cannot be found, read or trusted; the message says how to fix it."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the course knows about one torchvision image dataset."""

    torchvision_name: str  # class in torchvision.datasets, also its folder under the root
    classes: tuple[str, ...]
    sha256: dict[str, str]  # extracted raw file -> SHA-256 (official releases)


_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_IDX_SIZES = {"train-images-idx3-ubyte": 47_040_016, "train-labels-idx1-ubyte": 60_008,
              "t10k-images-idx3-ubyte": 7_840_016, "t10k-labels-idx1-ubyte": 10_008}

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "MNIST", tuple(str(d) for d in range(10)),
        {"train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
         "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
         "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
         "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}),
    "fashion-mnist": DatasetInfo(
        "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        {"train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
         "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
         "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
         "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}),
}


@dataclass
class ImageData:
    """A dataset held in memory: images in [-1, 1] of shape (N, 1, 28, 28) and integer labels.

    An image folder (:mod:`gancourse.folders`) keeps its images as uint8 (N, C, H, W) in [0, 255],
    a quarter of the memory; :class:`Batches` converts each batch to [-1, 1].
    """

    images: Tensor
    labels: Tensor
    name: str
    split: str
    source: str  # where the files came from, in words
    classes: tuple[str, ...]
    imbalance: tuple[int, float] | None = None  # (class, fraction kept): gancourse.imbalance.make_imbalanced

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"ImageData({self.name} {self.split}: {len(self)} images "
                f"{tuple(self.images.shape[1:])}, from {self.source})")


def dataset_info(name: str) -> tuple[str, DatasetInfo]:
    """Normalise a dataset name ('MNIST', 'fashion_mnist', ...) and return it with its info."""
    key = name.lower().replace("_", "-").replace("fashionmnist", "fashion-mnist")
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return key, DATASETS[key]


def resolve_root(root: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Where dataset files live: ``root``, else ``$GANCOURSE_DATA``, else the default data root.

    The default is the project's ``data/`` in a checkout, the user data folder when installed.
    """
    if root is not None:
        return Path(root).expanduser(), "the root argument (--data-root)"
    if os.environ.get("GANCOURSE_DATA"):
        return Path(os.environ["GANCOURSE_DATA"]).expanduser(), "GANCOURSE_DATA"
    return DATA_ROOT, DATA_ORIGIN


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(name: str, root: Path, split: str) -> bool:
    """True if the split's raw files are present and intact; False if any is missing.

    A present file that is truncated or fails its SHA-256 raises :class:`DataError`.
    """
    key, info = dataset_info(name)
    raw = root / info.torchvision_name / "raw"
    paths = [raw / f for f in _IDX_FILES[split]]
    if not all(p.is_file() for p in paths):
        return False
    for p in paths:
        size, expected = p.stat().st_size, _IDX_SIZES[p.name]
        try:
            digest = sha256_of(p) if size == expected else None
        except OSError as err:
            raise DataError(f"{p} cannot be read ({err.strerror}); fix its permissions, or set "
                            f"GANCOURSE_DATA to a folder with a readable copy") from None
        problem = (f"is truncated ({size:,} bytes, expected {expected:,})" if size != expected
                   else "is corrupted (its SHA-256 does not match the official release)"
                   if digest != info.sha256[p.name] else None)
        if problem:
            raise DataError(f"{p} {problem}. Delete {raw} and run again to re-download it, "
                            f"or set GANCOURSE_DATA to a folder with an intact copy.")
    return True


def _online(torchvision_name: str, timeout: float = 3.0) -> bool:
    """Whether one of torchvision's mirrors for the dataset answers (never when GANCOURSE_OFFLINE=1).

    Each mirror is probed the way the download will reach it: its host, on the port of its scheme
    (Fashion-MNIST's only mirror is plain http, port 80; MNIST's first is https, port 443).
    """
    if os.environ.get("GANCOURSE_OFFLINE") == "1":
        return False
    for mirror in getattr(torchvision.datasets, torchvision_name).mirrors:
        url = urlparse(mirror)
        port = url.port or {"http": 80, "https": 443}.get(url.scheme)
        if url.hostname is None or port is None:
            continue
        try:
            socket.create_connection((url.hostname, port), timeout=timeout).close()
            return True
        except OSError:
            continue
    return False


def load_dataset(name: str = "mnist", split: str = "train", root: str | os.PathLike | None = None,
                 download: bool = True) -> ImageData:
    """Load a dataset split into memory as :class:`ImageData` (images in [-1, 1], with labels).

    Falls back to the shipped sample, with a warning, when the full files are absent and offline.
    """
    key, info = dataset_info(name)
    if split not in _IDX_FILES:
        raise DataError(f"unknown split {split!r}; choose 'train' or 'test'")
    root, origin = resolve_root(root)
    if origin in ("the root argument (--data-root)", "GANCOURSE_DATA") and not root.is_dir():  # explicit: must exist
        how = "create it or fix the path" + (", or unset GANCOURSE_DATA" if origin == "GANCOURSE_DATA" else "")
        where = "" if root.is_absolute() else f", read from the current folder {Path.cwd()}"
        raise DataError(f"the dataset root {root} (from {origin}{where}) is not a folder; {how}")
    if not verify_files(key, root, split):
        reason = "downloading is switched off"
        if download and _online(info.torchvision_name):
            try:
                getattr(torchvision.datasets, info.torchvision_name)(
                    str(root), train=split == "train", download=True)
            except Exception as err:  # noqa: BLE001 - any download failure means: use the sample
                reason = f"the download failed ({err})"
        elif download:
            reason = "this machine is offline"
        if not verify_files(key, root, split):
            where = f"{display_path(root)} (from {origin})"
            return _load_sample(key, info, split,
                                f"{info.torchvision_name} is not in {where} and {reason}")
    dataset = getattr(torchvision.datasets, info.torchvision_name)(
        str(root), train=split == "train", download=False)
    return ImageData(to_unit_range(dataset.data), dataset.targets.long(), key, split,
                     display_path(root / info.torchvision_name), info.classes)


def sample_path(key: str) -> Path:
    """The shipped sample of dataset ``key``."""
    return SAMPLE_DIR / f"{key}.npz"


def _load_sample(key: str, info: DatasetInfo, split: str, why: str) -> ImageData:
    """The small stratified sample shipped in the package (gancourse/sample/), announced with a warning."""
    path = sample_path(key)
    if not path.is_file():
        raise DataError(f"{why}, and the shipped sample {path} is missing. Connect to the internet "
                        f"once, or set GANCOURSE_DATA to a folder holding "
                        f"{info.torchvision_name}/raw/ (torchvision's layout).")
    try:
        with path.open("rb") as f, np.load(f, allow_pickle=False) as arrays:
            images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28) \
                or labels.shape != (len(images),):
            raise ValueError(f"unexpected arrays {images.dtype} {images.shape}, labels {labels.shape}")
    except Exception as err:  # noqa: BLE001 - truncated zip, missing key, wrong arrays: one message
        raise DataError(f"{why}, and the shipped sample {path} is damaged ({type(err).__name__}: {err}). "
                        f"Reinstall gancourse (in a checkout: git checkout -- gancourse/sample), or set "
                        f"GANCOURSE_DATA to a folder holding {info.torchvision_name}/raw/.") from None
    print(f"warning: {why}. Using the small sample shipped in {display_path(SAMPLE_DIR)} "
          f"({len(images):,} {split} images, stratified by class). For the full dataset, run once online or set "
          f"GANCOURSE_DATA to a folder holding {info.torchvision_name}/raw/.", file=sys.stderr)
    return ImageData(to_unit_range(torch.from_numpy(images)), torch.from_numpy(labels).long(),
                     key, split, f"shipped sample {path.name}", info.classes)


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 images (N, 28, 28) in [0, 255] -> float32 (N, 1, 28, 28) in [-1, 1], matching Tanh."""
    if images.dtype != torch.uint8 or images.dim() != 3:
        raise ValueError(f"expected uint8 images of shape (N, H, W), got {images.dtype} "
                         f"{tuple(images.shape)}")
    return images.float().div_(127.5).sub_(1.0).unsqueeze_(1)


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] of shape (N, 1, H, W) -> uint8 (N, H, W) in [0, 255]; colour images
    (N, 3, H, W) -> (N, H, W, 3), the layout of PIL and matplotlib."""
    pixels = ((images.detach().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).contiguous() if pixels.dim() == 4 and pixels.shape[1] == 3 else pixels.squeeze(1)


class Batches:
    """Random mini-batches drawn by index from in-memory tensors (images or toy samples).

    Each epoch is a fresh permutation seeded by ``(seed, epoch)``, so batch ``t`` is a pure function
    of ``t``: a resumed run sees exactly the batches an uninterrupted one would have. uint8 images
    (an image folder's) are converted to [-1, 1] batch by batch.

    With ``rank`` and ``world_size`` (several processes, :mod:`gancourse.distributed`), batch ``t`` is
    the same ``batch_size`` images in every process, and each process takes its own
    ``batch_size / world_size`` of them: together they train on exactly the batches one process would.
    """

    def __init__(self, images: Tensor, labels: Tensor | None = None, batch_size: int = 64,
                 seed: int = 0, device: torch.device | str | None = None, *,
                 rank: int = 0, world_size: int = 1) -> None:
        if images.dim() < 2:
            raise ValueError(f"expected samples of shape (N, ...) such as images (N, C, H, W), "
                             f"got {tuple(images.shape)}")
        if len(images) == 0:
            raise ValueError("expected at least one image, got an empty tensor")
        self.device = torch.device(device) if device is not None else images.device
        self.images = images.to(self.device)
        self.labels = (labels if labels is not None
                       else torch.zeros(len(images), dtype=torch.long)).to(self.device)
        self.batch_size = min(batch_size, len(images))
        if self.batch_size % world_size:
            raise ValueError(f"a batch of {self.batch_size} images cannot be split evenly over {world_size} "
                             f"processes: use a batch size divisible by {world_size}")
        self.steps_per_epoch = len(images) // self.batch_size
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self._epoch, self._perm = -1, None

    def __call__(self, step: int) -> tuple[Tensor, Tensor]:
        """The batch ``(x_real, labels)`` for training step ``step`` (0-based)."""
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(len(self.images), generator=gen)
        share = self.batch_size // self.world_size  # this process's part of the batch
        first = i * self.batch_size + self.rank * share
        idx = self._perm[first:first + share].to(self.device)
        images = self.images[idx]
        if images.dtype == torch.uint8:
            images = images.float().div_(127.5).sub_(1.0)
        return images, self.labels[idx]
