"""Run configuration and the table of training profiles.

A run is described by one :class:`TrainConfig`; ``print(cfg)`` is its record. Profiles are data:
``PROFILES[profile][model]`` holds the few fields that differ from the defaults below.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

PROFILE_NAMES = ("quick", "cpu", "gpu")
UNBOUNDED_STEPS = 10**9  # num_steps of a run bounded by minutes alone


@dataclass
class TrainConfig:
    """Everything that defines a training run (model, data, optimisation, budget, bookkeeping)."""

    model: str = "mlp-gan"  # key of gancourse.models.MODELS; load() rebuilds the generator from it
    dataset: str = "mnist"  # key of gancourse.data.DATASETS
    latent_dim: int = 100  # the GAN paper's and the lecture's noise size
    batch_size: int = 64  # the lecture's setting; small batches also keep CPU steps short
    lr_d: float = 2e-4  # DCGAN paper's Adam learning rate, stable for both players
    lr_g: float = 2e-4  # same as D: neither player should race ahead
    optimizer: str = "adam"  # or "sgd": the GAN paper's plain SGD, momentum beta1
    beta1: float = 0.5  # lower momentum than Adam's 0.9 damps the adversarial oscillation
    beta2: float = 0.999  # Adam's default second-moment decay
    k: int = 1  # discriminator steps per generator step (Algorithm 1 of the GAN paper)
    g_loss: str = "non-saturating"  # the minimax loss stalls early on (lecture 2)
    num_steps: int = 2000  # generator updates; the run stops at num_steps or minutes, whichever first
    minutes: float | None = None  # wall-clock budget; None means bounded by num_steps alone
    seed: int = 0  # one seed drives weights, noise and batch order, so runs repeat exactly
    checkpoint_every: int = 500  # steps between checkpoints: at most this much work is lost
    sample_every: int = 200  # steps between frames of the fixed-noise grid (and the GIF)
    model_kwargs: dict = field(default_factory=dict)  # extra constructor arguments (widths, ...)
    channels_last: bool = False  # NHWC conv activations: about 1.25x faster conv GANs on a CPU
    task: str = "edges"  # pix2pix only: which paired task (gancourse.pix2pix.TASKS)

    def __post_init__(self) -> None:
        if self.num_steps <= 0:
            raise ValueError(f"num_steps must be a positive number of steps, got {self.num_steps}")
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            raise ValueError(f"minutes must be a positive, finite budget (or None), got {self.minutes}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose 'adam' or 'sgd'")
        if self.batch_size <= 0 or self.k <= 0:
            raise ValueError(f"batch_size and k must be positive, got {self.batch_size} and {self.k}")


# One row per recipe: only what differs from TrainConfig's defaults ("model" defaults to the
# recipe's name). Times are measured on 2 CPU cores (README).
_TOY = dict(model="toy", latent_dim=4, batch_size=256, lr_d=1e-3, lr_g=1e-3)  # 1-D and 2-D toys
_SATURATION = dict(model="mlp-gan", optimizer="sgd", lr_d=0.02, lr_g=0.02)  # lecture 2's runs
_CLASSIFIER = dict(batch_size=128, lr_d=1e-3)  # the domain classifier that judges samples
PROFILES: dict[str, dict[str, dict]] = {
    # seconds: CI and notebook tests; shows the pipeline runs, not that the GAN learns
    "quick": {
        "mlp-gan": dict(num_steps=30, checkpoint_every=15, sample_every=10),
        "dcgan": dict(num_steps=10, batch_size=32, checkpoint_every=5, sample_every=5,
                      model_kwargs=dict(width=32)),
        "toy": dict(_TOY, num_steps=100, sample_every=50),
        "saturation": dict(_SATURATION, num_steps=10),
        "classifier": dict(_CLASSIFIER, num_steps=30),
        "cgan": dict(num_steps=10, batch_size=32, checkpoint_every=5, sample_every=5,
                     model_kwargs=dict(width=32)),
        "acgan": dict(num_steps=10, batch_size=32, checkpoint_every=5, sample_every=5,
                      model_kwargs=dict(width=32)),
        "pix2pix": dict(num_steps=10, batch_size=16, checkpoint_every=5, model_kwargs=dict(width=8)),
    },
    # a laptop in minutes: what the committed notebook outputs show
    "cpu": {
        "mlp-gan": dict(num_steps=6000, sample_every=500, minutes=2.5),
        "dcgan": dict(num_steps=6000, sample_every=500, minutes=4.0, channels_last=True,
                      model_kwargs=dict(width=32, d_width=128)),  # D is cheap: keep the lecture's
        "toy": dict(_TOY, num_steps=3000, sample_every=500),
        "saturation": dict(_SATURATION, num_steps=300),
        "classifier": dict(_CLASSIFIER, num_steps=936),  # 2 epochs of 60,000
        "cgan": dict(num_steps=4000, sample_every=500, minutes=3.0, channels_last=True,
                     model_kwargs=dict(width=32, d_width=128)),
        "acgan": dict(num_steps=4000, sample_every=500, minutes=3.0, channels_last=True,
                      model_kwargs=dict(width=32, d_width=128)),
        "pix2pix": dict(num_steps=2000, minutes=5.0, model_kwargs=dict(width=16)),  # same steps per variant
    },
    # the full recipe, for an instructor regenerating figures on a GPU
    "gpu": {
        "mlp-gan": dict(num_steps=30000, sample_every=1000, checkpoint_every=2000),
        "dcgan": dict(num_steps=20000, sample_every=1000, checkpoint_every=2000),
        "toy": dict(_TOY, num_steps=5000, sample_every=500),
        "saturation": dict(_SATURATION, num_steps=1000),
        "classifier": dict(_CLASSIFIER, num_steps=2340),  # 5 epochs
        "cgan": dict(num_steps=20000, sample_every=1000, checkpoint_every=2000),
        "acgan": dict(num_steps=20000, sample_every=1000, checkpoint_every=2000),
        "pix2pix": dict(num_steps=20000, checkpoint_every=2000, model_kwargs=dict(width=64)),
    },
}


def make_config(recipe: str = "mlp-gan", profile: str = "cpu", **overrides) -> TrainConfig:
    """Build the TrainConfig of ``recipe`` (a model, or a lecture's experiment) under ``profile``,
    then apply ``overrides``."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_NAMES)}")
    table = PROFILES[profile]
    if recipe not in table:
        raise ValueError(f"no {profile!r} profile for {recipe!r}; known: {', '.join(table)}")
    cfg = TrainConfig(**{"model": recipe, **table[recipe]})
    return dataclasses.replace(cfg, **overrides) if overrides else cfg
