"""Model families, one file each, and the registry the CLI and ``load`` build from."""
from __future__ import annotations

from torch import nn

from gancourse.models.conditional import (ACGANDiscriminator, ConditionalDiscriminator,
                                          ConditionalGenerator)
from gancourse.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gancourse.models.mlp import MLPDiscriminator, MLPGenerator
from gancourse.models.pix2pix import PatchDiscriminator, UNetGenerator

# name -> (generator class, discriminator class, which keyword arguments each accepts)
MODELS = {
    "mlp-gan": (MLPGenerator, MLPDiscriminator, ("latent_dim",), ()),
    "dcgan": (DCGANGenerator, DCGANDiscriminator, ("latent_dim", "width"), ("width",)),
    "cgan": (ConditionalGenerator, ConditionalDiscriminator, ("latent_dim", "width", "embed_std"),
             ("width",)),
    "acgan": (ConditionalGenerator, ACGANDiscriminator, ("latent_dim", "width", "embed_std"),
              ("width",)),
    "pix2pix": (UNetGenerator, PatchDiscriminator, ("width",), ("width",)),  # no noise: dropout
}


def build_models(name: str, latent_dim: int = 100, **kwargs) -> tuple[nn.Module, nn.Module]:
    """Build the (G, D) pair registered as ``name``; ``kwargs`` go to whichever accepts them."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    g_cls, d_cls, g_args, d_args = MODELS[name]
    d_width = kwargs.pop("d_width", None)  # D's own width, where it should differ from G's
    if d_width is not None and "width" not in d_args:
        raise ValueError(f"model {name!r} does not take d_width")
    if "latent_dim" in g_args:
        kwargs = dict(kwargs, latent_dim=latent_dim)
    unknown = set(kwargs) - set(g_args) - set(d_args)
    if unknown:
        raise ValueError(f"model {name!r} does not take {', '.join(sorted(unknown))}")
    G = g_cls(**{k: v for k, v in kwargs.items() if k in g_args})
    d_kwargs = {k: v for k, v in kwargs.items() if k in d_args}
    if d_width is not None:
        d_kwargs["width"] = d_width
    D = d_cls(**d_kwargs)
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


__all__ = ["MODELS", "build_models", "summarize", "MLPGenerator", "MLPDiscriminator",
           "DCGANGenerator", "DCGANDiscriminator", "ConditionalGenerator",
           "ConditionalDiscriminator", "ACGANDiscriminator", "UNetGenerator", "PatchDiscriminator"]
