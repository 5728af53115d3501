"""Run configuration and the table of training profiles.

A run is described by one :class:`TrainConfig`; ``print(cfg)`` is its record. Profiles are data:
``PROFILES[profile][model]`` holds the few fields that differ from the defaults below.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from gancourse.losses import LOSS_NAMES

PROFILE_NAMES = ("quick", "cpu", "gpu", "colab")
OPTIMIZER_NAMES = ("adam", "sgd", "rmsprop")  # gancourse.run.OPTIMIZERS
PENALTY_NAMES = ("auto", "none", "gp", "dragan", "r1")  # gancourse.losses.PENALTIES, "auto", "none"
SCHEDULE_NAMES = ("constant", "linear-decay")
UNBOUNDED_STEPS = 10**9  # num_steps of a run bounded by minutes alone


@dataclass
class TrainConfig:
    """Everything that defines a training run (model, data, optimisation, budget, bookkeeping)."""

    model: str = "mlp-gan"  # key of gancourse.models.FAMILIES; load() rebuilds the generator from it
    dataset: str = "mnist"  # key of gancourse.data.DATASETS
    latent_dim: int = 100  # the GAN paper's and the lecture's noise size
    batch_size: int = 64  # the lecture's setting; small batches also keep CPU steps short
    lr_d: float = 2e-4  # DCGAN paper's Adam learning rate, stable for both players
    lr_g: float = 2e-4  # same as D: neither player should race ahead
    optimizer: str = "adam"  # or "sgd" (the GAN paper's, momentum beta1) or "rmsprop" (WGAN's)
    beta1: float = 0.5  # lower momentum than Adam's 0.9 damps the adversarial oscillation
    beta2: float = 0.999  # Adam's default second-moment decay
    k: int = 1  # discriminator (critic) steps per generator step (Algorithm 1 of the GAN paper)
    loss: str = "non-saturating"  # a D/G pair of gancourse.losses.LOSSES; minimax stalls (lecture 2)
    penalty: str = "auto"  # "auto": the loss's own (wgan-gp: gp, dragan: dragan); or none, gp, dragan, r1
    penalty_weight: float | None = None  # None: the penalty's usual weight (10 for gp, dragan and r1)
    clip: float | None = None  # critic weight clipping; None: the loss's own (wgan: 0.01, else none)
    lr_schedule: str = "constant"  # or "linear-decay": constant for half the steps, then down to 0
    ema: float | None = None  # decay of a moving average of G's weights, sampled instead of G; None: off
    num_steps: int = 2000  # generator updates; the run stops at num_steps or minutes, whichever first
    minutes: float | None = None  # wall-clock budget; None means bounded by num_steps alone
    seed: int = 0  # one seed drives weights, noise and batch order, so runs repeat exactly
    checkpoint_every: int = 500  # steps between checkpoints: at most this much work is lost
    sample_every: int = 200  # steps between frames of the fixed-noise grid (and the GIF)
    model_kwargs: dict = field(default_factory=dict)  # extra constructor arguments (widths, ...)
    channels_last: bool = False  # NHWC conv activations: about 1.25x faster conv GANs on a CPU
    task: str = "edges"  # pix2pix only: which paired task (gancourse.pix2pix.TASKS)
    lambda_l1: float = 100.0  # pix2pix only: weight of the L1 term (0: "GAN only")
    adversarial: bool = True  # pix2pix only: False trains G by L1 alone ("L1 only")
    unroll: int = 0  # toy-gan only: G's loss against D advanced this many steps (Metz et al.); 0: off
    sigma: float = 0.5  # vae only: the decoder's Gaussian standard deviation per pixel, in [-1, 1] units
    lambda_cycle: float = 10.0  # cyclegan only: weight of the cycle-consistency loss (0: "GAN only")
    lambda_identity: float = 0.5  # cyclegan only: identity loss weight, as a fraction of lambda_cycle
    ae_steps: int = 0  # bagan only: autoencoder steps before the adversarial ones (counted in num_steps)
    minority: int | None = None  # cgan, acgan, bagan: the class cut to `keep` of its training images
    keep: float = 1.0  # the fraction of the minority class's images kept (lecture 13)

    def __post_init__(self) -> None:
        if self.num_steps <= 0:
            raise ValueError(f"num_steps must be a positive number of steps, got {self.num_steps}")
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            raise ValueError(f"minutes must be a positive, finite budget (or None), got {self.minutes}")
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZER_NAMES),
                                     ("loss", self.loss, LOSS_NAMES), ("penalty", self.penalty, PENALTY_NAMES),
                                     ("lr_schedule", self.lr_schedule, SCHEDULE_NAMES)):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        for name in ("lr_d", "lr_g"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive, finite learning rate, got {value!r}")
        if self.batch_size <= 0 or self.k <= 0:
            raise ValueError(f"batch_size and k must be positive, got {self.batch_size} and {self.k}")
        if not (isinstance(self.sigma, (int, float)) and math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive, finite standard deviation, got {self.sigma!r}")
        for name in ("lambda_cycle", "lambda_identity"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite weight >= 0, got {value!r}")
        if not isinstance(self.unroll, int) or isinstance(self.unroll, bool) or self.unroll < 0:
            raise ValueError(f"unroll must be a whole number of D steps >= 0, got {self.unroll!r}")
        if self.ema is not None and not (isinstance(self.ema, (int, float)) and 0 < self.ema < 1):
            raise ValueError(f"ema must be a decay in (0, 1) such as 0.999 (or None), got {self.ema!r}")
        if not isinstance(self.ae_steps, int) or isinstance(self.ae_steps, bool) or self.ae_steps < 0:
            raise ValueError(f"ae_steps must be a whole number of steps >= 0, got {self.ae_steps!r}")
        if self.minority is not None and (not isinstance(self.minority, int) or isinstance(self.minority, bool)
                                          or self.minority < 0):
            raise ValueError(f"minority must be a class number >= 0 (or None), got {self.minority!r}")
        if not (isinstance(self.keep, (int, float)) and 0 < self.keep <= 1):
            raise ValueError(f"keep must be a fraction in (0, 1], got {self.keep!r}")
        if self.keep != 1 and self.minority is None:
            raise ValueError(f"keep={self.keep} needs the class it cuts: set minority too")


# One row per recipe: only what differs from TrainConfig's defaults ("model" defaults to the
# recipe's name). Times are measured on 2 CPU cores (README).
_TOY = dict(model="toy", latent_dim=4, batch_size=256, lr_d=1e-3, lr_g=1e-3)  # 1-D and 2-D toys
_SATURATION = dict(model="mlp-gan", optimizer="sgd", lr_d=0.02, lr_g=0.02)  # lecture 2's runs
_CLASSIFIER = dict(batch_size=128, lr_d=1e-3)  # the domain classifier that judges samples
_BEGAN = dict(loss="began", lr_d=1e-4, lr_g=1e-4)  # the BEGAN paper's Adam rate
# The mode-collapse lecture's plain GAN: small tanh MLPs and a D that trains 3 steps per G step,
# which collapses on grid25 to about half the modes (README's table)
_TOY_GAN = dict(dataset="grid25", latent_dim=2, batch_size=256, lr_d=2e-3, lr_g=2e-3, k=3,
                model_kwargs=dict(hidden=128, depth=2, activation="tanh"))
# Stacked MNIST (lecture 9): the DCGAN family in 3 channels with a D narrower than G (a quarter of its
# width on the gpu, half on the cpu), the unrolled-GAN paper's way of making a DCGAN drop modes
# (Metz et al. 2017; PacGAN reuses it)
_STACKED = dict(model="dcgan", dataset="stacked-mnist", latent_dim=100)
# Lecture 10's generators without an adversary: the DCGAN's G (width 32 on the cpu, as lecture 3's) as
# the decoder, a DCGAN-D-shaped encoder, Adam at the VAE paper's 1e-3 with its usual momentum 0.9
_AE = dict(lr_d=1e-3, lr_g=1e-3, beta1=0.9)
# Lecture 10's energy model (gancourse.energy): a DCGAN D without BatchNorm, Adam at JEM's 1e-4
_ENERGY = dict(lr_d=1e-4, beta1=0.0, beta2=0.999, model_kwargs=dict(width=64))
# CycleGAN (lecture 11): the paper's least-squares loss, Adam 2e-4 with beta1 0.5; pix2pix's U-Net widths
_CYCLE = dict(model="cyclegan", dataset="fashion-mnist", loss="lsgan")
# Your own images (lecture 12): the DCGAN paper's layouts at 32x32 and 64x64 ("dcgan-32", "dcgan-64" are
# what `train dcgan --dataset folder:PATH --image-size S` reads); channels come from --channels
_FOLDER_32 = dict(model="dcgan", model_kwargs=dict(image_size=32))
_FOLDER_64 = dict(model="dcgan", model_kwargs=dict(image_size=64))
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
        "began": dict(_BEGAN, num_steps=10, batch_size=32, checkpoint_every=5, sample_every=5,
                      model_kwargs=dict(width=32, d_width=16)),
        "toy-gan": dict(_TOY_GAN, num_steps=100, checkpoint_every=50, sample_every=50),
        "stacked-mnist": dict(_STACKED, num_steps=10, batch_size=32, checkpoint_every=5, sample_every=5,
                              model_kwargs=dict(width=16, d_width=16, channels=3)),
        "autoencoder": dict(_AE, loss="reconstruction", num_steps=10, batch_size=32, checkpoint_every=5,
                            sample_every=5, model_kwargs=dict(width=16, d_width=16)),
        "vae": dict(_AE, loss="vae", num_steps=10, batch_size=32, checkpoint_every=5, sample_every=5,
                    model_kwargs=dict(width=16, d_width=16)),
        "energy": dict(_ENERGY, num_steps=10, batch_size=32, checkpoint_every=5),
        "cyclegan": dict(_CYCLE, num_steps=10, batch_size=16, checkpoint_every=5, model_kwargs=dict(width=8)),
        "dcgan-32": dict(_FOLDER_32, num_steps=10, batch_size=16, checkpoint_every=5, sample_every=5,
                         model_kwargs=dict(image_size=32, width=32)),
        "bagan": dict(num_steps=10, ae_steps=4, batch_size=32, checkpoint_every=5, sample_every=5,
                      model_kwargs=dict(width=32, d_width=16)),
        "imbalance": dict(_CLASSIFIER, num_steps=20),
        "dcgan-64": dict(_FOLDER_64, num_steps=10, batch_size=16, checkpoint_every=5, sample_every=5,
                         model_kwargs=dict(image_size=64, width=32)),
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
        "began": dict(_BEGAN, num_steps=6000, sample_every=500, minutes=4.0, channels_last=True,
                      model_kwargs=dict(width=32, d_width=32)),
        "toy-gan": dict(_TOY_GAN, num_steps=4000, sample_every=500),
        "stacked-mnist": dict(_STACKED, num_steps=2000, sample_every=500, minutes=4.0, channels_last=True,
                              model_kwargs=dict(width=32, d_width=16, channels=3)),
        # lecture 3's DCGAN budget (4 minutes): the steps are a ceiling, the minutes bind
        "autoencoder": dict(_AE, loss="reconstruction", num_steps=30000, sample_every=1000, minutes=4.0,
                            channels_last=True, model_kwargs=dict(width=32, d_width=64)),
        "vae": dict(_AE, loss="vae", num_steps=30000, sample_every=1000, minutes=4.0, channels_last=True,
                    model_kwargs=dict(width=32, d_width=64)),
        "energy": dict(_ENERGY, num_steps=3000, minutes=3.0),
        "cyclegan": dict(_CYCLE, num_steps=2000, minutes=5.0, model_kwargs=dict(width=16)),
        # 0.053 s (32x32) and 0.070 s (64x64) a step on 2 cores: the minutes bind
        "dcgan-32": dict(_FOLDER_32, num_steps=6000, sample_every=500, minutes=4.0, channels_last=True,
                         model_kwargs=dict(image_size=32, width=128, d_width=128)),
        "bagan": dict(num_steps=4000, ae_steps=1000, sample_every=500, minutes=3.0, channels_last=True,
                      model_kwargs=dict(width=32, d_width=64)),
        "imbalance": dict(_CLASSIFIER, num_steps=300),
        "dcgan-64": dict(_FOLDER_64, num_steps=6000, sample_every=500, minutes=4.0, channels_last=True,
                         model_kwargs=dict(image_size=64, width=128, d_width=64)),
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
        "began": dict(_BEGAN, num_steps=20000, sample_every=1000, checkpoint_every=2000),
        "toy-gan": dict(_TOY_GAN, num_steps=16000, sample_every=1000, checkpoint_every=2000),
        "stacked-mnist": dict(_STACKED, num_steps=20000, sample_every=1000, checkpoint_every=2000,
                              model_kwargs=dict(width=128, d_width=32, channels=3)),
        "autoencoder": dict(_AE, loss="reconstruction", num_steps=20000, sample_every=1000,
                            checkpoint_every=2000, model_kwargs=dict(width=128, d_width=128)),
        "vae": dict(_AE, loss="vae", num_steps=20000, sample_every=1000, checkpoint_every=2000,
                    model_kwargs=dict(width=128, d_width=128)),
        "energy": dict(_ENERGY, num_steps=20000, checkpoint_every=2000, model_kwargs=dict(width=128)),
        "cyclegan": dict(_CYCLE, num_steps=20000, checkpoint_every=2000, model_kwargs=dict(width=64)),
        # PyTorch's DCGAN example at 64x64 (64 feature maps at the image, 512 at 4x4), batch 128
        "dcgan-32": dict(_FOLDER_32, num_steps=20000, batch_size=128, sample_every=1000, checkpoint_every=2000,
                         model_kwargs=dict(image_size=32, width=256, d_width=256)),
        "bagan": dict(num_steps=20000, ae_steps=5000, sample_every=1000, checkpoint_every=2000,
                      model_kwargs=dict(width=128, d_width=128)),
        "imbalance": dict(_CLASSIFIER, num_steps=1000),
        "dcgan-64": dict(_FOLDER_64, num_steps=20000, batch_size=128, sample_every=1000, checkpoint_every=2000,
                         model_kwargs=dict(image_size=64, width=512, d_width=512)),
    },
}
# Every gpu run stops at 20 minutes whatever the card: the steps are the recipe, the cap the promise.
for _row in PROFILES["gpu"].values():
    _row.setdefault("minutes", 20.0)
# A free Colab GPU session (a T4, sessions that end when idle): the gpu recipe at a quarter of the
# steps, each run capped at 5 minutes so a whole lecture fits in one sitting.
PROFILES["colab"] = {
    recipe: dict(row, num_steps=max(row["num_steps"] // 4, 1), minutes=5.0,
                 sample_every=min(row.get("sample_every", 200), 500))
    for recipe, row in PROFILES["gpu"].items()
}


# Each loss's usual recipe (Lucic et al. 2018, Gulrajani et al. 2017, Arjovsky et al. 2017), applied
# by make_config when a loss is asked for; overrides still win. A per-sample penalty needs a conv D
# without BatchNorm (it mixes a batch's samples) and without dropout.
_NO_BATCHNORM = dict(d_norm="none", d_dropout=0.0)
LOSS_RECIPES: dict[str, dict] = {
    "wgan": dict(optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5, k=5),
    "wgan-gp": dict(beta1=0.0, beta2=0.9, lr_d=1e-4, lr_g=1e-4, k=5, model_kwargs=_NO_BATCHNORM),
    "dragan": dict(model_kwargs=_NO_BATCHNORM),
}
CONV_D = ("dcgan",)  # families whose D takes norm and dropout


def make_config(recipe: str = "mlp-gan", profile: str = "cpu", **overrides) -> TrainConfig:
    """Build the TrainConfig of ``recipe`` (a model, or a lecture's experiment) under ``profile``,
    with the usual recipe of ``overrides["loss"]`` if one is asked for, then apply ``overrides``.

    An override that is no TrainConfig field but an argument of the model's networks (``pack=2``
    for toy-gan, ``d_width=64`` for dcgan) joins ``model_kwargs``, kept with the profile's others.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_NAMES)}")
    table = PROFILES[profile]
    if recipe not in table:
        raise ValueError(f"no {profile!r} profile for {recipe!r}; known: {', '.join(table)}")
    fields = {"model": recipe, **table[recipe]}
    overrides = _renamed(overrides)
    network_args = _network_arguments(overrides.get("model", fields["model"]), overrides)
    loss_recipe = dict(LOSS_RECIPES.get(overrides.get("loss"), {}))
    extra = loss_recipe.pop("model_kwargs", {})
    extra = extra if fields["model"] in CONV_D else {}
    fields.update(loss_recipe, model_kwargs={**fields.get("model_kwargs", {}), **extra})
    fields.update(overrides)
    fields["model_kwargs"] = {**fields["model_kwargs"], **network_args}
    return TrainConfig(**fields)


