"""Build the small, stratified dataset sample shipped in the package (gancourse/sample/) from a full copy.

Usage: python tools/make_sample.py /path/to/root   (a folder with MNIST/raw and FashionMNIST/raw)

The first TRAIN_PER_CLASS training and TEST_PER_CLASS test images of each class, in file order,
so the sample is reproducible from the official files.
"""
import sys
from pathlib import Path

import numpy as np
import torchvision

from gancourse.data import DATASETS, verify_files

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "gancourse" / "sample"  # package data (pyproject.toml)

TRAIN_PER_CLASS = 500  # 5,000 training images: enough for the MLP GAN to draw digits
TEST_PER_CLASS = 100  # 1,000 test images for quick evaluation


def stratified(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` items of each class, in file order."""
    keep = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    return np.sort(keep)


def main(root: str) -> None:
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for key, info in DATASETS.items():
        arrays = {}
        for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
            if not verify_files(key, Path(root), split):
                sys.exit(f"{info.torchvision_name} {split} files are missing under {root}")
            ds = getattr(torchvision.datasets, info.torchvision_name)(root, train=split == "train")
            images, labels = ds.data.numpy(), ds.targets.numpy().astype(np.uint8)
            idx = stratified(labels, per_class)
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images[idx], labels[idx]
        out = SAMPLE_DIR / f"{key}.npz"
        np.savez_compressed(out, **arrays)
        print(f"{out}: {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main(sys.argv[1])
