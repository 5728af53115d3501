"""PacGAN's packing (Lin et al. 2018), shared by every family whose D can judge several samples at once.

D sees ``pack`` samples of one kind (all real or all fake) side by side and gives the group one
logit: a group of near-copies is easier to tell from a varied real group than one sample is from
one real sample. Points (B, 2) pack to (B / pack, 2 pack); images (B, C, H, W) to
(B / pack, pack C, H, W), the samples stacked as channels.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from torch import Tensor, nn


def check_pack(pack) -> int:
    """``pack`` if it is a whole number >= 1, else a ValueError."""
    if not isinstance(pack, int) or isinstance(pack, bool) or pack < 1:
        raise ValueError(f"pack must be a whole number of samples >= 1, got {pack!r}")
    return pack


def pack_samples(x: Tensor, pack: int) -> Tensor:
    """(B, C, ...) -> (B / pack, pack C, ...): each row holds ``pack`` consecutive samples, their
    first feature axis (coordinates, or channels) concatenated."""
    if len(x) % pack:
        raise ValueError(f"a batch of {len(x)} samples cannot be packed in groups of {pack}: "
                         f"use a batch size divisible by pack")
    return x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])


@dataclass(frozen=True)
class PackedPenalty:
    """A penalty of the zoo taken where a packed D looks: at interpolates of whole packs, with the
    gradient norm over each pack's features (not per sample). D must have ``pack`` and
    ``forward_packed``."""

    name: str  # "gp", "dragan" or "r1"

    def __call__(self, D: nn.Module, x_real: Tensor, x_fake: Tensor) -> Tensor:
        from gancourse.losses import PENALTIES
        return PENALTIES[self.name](D.forward_packed, pack_samples(x_real, D.pack), pack_samples(x_fake, D.pack))


def packed_steps(cfg) -> dict:
    """The steps of ``cfg.loss`` (any pair of the zoo), with a packed D's penalty taken per pack.
    Refuses a pack that does not divide the batch."""
    from gancourse.train import critic_step, steps_for

    kwargs = cfg.model_kwargs
    pack = check_pack(kwargs.get("d_pack", kwargs.get("pack", 1)))
    if cfg.batch_size % pack:
        raise ValueError(f"batch_size {cfg.batch_size} is not divisible by pack={pack}: D judges "
                         f"groups of {pack} samples")
    steps = steps_for(cfg)
    penalty = getattr(steps["d_step"], "keywords", {}).get("penalty", "none")
    if pack > 1 and isinstance(penalty, str) and penalty != "none":
        steps["d_step"] = partial(critic_step, **{**steps["d_step"].keywords, "penalty": PackedPenalty(penalty)})
    return steps
