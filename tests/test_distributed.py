"""Several processes (gloo on the CPU): the same training as one process, weights identical on every
rank, rank 0's checkpoint resumed exactly and sampled with the ordinary commands."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from gancourse import distributed
from gancourse.config import TrainConfig, make_config
from gancourse.models import build_models
from gancourse.runs import load, sample
from gancourse.train import frozen, train_gan

ROOT = Path(__file__).resolve().parents[1]
PROJECTION = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))


def _noise(x: torch.Tensor) -> torch.Tensor:
    """Noise that is a function of each data point: every way of splitting a batch draws the same."""
    return torch.sin(3 * x @ PROJECTION)


def _d_step(G, D, batch, opt_d, d_loss) -> dict:
    x, _ = batch
    loss = d_loss(D(x).squeeze(1), D(G(_noise(x)).detach()).squeeze(1))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return {"loss_d": loss.item()}


def _g_step(G, D, batch, opt_g, g_loss) -> dict:
    x, _ = batch
    with frozen(D):
        loss = g_loss(D(G(_noise(x))).squeeze(1))
        opt_g.zero_grad()
        loss.backward()
    opt_g.step()
    return {"loss_g": loss.item()}


def _points_pair() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    G.latent_dim = 4
    D = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    return G, D


def _points_run(batch_size: int) -> dict:
    """An MLP GAN without BatchNorm or dropout on 2-D points, plain SGD (so a summed gradient, twice
    the mean, would show), noise drawn from the data."""
    from gancourse.losses import LOSSES

    G, D = _points_pair()
    data = torch.randn(256, 2, generator=torch.Generator().manual_seed(2)) * 0.5 + 1
    cfg = TrainConfig(model="points", optimizer="sgd", beta1=0.0, lr_d=0.05, lr_g=0.05, batch_size=batch_size,
                      num_steps=25)
    pair = LOSSES["non-saturating"]
    train_gan(G, D, data, cfg, d_step=_d_step, g_step=_g_step, d_loss=pair.d, g_loss=pair.g, progress=False)
    return {f"G.{k}": v for k, v in G.state_dict().items()} | {f"D.{k}": v for k, v in D.state_dict().items()}


def _dcgan_run(run_dir: str, steps: int) -> dict:
    """The ordinary DCGAN steps (BatchNorm and dropout in D, D frozen for G's step, two D forwards
    before one backward) on random images, written to ``run_dir`` (resumed if it holds a checkpoint)."""
    cfg = make_config("dcgan", "quick", num_steps=steps, checkpoint_every=3, batch_size=16)
    torch.manual_seed(cfg.seed)
    G, D = build_models("dcgan", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    images = torch.rand(96, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    history = train_gan(G, D, images, cfg, run_dir=run_dir, progress=False)
    return {"params": [p.detach().clone() for p in (*G.parameters(), *D.parameters())],
            "steps": len(history)}


def _worker(rank: int, world: int, store: str, out: str, job: str, args: tuple) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        result = {"points": _points_run, "dcgan": _dcgan_run}[job](*args)
        torch.save(result, Path(out) / f"{job}-rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _spawn(tmp_path: Path, job: str, *args, world: int = 2) -> list:
    store = tmp_path / f"store-{job}-{len(list(tmp_path.iterdir()))}"
    mp.spawn(_worker, args=(world, str(store), str(tmp_path), job, args), nprocs=world, join=True)
    return [torch.load(tmp_path / f"{job}-rank{r}.pt") for r in range(world)]


def test_two_processes_at_half_the_batch_train_as_one_process_at_the_whole(tmp_path):
    one = _points_run(batch_size=16)
    ranks = _spawn(tmp_path, "points", 16)  # each process takes 8 of every 16
    for name, value in one.items():
        for r, result in enumerate(ranks):
            torch.testing.assert_close(result[name], value, rtol=1e-5, atol=1e-6, msg=f"{name} on rank {r}")
    moved = sum((one[k] - _points_pair_state()[k]).abs().sum().item() for k in one)
    assert moved > 0.1  # the comparison is of trained weights, not of the starting ones


def _points_pair_state() -> dict:
    G, D = _points_pair()
    return {f"G.{k}": v for k, v in G.state_dict().items()} | {f"D.{k}": v for k, v in D.state_dict().items()}


def test_gan_steps_with_batchnorm_keep_every_rank_identical_and_resume_exactly(tmp_path):
    straight = _spawn(tmp_path, "dcgan", str(tmp_path / "straight"), 6)
    for a, b in zip(*(r["params"] for r in straight)):
        assert torch.equal(a, b)  # the same update applied everywhere
    assert straight[0]["steps"] == 6
    _spawn(tmp_path, "dcgan", str(tmp_path / "parts"), 3)
    resumed = _spawn(tmp_path, "dcgan", str(tmp_path / "parts"), 6)  # rank 0's checkpoint, every rank's RNG
    assert resumed[0]["steps"] == 6
    for a, b in zip(straight[0]["params"], resumed[1]["params"]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    G, cfg = load(tmp_path / "straight")  # rank 0's checkpoint, no "module." prefix: loads as it is
    assert cfg.num_steps == 6 and sample(G, 4).shape == (4, 1, 28, 28)


def test_batches_give_each_process_its_own_share_of_the_same_batch():
    from gancourse.data import Batches

    images = torch.arange(40.0).view(40, 1)
    whole = Batches(images, batch_size=8, seed=5)(7)[0]
    shares = [Batches(images, batch_size=8, seed=5, rank=r, world_size=2)(7)[0] for r in range(2)]
    assert torch.equal(torch.cat(shares), whole)
    with pytest.raises(ValueError, match="divisible by 3"):
        Batches(images, batch_size=8, world_size=3)


def test_one_process_is_not_distributed():
    assert distributed.world() == (0, 1) and distributed.is_main()
    assert distributed.agree(True, False) == (True, False)


def test_torchrun_trains_from_the_command_line_and_the_run_samples_as_usual(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANCOURSE_NO_WIDGETS": "1"}
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "gancourse", "train", "mlp-gan", "--dataset", "mnist", "--profile", "quick",
               "--steps", "6", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("wrote ") == 1  # rank 0 alone reports and writes
    assert "2 processes (gloo)" in done.stdout
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 7  # a header and 6 steps
    samples = tmp_path / "s.npz"
    done = subprocess.run([sys.executable, "-m", "gancourse", "sample", str(out), "--n", "5", "--out", str(samples)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.load(samples)["images"].shape == (5, 28, 28)
