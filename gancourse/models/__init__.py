"""Model families, one file each, and THE registry the CLI, ``load`` and ``train_gan`` build from.

A family is one row of :data:`FAMILIES`: its networks, the keyword arguments each accepts, its own
training steps if it has any (else any D/G pair of the loss zoo trains it), the losses it allows,
the data it trains on, the TrainConfig fields only it reads, and what a trained one does (``sample``
or ``translate``). Adding a family means one model file, one row here, its losses, its profile rows
and its checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from gancourse.models.bagan import BAGANDiscriminator, BAGANGenerator, bagan_steps
from gancourse.models.began import BEGANDiscriminator, began_steps
from gancourse.models.conditional import (ACGANDiscriminator, ConditionalDiscriminator,
                                          ConditionalGenerator)
from gancourse.models.cyclegan import CycleDiscriminator, CycleGenerator, cyclegan_steps
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.models.packing import packed_steps
from gancourse.models.pix2pix import PatchDiscriminator, UNetGenerator
from gancourse.models.toy_gan import ToyGANDiscriminator, ToyGANGenerator, toy_gan_steps
from gancourse.models.vae import Encoder, VariationalEncoder, autoencoder_steps

@dataclass(frozen=True)
class Family:
    """One GAN family: what the CLI, ``load`` and ``train_gan`` need to know about it."""

    generator: type
    discriminator: type
    g_args: tuple[str, ...]  # keyword arguments of the generator
    d_args: tuple[str, ...]  # of the discriminator; "d_<arg>" sets one for D alone (d_width, ...)
    steps: Callable | None = None  # cfg -> {d_step, g_step, d_loss, g_loss}, or {train} for a family
    # trained without an adversary (its "discriminator" is then an encoder); None: the loss zoo's
    losses: tuple[str, ...] | None = None  # the only cfg.loss it trains with; None: any pair
    data: str = "images"  # "images" (and labels), "pairs" (pix2pix tasks), "unpaired" (two domains of
    # a pix2pix task, CycleGAN), "points" (toy.TOY_DATASETS)
    use: str = "sample"  # what a trained one does: "sample" from noise or "translate" inputs
    train_args: tuple[str, ...] = ()  # TrainConfig fields only this family reads; others refuse them


def _conditional_steps(name: str) -> Callable:
    def steps(cfg) -> dict:
        from gancourse.conditional import TRAINING
        return TRAINING[name]
    return steps


def _pix2pix_steps(cfg) -> dict:
    from gancourse.pix2pix import make_steps
    return make_steps(cfg.lambda_l1, cfg.adversarial)


_IMBALANCE = ("minority", "keep")  # one class cut to a fraction of its images (lecture 13)
FAMILIES: dict[str, Family] = {
    "mlp-gan": Family(MLPGenerator, MLPDiscriminator, ("latent_dim",), ()),
    "dcgan": Family(DCGANGenerator, DCGANDiscriminator, ("latent_dim", "width", "channels", "image_size"),
                    ("width", "norm", "dropout", "channels", "pack", "image_size"), packed_steps),
    "cgan": Family(ConditionalGenerator, ConditionalDiscriminator, ("latent_dim", "width", "embed_std"),
                   ("width",), _conditional_steps("cgan"), ("non-saturating",), train_args=_IMBALANCE),
    "acgan": Family(ConditionalGenerator, ACGANDiscriminator, ("latent_dim", "width", "embed_std"),
                    ("width",), _conditional_steps("acgan"), ("non-saturating",), train_args=_IMBALANCE),
    # class-imbalanced data (lecture 13): an autoencoder's decoder and encoder start G and D, a Gaussian
    # per class in code space conditions G, D is a (C+1)-way classifier
    "bagan": Family(BAGANGenerator, BAGANDiscriminator, ("latent_dim", "width"), ("latent_dim", "width"),
                    bagan_steps, ("non-saturating",), train_args=("ae_steps", *_IMBALANCE)),
    "pix2pix": Family(UNetGenerator, PatchDiscriminator, ("width",), ("width",),  # no noise: dropout
                      _pix2pix_steps, ("non-saturating",), data="pairs", use="translate"),
    # two generators and two discriminators as one family, the pools of past fakes inside D
    "cyclegan": Family(CycleGenerator, CycleDiscriminator, ("width", "norm"), ("width", "pool_size"), cyclegan_steps,
                       ("lsgan",), data="unpaired", use="translate", train_args=("lambda_cycle", "lambda_identity")),
    "began": Family(DCGANGenerator, BEGANDiscriminator, ("latent_dim", "width"),
                    ("width", "code_dim", "gamma", "lambda_k"), began_steps, ("began",)),
    "toy-gan": Family(ToyGANGenerator, ToyGANDiscriminator, ("latent_dim", "hidden", "depth", "activation"),
                      ("hidden", "depth", "activation", "pack", "minibatch_std"), toy_gan_steps,
                      data="points", train_args=("unroll",)),
    # the generator alone (lecture 10): the DCGAN's G as a decoder, trained by reconstruction
    "autoencoder": Family(DCGANGenerator, Encoder, ("latent_dim", "width"), ("latent_dim", "width"),
                          autoencoder_steps(False), ("reconstruction",)),
    "vae": Family(DCGANGenerator, VariationalEncoder, ("latent_dim", "width"), ("latent_dim", "width"),
                  autoencoder_steps(True), ("vae",), train_args=("sigma",)),
}
MODELS = FAMILIES  # the name earlier versions used


def build_models(name: str, latent_dim: int = 100, **kwargs) -> tuple[nn.Module, nn.Module]:
    """Build the (G, D) pair registered as ``name``; ``kwargs`` go to whichever accepts them, and
    ``d_<arg>`` (``d_width``, ``d_norm``, ...) to D alone."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(FAMILIES)}")
    family = FAMILIES[name]
    d_only = {k[2:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("d_")}
    if "latent_dim" in family.g_args:
        kwargs = dict(kwargs, latent_dim=latent_dim)
    unknown = ({k for k in kwargs if k not in family.g_args and k not in family.d_args}
               | {f"d_{k}" for k in d_only if k not in family.d_args})
    if unknown:
        owners = sorted({other for k in unknown for other, f in FAMILIES.items()
                         if k.removeprefix("d_") in (*f.g_args, *f.d_args)})
        hint = f" ({', '.join(owners)} {'does' if len(owners) == 1 else 'do'})" if owners else ""
        raise ValueError(f"model {name!r} does not take {', '.join(sorted(unknown))}{hint}")
    G = family.generator(**{k: v for k, v in kwargs.items() if k in family.g_args})
    D = family.discriminator(**{**{k: v for k, v in kwargs.items() if k in family.d_args}, **d_only})
    return G, D


def summarize(model: nn.Module) -> str:
    """One line per layer with its parameter count, then the total (stable across versions)."""
    lines = [f"{type(model).__name__}"]
    for name, module in model.named_modules():
        if not list(module.children()):  # a leaf layer
            n = sum(p.numel() for p in module.parameters())
            lines.append(f"  {name:<10} {type(module).__name__:<12} {n:>10,}")
    lines.append(f"  {'total':<23} {sum(p.numel() for p in model.parameters()):>10,}")
    return "\n".join(lines)


__all__ = ["FAMILIES", "Family", "MODELS", "build_models", "summarize", "MLPGenerator", "MLPDiscriminator",
           "DCGANGenerator", "DCGANDiscriminator", "ConditionalGenerator",
           "ConditionalDiscriminator", "ACGANDiscriminator", "BEGANDiscriminator", "UNetGenerator", "PatchDiscriminator",
           "ToyGANGenerator", "ToyGANDiscriminator", "Encoder", "VariationalEncoder", "CycleGenerator",
           "CycleDiscriminator", "BAGANGenerator", "BAGANDiscriminator"]
