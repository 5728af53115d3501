"""The discriminator alone (lecture 10): generating by climbing D's score, and a discriminator
trained as an energy model whose samples come from Langevin dynamics.

D's logit is read as a negative energy, D(x) = -E(x): high on data, low elsewhere. Generating from
D alone means solving argmax_x D(x) by gradient ascent on x. A GAN's D was never asked to be low
everywhere off the data, so the climb finds images D scores above real digits that are still noise.
An energy model is trained to be: its negatives come from short-run Langevin dynamics
x <- x + a grad_x D(x) + s eps, started from a replay buffer of past negatives (95%) or fresh
uniform noise (5%), as in JEM (Grathwohl et al., 2020) and IGEBM (Du and Mordatch, 2019). Each
sample costs every Langevin step's forward and backward pass through D.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from gancourse.config import make_config
from gancourse.data import Batches, ImageData
from gancourse.models.dcgan import DCGANDiscriminator

LANGEVIN_STEPS = 20  # per training step (JEM's)
STEP_SIZE = 1.0  # a: the gradient's weight (JEM's, for images in [-1, 1])
NOISE = 0.01  # s: the noise's standard deviation (JEM's)
BUFFER_SIZE = 10_000
REINIT = 0.05  # share of each batch started afresh from uniform noise
SCORE_PENALTY = 0.1  # weight of E[D(x)^2] on both batches: keeps the scores near 0 (IGEBM)


def ascent_step(D: nn.Module, x: Tensor, step_size: float) -> Tensor:
    """One step up D's score: x + step_size * grad_x D(x), per image, clamped to [-1, 1]. D's
    weights collect no gradient and ``x`` is left as it was; the result is detached."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    return (x + step_size * grad).clamp(-1, 1).detach()


def climb(D: nn.Module, x: Tensor, steps: int, step_size: float) -> tuple[Tensor, list[float]]:
    """``steps`` ascent steps from ``x``; returns the images and D's mean score before each step and
    after the last (``steps + 1`` numbers)."""
    scores = []
    for _ in range(steps):
        with torch.no_grad():
            scores.append(D(x).mean().item())
        x = ascent_step(D, x, step_size)
    with torch.no_grad():
        scores.append(D(x).mean().item())
    return x, scores


def langevin(D: nn.Module, x: Tensor, steps: int = LANGEVIN_STEPS, step_size: float = STEP_SIZE,
             noise: float = NOISE) -> Tensor:
    """Short-run Langevin dynamics on D's score: ascent steps with Gaussian noise, kept in [-1, 1]."""
    for _ in range(steps):
        x = (ascent_step(D, x, step_size) + noise * torch.randn_like(x)).clamp(-1, 1)
    return x


class ReplayBuffer(nn.Module):
    """Past negatives (a module buffer, so a checkpoint keeps them and a resumed run goes on exactly).
    Starts as uniform noise in [-1, 1]."""

    def __init__(self, size: int = BUFFER_SIZE, shape: tuple[int, ...] = (1, 28, 28)) -> None:
        super().__init__()
        self.register_buffer("images", torch.rand(size, *shape) * 2 - 1)

    def draw(self, n: int, reinit: float = REINIT) -> tuple[Tensor, Tensor]:
        """``n`` random entries (their indices, and the images with a ``reinit`` share replaced by
        fresh uniform noise)."""
        index = torch.randint(len(self.images), (n,), device=self.images.device)
        x = self.images[index].clone()
        fresh = torch.rand(n, device=x.device) < reinit
        x[fresh] = torch.rand_like(x[fresh]) * 2 - 1
        return index, x

    def store(self, index: Tensor, x: Tensor) -> None:
        self.images[index] = x.detach()


def energy_step(D: nn.Module, buffer: ReplayBuffer, x_real: Tensor, opt: torch.optim.Optimizer,
                steps: int = LANGEVIN_STEPS) -> dict:
    """One update of the energy model: negatives by Langevin from the buffer, then D's score pushed
    up on data and down on the negatives (contrastive divergence), with IGEBM's score penalty."""
    from gancourse.train import finite

    index, x0 = buffer.draw(len(x_real))
    x_neg = langevin(D, x0, steps)
    buffer.store(index, x_neg)
    s_real, s_neg = D(x_real), D(x_neg)
    loss = s_neg.mean() - s_real.mean() + SCORE_PENALTY * (s_real.pow(2).mean() + s_neg.pow(2).mean())
    value = finite("the energy model's loss", loss)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": value, "score_real": s_real.mean().item(), "score_fake": s_neg.mean().item()}


def build_energy_model(cfg) -> nn.Module:
    """The energy model's network: the DCGAN discriminator without BatchNorm or dropout (each
    image's score must not depend on the rest of its batch)."""
    return DCGANDiscriminator(**cfg.model_kwargs, norm="none", dropout=0.0)


def train_energy(data: ImageData, profile: str = "cpu", seed: int = 0, *, run_dir: str | Path | None = None,
                 resume: bool = True, callbacks=(), progress: bool = True, **overrides) -> tuple[nn.Module, ReplayBuffer, list[dict]]:
    """Train the energy model of ``profile`` (PROFILES[profile]["energy"]) on ``data``'s images;
    returns D, its replay buffer and the history. With ``run_dir``, checkpoints and resumes exactly."""
    from gancourse.device import get_device, seed_everything
    from gancourse.run import make_optimizer, run_loop
    from gancourse.train import data_fingerprint

    cfg = make_config("energy", profile, dataset=data.name, seed=seed, **overrides)
    device = get_device(verbose=False)
    seed_everything(cfg.seed)
    D, buffer = build_energy_model(cfg).to(device), ReplayBuffer().to(device)
    batches = Batches(data.images, data.labels, cfg.batch_size, cfg.seed, device)
    opt = make_optimizer(D, cfg.lr_d, cfg, "the energy model")
    torch.set_flush_denormal(True)

    def one_step(step: int) -> dict:
        x, _ = batches(step)
        return energy_step(D, buffer, x, opt)

    history = run_loop(one_step, cfg, modules={"D": D, "buffer": buffer}, optimizers={"opt_d": opt},
                       callbacks=callbacks, callback_args=(D, buffer), run_dir=run_dir, resume=resume, progress=progress,
                       fingerprint=data_fingerprint(data))
    return D, buffer, history


def sample_energy(D: nn.Module, n: int, steps: int, seed: int = 0, step_size: float = STEP_SIZE,
                  noise: float = NOISE) -> Tensor:
    """``n`` new samples: Langevin chains of ``steps`` steps from fresh uniform noise (on the CPU)."""
    gen = torch.Generator().manual_seed(seed)
    device = next(D.parameters()).device
    x = (torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1).to(device)
    torch.manual_seed(seed)
    return langevin(D, x, steps, step_size, noise).cpu()
