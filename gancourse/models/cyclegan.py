"""CycleGAN for small images: translation between two domains without pairs (Zhu et al., 2017).

Two generators, G: A -> B and F: B -> A (``CycleGenerator.ab`` and ``.ba``, pix2pix's U-Net each), and
two discriminators, D_A judging images of A and D_B images of B (``CycleDiscriminator.d_a`` and
``.d_b``, PatchGANs that see one image, not a pair). Nothing tells G which b belongs to an a; the
cycle-consistency loss ties the two mappings together instead: F(G(a)) should give a back, and
G(F(b)) b. The least-squares adversarial loss, the identity loss and a pool of 50 past fakes for
each discriminator are the paper's recipe. The pools are module buffers, so a resumed run finds them
as they were.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gancourse.models.pix2pix import PatchDiscriminator, UNetGenerator


class CycleGenerator(nn.Module):
    """Both mappings: ``ab`` (G: A -> B) and ``ba`` (F: B -> A). Calling it translates A -> B, so
    :func:`gancourse.pix2pix.translate` works on it as on a pix2pix generator; ``translate(G.ba, x)``
    goes the other way.

    Each mapping is pix2pix's U-Net without dropout (CycleGAN has no noise at all) and with
    InstanceNorm, the paper's choice: each generator sees images of both domains in training (the
    identity loss feeds G images of B), so BatchNorm's running statistics would fit neither.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *, width: int = 64, depth: int = 5,
                 norm: str = "instance") -> None:
        super().__init__()
        self.ab = UNetGenerator(in_channels, out_channels, width=width, depth=depth, dropout=0.0, norm=norm)
        self.ba = UNetGenerator(out_channels, in_channels, width=width, depth=depth, dropout=0.0, norm=norm)
        self.in_channels = in_channels

    def forward(self, a: Tensor) -> Tensor:
        return self.ab(a)


class PatchCritic(PatchDiscriminator):
    """pix2pix's PatchGAN judging a single image (no condition): (B, C, H, W) -> (B, 1, H', W'),
    with InstanceNorm in place of BatchNorm, as in CycleGAN (a batch of reals and one of fakes then
    cannot be told apart by their batch statistics)."""

    def __init__(self, in_channels: int = 1, *, width: int = 64, n_layers: int = 1) -> None:
        super().__init__(in_channels, width=width, n_layers=n_layers)
        for i, layer in enumerate(self.net):
            if isinstance(layer, nn.BatchNorm2d):
                self.net[i] = nn.InstanceNorm2d(layer.num_features)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        return self.net(x)


class ImagePool(nn.Module):
    """The last ``size`` fakes shown to a discriminator (Shrivastava et al., 2017; CycleGAN section 4).

    ``pool(fakes)`` returns the batch D trains on: while the pool fills, the fakes themselves (each
    is stored); once it is full, each fake is, with probability 1/2, swapped for a random stored
    one (which it replaces in the pool), else passed on. D then keeps seeing fakes of past
    generators, which damps oscillation. Decisions use torch's global random stream and the pool is
    a buffer, so a checkpoint resumes it exactly. ``size=0`` passes fakes through.
    """

    def __init__(self, size: int = 50, shape: tuple[int, ...] = (1, 32, 32)) -> None:
        super().__init__()
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def forward(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            return fakes.detach()
        if tuple(fakes.shape[1:]) != tuple(self.images.shape[1:]):
            raise ValueError(f"the pool holds images of shape {tuple(self.images.shape[1:])}, "
                             f"got {tuple(fakes.shape[1:])}")
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size:  # still filling: keep it and pass it on
                self.images[n] = out[i]
                self.count += 1
            elif torch.rand(()) < 0.5:  # swap: D sees an older fake, the new one takes its place
                j = int(torch.randint(self.size, ()))
                old = self.images[j].clone()
                self.images[j] = out[i]
                out[i] = old
        return out


class CycleDiscriminator(nn.Module):
    """Both discriminators, ``d_a`` (is this image from A?) and ``d_b`` (from B?), each with its pool
    of past fakes (``pool_a``, ``pool_b``)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *, width: int = 64, pool_size: int = 50,
                 image_size: int = 32) -> None:
        super().__init__()
        self.d_a = PatchCritic(in_channels, width=width)
        self.d_b = PatchCritic(out_channels, width=width)
        self.pool_a = ImagePool(pool_size, (in_channels, image_size, image_size))
        self.pool_b = ImagePool(pool_size, (out_channels, image_size, image_size))


def cycle_loss(G: nn.Module, F: nn.Module, a: Tensor, b: Tensor) -> Tensor:
    """Cycle consistency: mean |F(G(a)) - a| + mean |G(F(b)) - b|."""
    return (F(G(a)) - a).abs().mean() + (G(F(b)) - b).abs().mean()


def cyclegan_generator_loss(G: nn.Module, F: nn.Module, D_A: nn.Module, D_B: nn.Module, a: Tensor, b: Tensor,
                            lambda_cycle: float = 10.0, lambda_identity: float = 0.5) -> Tensor:
    """Both generators' objective: least-squares adversarial terms (D_B on G(a), D_A on F(b), each
    pushed towards 1) + lambda_cycle x the cycle loss + lambda_cycle x lambda_identity x the identity
    loss (mean |G(b) - b| + mean |F(a) - a|: a mapping fed an image already of its target domain
    should leave it alone). The weights are the paper's (10 and 0.5, as in its code)."""
    terms = cyclegan_terms(G, F, D_A, D_B, a, b, lambda_cycle, lambda_identity)
    return terms["loss"]


