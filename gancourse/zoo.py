"""Lecture 8's experiment: every loss of the zoo on one architecture, one step budget, several seeds.

Lucic et al. (2018) trained each loss with its usual recipe and found that the spread over seeds
and settings was larger than the gap between the losses' medians. :func:`run_zoo` repeats that
protocol at a scale a laptop can run, scoring each run by classifier FID.
"""
from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import torch

from gancourse.classifier import load_classifier
from gancourse.config import make_config
from gancourse.data import load_dataset
from gancourse.device import seed_everything
from gancourse.metrics import fid, random_subset
from gancourse.models import build_models
from gancourse.runs import sample
from gancourse.train import train_gan
from gancourse.ema import trained_generator

# One architecture for every loss: the course's CPU DCGAN, its critic without BatchNorm and dropout
# (a gradient penalty is per sample; BatchNorm would mix the samples of a batch).
ZOO_MODEL = dict(width=32, d_width=64, d_norm="none", d_dropout=0.0)
ZOO_SETTINGS = {  # name -> (loss, extra config fields)
    "MM": ("minimax", {}), "NS": ("non-saturating", {}), "LSGAN": ("lsgan", {}),
    "hinge": ("hinge", {}), "WGAN": ("wgan", {}), "WGAN-GP": ("wgan-gp", {}),
    "DRAGAN": ("dragan", {}), "NS+R1": ("non-saturating", {"penalty": "r1"}),
    "NS+SN": ("non-saturating", {"model_kwargs": dict(ZOO_MODEL, d_norm="spectral")}),
}


# What each profile runs: the entries, seeds, generator steps and datasets (one source for lecture 8).
ZOO_PLANS = {
    "quick": dict(names=("NS", "WGAN-GP"), seeds=(0,), steps=3, datasets=("mnist",)),
    "cpu": dict(names=("NS", "LSGAN", "hinge", "WGAN-GP", "NS+R1"), seeds=(0, 1, 2), steps=1000,
                datasets=("mnist",)),
    "gpu": dict(names=tuple(ZOO_SETTINGS), seeds=(0, 1, 2), steps=5000, datasets=("mnist", "fashion-mnist"),
                grid=dict(lr=(1e-4, 2e-4, 1e-3), beta1=(0.0, 0.5))),  # Lucic's sensitivity, small
    # a free Colab GPU: every loss once per seed on MNIST, no grid
    "colab": dict(names=tuple(ZOO_SETTINGS), seeds=(0, 1, 2), steps=1500, datasets=("mnist",)),
}


def run_grid(names, grid: dict, steps: int, profile: str, dataset: str = "mnist", seed: int = 0, **kwargs) -> list[dict]:
    """Each entry of ``names`` at every learning rate (both players) and Adam beta1 of ``grid``: how
    much a loss's FID depends on its hyperparameters. Rows as :func:`run_zoo`'s, with lr and beta1."""
    rows = []
    for lr in grid["lr"]:
        for beta1 in grid["beta1"]:
            for row in run_zoo(names, [seed], steps, profile, dataset,
                               overrides=dict(lr_d=lr, lr_g=lr, beta1=beta1), **kwargs):
                rows.append({**row, "lr": lr, "beta1": beta1})
    return rows


def zoo_config(name: str, profile: str, dataset: str = "mnist", seed: int = 0, steps: int | None = None,
               overrides: dict | None = None):
    """The TrainConfig of zoo entry ``name``: its loss with its usual recipe, the shared network."""
    loss, extra = ZOO_SETTINGS[name]
    cfg = make_config("dcgan", profile, loss=loss, dataset=dataset, seed=seed,
                      model_kwargs=extra.get("model_kwargs", ZOO_MODEL), minutes=None,
                      **{k: v for k, v in extra.items() if k != "model_kwargs"}, **(overrides or {}))
    return cfg if steps is None else _with_steps(cfg, steps)


def _with_steps(cfg, steps: int):
    return dataclasses.replace(cfg, num_steps=steps, checkpoint_every=max(steps, 1), sample_every=max(steps, 1))


def run_zoo(names, seeds, steps: int, profile: str, dataset: str = "mnist", n_fid: int = 2000,
            run_root: str | Path | None = None, device: torch.device | str = "cpu",
            overrides: dict | None = None) -> list[dict]:
    """Train every zoo entry in ``names`` for ``steps`` generator steps with each seed in ``seeds``;
    returns one row per run: name, loss, seed, FID (``n_fid`` samples vs as many test images),
    seconds, the run's history and 32 samples from fixed noise."""
    data = load_dataset(dataset, "train")
    test = load_dataset(dataset, "test").images
    test = test[random_subset(len(test), n_fid)]  # a random draw: the split is ordered
    clf = load_classifier(dataset, profile if profile != "quick" else "quick")
    rows = []
    for name in names:
        for seed in seeds:
            cfg = zoo_config(name, profile, dataset, seed, steps, overrides)
            seed_everything(seed)
            G, D = build_models("dcgan", **cfg.model_kwargs)
            run_dir = Path(run_root) / f"{name}_{dataset}_{seed}" if run_root is not None else None
            start = time.perf_counter()
            history = train_gan(G.to(device), D.to(device), data, cfg, run_dir=run_dir, resume=False,
                                progress=False)
            seconds = time.perf_counter() - start
            G = trained_generator(G, history)
            torch.manual_seed(10_000 + seed)
            score = fid(clf, test, sample(G, n_fid).clamp(-1, 1))
            fixed = torch.randn(32, G.latent_dim, generator=torch.Generator().manual_seed(1234))
            rows.append({"name": name, "loss": cfg.loss, "dataset": dataset, "seed": seed, "fid": score,
                         "seconds": seconds, "steps": len(history), "history": history,
                         "samples": sample(G, z=fixed)})
            print(f"{name:<8} seed {seed}: FID {score:6.1f} after {len(history)} steps, {seconds:5.1f} s")
    return rows


def summarize_zoo(rows: list[dict]) -> list[dict]:
    """Per entry and dataset: median, best and worst FID over its runs, in the order first seen."""
    keys = list(dict.fromkeys((r["name"], r.get("dataset", "mnist")) for r in rows))
    out = []
    for name, dataset in keys:
        scores = sorted(r["fid"] for r in rows if r["name"] == name and r.get("dataset", "mnist") == dataset)
        out.append({"name": name, "dataset": dataset, "median": statistics.median(scores), "best": scores[0],
                    "worst": scores[-1], "runs": len(scores)})
    return out


def spread_against_gap(summary: list[dict]) -> dict:
    """Lucic et al.'s question in two numbers: the largest best-to-worst range of one loss over its
    seeds, against the range of the losses' medians."""
    medians = [s["median"] for s in summary]
    return {"largest_spread": max(s["worst"] - s["best"] for s in summary),
            "gap_between_medians": max(medians) - min(medians)}
