"""Checkpoints: models, optimisers, history, config and RNG state in one file, written atomically."""
from __future__ import annotations

import errno
import os
import random
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch


class CheckpointError(Exception):
    """A checkpoint that is missing, unreadable or does not fit the models; says what to do."""


def capture_rng() -> dict:
    """The state of every random number generator a training step draws from."""
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Put back what :func:`capture_rng` captured."""
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_write(path: str | os.PathLike, write: Callable, mode: str = "wb") -> Path:
    """Create ``path`` through ``write(file)`` so that readers see the old file or the new, never half.

    The data goes to a fresh temporary file beside the target (created exclusively, with an
    unpredictable name, so no file or link placed there beforehand is followed), then replaces it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")  # short: any name fits
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file would be, not mkstemp's 0600
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": "", "encoding": "utf-8"})) as f:
            try:
                write(f)
            except RuntimeError as err:  # torch.save reports a full disk as a RuntimeError
                raise OSError(errno.ENOSPC if "pos" in str(err) else errno.EIO,
                              f"writing {path} failed ({str(err).splitlines()[0][:120]})", str(path)) from None
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text), mode="w")


def save_checkpoint(path: str | os.PathLike, **state) -> None:
    """Write ``state`` (tensors, state dicts, plain Python values) to ``path`` atomically.

    An interruption mid-write never leaves a half-written checkpoint in place of the last good one.
    """
    atomic_write(path, lambda f: torch.save(state, f))


@contextmanager
def lock_run_dir(run_dir: str | os.PathLike | None) -> Iterator[None]:
    """Hold ``run_dir`` for one training process; a second one gets a clear CheckpointError."""
    if run_dir is None:
        yield
        return
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / ".lock", "a+")
    try:
        try:
            _lock(handle)
        except OSError:
            raise CheckpointError(f"another training process is writing {run_dir}; wait for it to "
                                  f"finish, or train into another directory") from None
        try:
            yield
        finally:
            _unlock(handle)
    finally:
        handle.close()


try:  # POSIX
    import fcntl

    def _lock(handle) -> None:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
except ImportError:  # Windows
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`, with a clear error if it cannot be."""
    path = Path(path)
    if path.suffix != ".pt":  # a run directory
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first "
                              f"(python -m gancourse train ... --out {path.parent})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupted: "
                              f"{type(err).__name__}). Delete it to start fresh, or restore a "
                              f"copy.") from None
    if not isinstance(state, dict) or not isinstance(state.get("cfg"), dict) or "step" not in state:
        raise CheckpointError(f"{path} is a PyTorch file but not a gancourse checkpoint "
                              f"(expected keys 'cfg' and 'step')")
    return state