def cyclegan_terms(G, F, D_A, D_B, a, b, lambda_cycle, lambda_identity) -> dict:
    fake_b, fake_a = G(a), F(b)
    adversarial = ((D_B(fake_b) - 1) ** 2).mean() + ((D_A(fake_a) - 1) ** 2).mean()
    cycle = (F(fake_b) - a).abs().mean() + (G(fake_a) - b).abs().mean()
    loss = adversarial + lambda_cycle * cycle
    identity = None
    if lambda_identity > 0:
        identity = (G(b) - b).abs().mean() + (F(a) - a).abs().mean()
        loss = loss + lambda_cycle * lambda_identity * identity
    return {"loss": loss, "adversarial": adversarial, "cycle": cycle, "identity": identity, "fake_b": fake_b}


def cyclegan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """One discriminator's least-squares loss, halved as in the paper (D learns at half G's pace):
    0.5 (mean (D(real) - 1)^2 + mean D(fake)^2)."""
    return 0.5 * (((real_scores - 1) ** 2).mean() + (fake_scores ** 2).mean())


def cyclegan_steps(cfg) -> dict:
    """``d_step`` and ``g_step`` for train_gan on unpaired batches (a, b)."""
    from gancourse.train import finite, frozen, gradient_norm

    lambda_cycle, lambda_identity = cfg.lambda_cycle, cfg.lambda_identity

    def d_step(G: CycleGenerator, D: CycleDiscriminator, batch: tuple[Tensor, Tensor], opt_d, d_loss) -> dict:
        """(1) D_A and D_B: real images of their domain against fakes drawn through the pools."""
        a, b = batch
        with torch.no_grad():  # D's update must not flow back into the generators
            fake_b, fake_a = D.pool_b(G.ab(a)), D.pool_a(G.ba(b))
        real_b, real_a = D.d_b(b), D.d_a(a)
        loss = d_loss(real_b, D.d_b(fake_b)) + d_loss(real_a, D.d_a(fake_a))
        loss_d = finite("the discriminator loss", loss)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        return {"loss_d": loss_d, "score_real_b": real_b.mean().item(), "score_real_a": real_a.mean().item()}

    def g_step(G: CycleGenerator, D: CycleDiscriminator, batch: tuple[Tensor, Tensor], opt_g, g_loss) -> dict:
        """(2) G and F together: fool both discriminators, close both cycles, keep identities."""
        a, b = batch
        with frozen(D):  # the discriminators are not trained here
            terms = cyclegan_terms(G.ab, G.ba, D.d_a, D.d_b, a, b, lambda_cycle, lambda_identity)
            loss_g = finite("the generator loss", terms["loss"])
            opt_g.zero_grad(set_to_none=True)
            terms["loss"].backward()
        grad_norm = gradient_norm(G)
        opt_g.step()
        row = {"loss_g": loss_g, "adversarial": terms["adversarial"].item(), "cycle": terms["cycle"].item(),
               "grad_norm_g": grad_norm}
        if terms["identity"] is not None:
            row["identity"] = terms["identity"].item()
        return row

    return {"d_step": d_step, "g_step": g_step, "d_loss": cyclegan_discriminator_loss, "g_loss": None}
