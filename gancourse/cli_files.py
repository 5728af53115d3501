"""The command line's files: output paths it can write, .npz files it reads, with one-line errors.

Every problem is a :class:`UsageError` whose message names the file, what is wrong and the fix; the
CLI prints it on one line and exits with code 2.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from gancourse.checkpoint import atomic_write


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


MAX_SAMPLES = 1_000_000  # per sample or evaluate call: 0.8 GB as uint8, 3 GB as floats
MIN_EVALUATE = 50  # FID, KID and the per-class spread need a few dozen images to mean anything


GENERATOR_HINT = "its training diverged? Retrain it, or use an earlier run"
POINTS_NOT_FINITE = "points with NaN or infinite coordinates"
RUN_FILES = ("checkpoint.pt", "config.json", "history.csv", "samples.png", "losses.png", "progress.gif")


def writable_dir(path: Path) -> Path:
    """``path`` as a folder this process could create and write into, or a UsageError. Nothing is
    created here, so a command that fails later leaves no empty folder behind."""
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder} is an existing file, not a folder; choose another path")
    existing = next(folder for folder in (path, *path.parents) if folder.exists() or folder == Path(folder.anchor))
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise UsageError(f"cannot write into {existing} ({err.strerror}); choose a writable location") from None
    return path


def output_file(path: Path, suffix: str, protect: tuple = ()) -> Path:
    """Where an output file will go (``suffix`` added if missing), or a UsageError: never a folder,
    never a file of a run directory, never one of the command's inputs (``protect``)."""
    if path.is_dir() or path.suffix != suffix and path.with_name(path.name + suffix).is_dir():
        raise UsageError(f"{path} is a directory; name a file such as {path / ('out' + suffix)}")
    if path.suffix != suffix:
        path = path.with_name(path.name + suffix)
    if path.name in RUN_FILES and (path.parent / "checkpoint.pt").exists():
        raise UsageError(f"{path} belongs to the run in {path.parent}; write the output elsewhere")
    if any(path.exists() and Path(p).exists() and path.resolve() == Path(p).resolve() for p in protect):
        raise UsageError(f"{path} is this command's input; write the output to another file")
    writable_dir(path.parent)
    return path


def write_npz(path: Path, **arrays) -> None:
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def read_npz(path: Path, what: str = "images", key: str = "images") -> dict:
    """The arrays of an .npz file written by numpy, holding ``key``, or a one-line UsageError saying
    what is wrong."""
    if not path.is_file():
        kind = "uint8 " if key == "images" else ""
        raise UsageError(f"{path} is not a file; pass an .npz with {kind}{what} under key '{key}'")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a single array")
        with npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line message
        detail = ("it holds a single array" if str(err) == "a single array"
                  else "it holds Python objects, not numbers" if "Object arrays" in str(err)
                  else "not a zip archive of arrays" if "pickle" in str(err) or "zip" in str(err).lower()
                  else f"{type(err).__name__}: {err}")
        raise UsageError(f"cannot read {path} as an .npz file ({detail}); write one with np.savez or "
                         f"python -m gancourse sample") from None
    if key not in arrays:
        raise UsageError(f"{path} has no '{key}' array (keys: {', '.join(arrays) or 'none'}); "
                         "write one with: python -m gancourse sample")
    return arrays


def read_points(path: Path) -> torch.Tensor:
    """2-D points (N, 2), float32, from the key 'points' of an .npz file (sample of a toy-gan run)."""
    points = read_npz(path, "2-D points", key="points")["points"]
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0 \
            or not np.issubdtype(points.dtype, np.floating):
        raise UsageError(f"expected float points of shape (N, 2), N >= 1, under 'points' in {path}, "
                         f"got {points.dtype} {points.shape}")
    if len(points) > MAX_SAMPLES:
        raise UsageError(f"{path} holds {len(points):,} points; evaluate at most {MAX_SAMPLES:,} at once")
    x = torch.from_numpy(points.astype(np.float32))
    refuse_non_finite(x, str(path), "replace or drop those points", POINTS_NOT_FINITE)
    return x


def refuse_non_finite(images: torch.Tensor, source: str, hint: str = "replace or drop those images",
                      what: str = "images with NaN or infinite pixels") -> None:
    """A UsageError if any image (or point: ``what``) has a NaN or infinite entry."""
    bad = (~torch.isfinite(images.flatten(1))).any(1).sum().item()
    if bad:
        raise UsageError(f"{source} gave {bad:,} of {len(images):,} {what}; {hint}")


def read_samples(path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images in [-1, 1] (N, 1, 28, 28) and labels (None if absent or all -1) from an .npz file."""
    arrays = read_npz(path)
    images, labels = arrays["images"], arrays.get("labels")
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise UsageError(f"expected images of shape (N, 28, 28) in {path}, got {images.shape}")
    check_count(len(images), str(path))
    if images.dtype == np.uint8:
        x = torch.from_numpy(images).float().div(127.5).sub(1)
    elif np.issubdtype(images.dtype, np.floating):
        x = torch.from_numpy(images.astype(np.float32))
        refuse_non_finite(x, str(path))
        if x.min() < -1.001 or x.max() > 1.001:
            raise UsageError(f"float images in {path} must lie in [-1, 1]; save uint8 0..255 otherwise")
        if x.min() >= 0:  # no dark pixel below 0: these are [0, 1] images, which would read as grey
            raise UsageError(f"float images in {path} lie in [0, 1]; the course's float images are in [-1, 1] "
                             f"(convert with x * 2 - 1), or save uint8 0..255")
    else:
        raise UsageError(f"expected uint8 (0..255) or float ([-1, 1]) images in {path}, got {images.dtype}")
    return x.unsqueeze(1), check_labels(labels, len(images), path)


def check_count(n: int, where: str) -> None:
    """Refuse too few images for the metrics to mean anything, or more than memory holds."""
    if n < MIN_EVALUATE:
        raise UsageError(f"{where}: {n:,} images, but evaluate needs at least {MIN_EVALUATE} for FID and "
                         f"KID to mean anything (the GAN paper uses 10,000)")
    need, free = n * 28 * 28 * 4 * 4, available_memory()  # float images and a few working copies
    if n > MAX_SAMPLES or (free is not None and need > free):
        limit = MAX_SAMPLES if free is None else min(MAX_SAMPLES, free // (28 * 28 * 16))
        raise UsageError(f"{where}: {n:,} images, but this machine can evaluate at most about {limit:,} "
                         f"at once (the GAN paper uses 10,000)")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def check_labels(labels, n: int, path: Path, num_classes: int = 10) -> torch.Tensor | None:
    """Labels as a tensor, None when absent or all -1 (unlabelled); anything else is a UsageError."""
    if labels is None:
        return None
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise UsageError(f"'labels' in {path} must be integers of shape (N,), got {labels.dtype} "
                         f"{labels.shape}")
    if len(labels) != n:
        raise UsageError(f"{path} has {n} images but {len(labels)} labels")
    if (labels == -1).all():
        return None
    bad = sorted(set(labels[(labels < 0) | (labels >= num_classes)].tolist()))
    if bad:
        raise UsageError(f"labels in {path} must be 0..{num_classes - 1} (or all -1 for unlabelled), "
                         f"got {bad[:5]}")
    return torch.from_numpy(labels.astype(np.int64))
