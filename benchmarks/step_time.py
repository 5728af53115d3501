"""Does torch.compile or the thread count pay on a CPU? One course training step, timed each way.

For each model's `cpu` recipe: seconds per training step (one D step, one G step, as train_gan takes
them) in eager mode with every thread and with one, and with G and D compiled by torch.compile
(its compile time reported apart: a 5-minute budget must win it back). Prints one row per setting.

Usage: python benchmarks/step_time.py [--models dcgan mlp-gan] [--steps 200]
"""
from __future__ import annotations

import argparse
import time

import torch

import gancourse as gc
from gancourse.run import make_optimizer
from gancourse.train import family_steps, generator_step, steps_for


def make_step(model: str, compiled: bool):
    cfg = gc.make_config(model, "cpu")
    gc.seed_everything(0)
    G, D = gc.build_models(model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    if cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    own = family_steps(cfg) or steps_for(cfg)
    opt_g, opt_d = make_optimizer(G, cfg.lr_g, cfg), make_optimizer(D, cfg.lr_d, cfg)
    G_run, D_run = (torch.compile(G), torch.compile(D)) if compiled else (G, D)
    data = torch.rand(4096, 1, 28, 28) * 2 - 1
    batches = gc.Batches(data, torch.randint(10, (4096,)), cfg.batch_size, seed=0)

    def step(t: int) -> None:
        batch = batches(t)
        own["d_step"](G_run, D_run, batch, opt_d, own["d_loss"])
        own.get("g_step", generator_step)(G_run, D_run, batch, opt_g, own["g_loss"])
    return step


def timed(step, steps: int) -> tuple[float, float]:
    start = time.perf_counter()
    step(0)
    step(1)  # the first steps pay for compilation (if any) and warm-up
    first = time.perf_counter() - start
    start = time.perf_counter()
    for t in range(2, 2 + steps):
        step(t)
    return first, (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dcgan", "mlp-gan"])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    threads = torch.get_num_threads()
    print(f"{'model':>8} {'setting':>22} {'first 2 steps (s)':>18} {'ms per step':>12} {'5-min steps':>12}")
    for model in args.models:
        for name, n_threads, compiled in ((f"eager, {threads} threads", threads, False),
                                          ("eager, 1 thread", 1, False),
                                          (f"torch.compile, {threads} thr.", threads, True)):
            torch.set_num_threads(n_threads)
            try:
                first, per_step = timed(make_step(model, compiled), args.steps)
            except Exception as err:  # noqa: BLE001  a compiler missing on this machine, say
                print(f"{model:>8} {name:>22}   failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}")
                continue
            in_budget = max(0.0, 300 - first) / per_step
            print(f"{model:>8} {name:>22} {first:>18.1f} {per_step * 1000:>12.1f} {in_budget:>12.0f}", flush=True)
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