def _network_arguments(model: str, overrides: dict) -> dict:
    """Take the overrides that are no TrainConfig field out of ``overrides``: arguments of
    ``model``'s networks, or a ValueError."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    args = {k: overrides.pop(k) for k in list(overrides) if k not in names}
    if not args:
        return args
    from gancourse.models import FAMILIES  # imported when needed: the table stays light to import

    family = FAMILIES.get(model)
    takes = set() if family is None else {*family.g_args, *family.d_args, *(f"d_{a}" for a in family.d_args)}
    unknown = sorted(set(args) - takes)
    if unknown:
        owners = sorted({name for k in unknown for name, f in FAMILIES.items()
                         if k.removeprefix("d_") in (*f.g_args, *f.d_args)})
        hint = (f"; {', '.join(unknown)} is an argument of {', '.join(owners)}" if owners
                else "; TrainConfig has no such field")
        raise ValueError(f"{model} does not take {', '.join(unknown)}{hint}")
    return args


RENAMED = {"g_loss": "loss"}  # fields of earlier versions -> today's, so old runs still load


def _renamed(values: dict) -> dict:
    return {RENAMED.get(k, k): v for k, v in values.items()}


def config_from_dict(values: dict) -> TrainConfig:
    """A TrainConfig from a config.json or checkpoint dict, old field names mapped, unknown ones
    (written by later versions) left out."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in _renamed(values).items() if k in fields})
