"""Images per second: the slides' per-item DataLoader against gancourse's in-memory batches.

Usage: python benchmarks/data_pipeline.py [--dataset mnist] [--batches 300]
Needs the full dataset files (a root from --data-root, $GANCOURSE_DATA or data/).
"""
import argparse
import sys
import time

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

from gancourse.data import Batches, dataset_info, load_dataset, resolve_root, verify_files


def rate(batches, n_batches: int) -> float:
    """Images per second drawing ``n_batches`` batches from an iterator of (x, y)."""
    it = iter(batches)
    next(it)  # warm-up: worker start-up and first-epoch shuffles are not steady state
    start, count = time.perf_counter(), 0
    for _ in range(n_batches):
        x, _ = next(it)
        count += len(x)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data-root")
    args = parser.parse_args()
    key, info = dataset_info(args.dataset)
    root, _ = resolve_root(args.data_root)
    if not verify_files(key, root, "train"):
        sys.exit(f"the full {info.torchvision_name} is not in {root}; set GANCOURSE_DATA or --data-root")

    rows = []
    for workers in (0, 2):
        start = time.perf_counter()
        dataset = getattr(torchvision.datasets, info.torchvision_name)(
            str(root), train=True, transform=transforms.Compose(
                [transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]))
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=workers)
        rows.append((f"slides: DataLoader, ToTensor+Normalize per item, {workers} workers",
                     time.perf_counter() - start, rate(loader, args.batches)))

    start = time.perf_counter()
    data = load_dataset(key, "train", root=root)
    batches = Batches(data.images, data.labels, args.batch_size, seed=0)
    setup = time.perf_counter() - start
    rows.append(("gancourse: in-memory tensors, index sampling", setup,
                 rate((batches(t) for t in range(10**9)), args.batches)))

    base = rows[0][2]
    print(f"{info.torchvision_name} train, batch {args.batch_size}, {args.batches} batches, "
          f"{torch.get_num_threads()} threads")
    print(f"{'pipeline':<62} {'setup s':>8} {'images/s':>12} {'x slides':>9}")
    for name, setup, r in rows:
        print(f"{name:<62} {setup:>8.2f} {r:>12,.0f} {r / base:>9.1f}")


if __name__ == "__main__":
    main()
