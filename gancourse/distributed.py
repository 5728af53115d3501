"""Training in several processes (``torchrun --nproc_per_node=N -m gancourse train ...``).

Data parallelism in its plainest form: every process holds the same G and D, takes its own slice of
each batch (:class:`gancourse.data.Batches`), draws its own noise, and before every update the
gradients are averaged over the processes, so every process applies the same update and the weights
stay identical. NCCL carries the averages between GPUs, gloo between CPU processes.

Why not the ``DistributedDataParallel`` wrapper: a GAN step calls G and D in ways its reducer does
not expect. D's step runs G forward without a backward pass through G (``G(z).detach()``); G's step
runs D forward with D's weights frozen; D sees real and fake images in two forwards before one
backward, which with BatchNorm and DDP's buffer broadcast fails in place. Each of these needs its
own workaround under the wrapper (``no_sync``, ``broadcast_buffers=False``, unused-parameter
searches), and the wrapper would also hide ``G.latent_dim`` behind ``.module`` and add ``module.`` to
every saved weight. Averaging the gradients in the optimizer's step hook instead (one flattened
all-reduce per update, as StyleGAN3's training loop does) leaves every step function unchanged.
BatchNorm's running statistics stay per process, and rank 0's are the ones saved.

Rank 0 does the bookkeeping: it alone writes the run directory, shows the progress bar and decides
when the minutes are spent; the other processes follow its decision at every step, so no process
waits for ever on another that stopped.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn


def world() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process does the writing (rank 0, or the only process)."""
    return world()[0] == 0


def launched() -> bool:
    """Whether torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup() -> torch.device | None:
    """Join the process group torchrun describes (NCCL with GPUs, gloo without) and return this
    process's device (its ``LOCAL_RANK``'s GPU, or the CPU); None when not launched by torchrun."""
    if not launched():
        return None
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if cuda:
            if local >= torch.cuda.device_count():
                raise ValueError(f"LOCAL_RANK {local} has no GPU ({torch.cuda.device_count()} found): start "
                                 f"torchrun with --nproc_per_node of at most the number of GPUs")
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    rank, size = world()
    if rank != 0:  # one copy of every message
        sys.stdout = open(os.devnull, "w")
    device = torch.device(f"cuda:{torch.cuda.current_device()}") if torch.cuda.is_available() else torch.device("cpu")
    print(f"{size} processes ({'NCCL' if device.type == 'cuda' else 'gloo'}); rank 0 writes the run")
    return device


def teardown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_module(*modules: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (a no-op in one process)."""
    if world()[1] == 1:
        return
    for module in modules:
        for tensor in (*module.parameters(), *module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(params: list[torch.Tensor]) -> None:
    """Replace each gradient by its mean over the processes: one all-reduce of them all flattened."""
    if world()[1] == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world()[1]
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def gradient_averaging_hook(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    """An optimizer step pre-hook: average the gradients the step is about to apply."""
    average_gradients([p for group in optimizer.param_groups for p in group["params"]])


def agree(spent: bool, requested: bool) -> tuple[bool, bool]:
    """(budget spent, stop requested), the same in every process: the budget as rank 0's clock says,
    a stop if any process was asked to (Ctrl-C, a stop signal)."""
    if world()[1] == 1:
        return spent, requested
    flags = torch.tensor([float(spent and world()[0] == 0), float(requested)], device=_collective_device())
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return bool(flags[0].item()), bool(flags[1].item())


def gather(obj) -> list:
    """Every process's ``obj``, in rank order (just ``[obj]`` in one process)."""
    if world()[1] == 1:
        return [obj]
    out = [None] * world()[1]
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


@contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (decoding an image folder into the cache); the others then run it
    and find the cache."""
    rank = world()[0]
    if rank != 0:
        barrier()
    try:
        yield
    finally:
        if rank == 0:
            barrier()


def _collective_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device(f"cuda:{torch.cuda.current_device()}")
    return torch.device("cpu")
