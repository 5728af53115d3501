"""Self-checks of lecture 8: the least-squares losses, the hinge loss and the WGAN-GP gradient penalty."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import Fail, call, check, close, expect_scalar, seeded
from gancourse.checks._loss import logits, probe_loss
from gancourse.checks._modules import expect_device_follows
from gancourse.losses import hinge_discriminator_loss, lsgan_discriminator_loss, lsgan_generator_loss


@check("least-squares losses")
def check_lsgan_losses(d_loss: Callable[[Tensor, Tensor], Tensor], g_loss: Callable[[Tensor], Tensor]) -> None:
    """Check ``d_loss(real_scores, fake_scores)`` = E[(D(x) - 1)^2] + E[D(G(z))^2] and
    ``g_loss(fake_scores)`` = E[(D(G(z)) - 1)^2] (Mao et al.'s halved forms are accepted too)."""
    d_mistakes = {
        "targets swapped: real scores go to 1, fake scores to 0": lambda r, f: ((r ** 2).mean() + ((f - 1) ** 2).mean()),
        "minus between the terms (the slide's sign): both squared errors are minimised, so add them":
            lambda r, f: ((r - 1) ** 2).mean() - (f ** 2).mean(),
        "a sigmoid squashes the scores: least squares works on D's raw output":
            lambda r, f: lsgan_discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)),
        "not squared: (D(x) - 1)^2, not |D(x) - 1| or D(x) - 1": lambda r, f: (r - 1).abs().mean() + f.abs().mean(),
    }
    probe_loss(d_loss, [logits("real_scores"), logits("fake_scores")], lsgan_discriminator_loss,
               alternatives=(lambda r, f: lsgan_discriminator_loss(r, f) / 2,), mistakes=d_mistakes,
               what="D's loss")
    g_mistakes = {
        "target 0: G wants D to score its fakes as real, 1": lambda f: (f ** 2).mean(),
        "a sigmoid squashes the scores: least squares works on D's raw output":
            lambda f: lsgan_generator_loss(torch.sigmoid(f)),
        "the sign of a WGAN generator: least squares G minimises (D(G(z)) - 1)^2": lambda f: -f.mean(),
    }
    probe_loss(g_loss, [logits("fake_scores")], lsgan_generator_loss,
               alternatives=(lambda f: lsgan_generator_loss(f) / 2,), mistakes=g_mistakes, what="G's loss")


@check("hinge discriminator loss")
def check_hinge_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(real_scores, fake_scores)`` = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    mistakes = {
        "no max(0, .): that is the WGAN critic, whose scores grow without bound":
            lambda r, f: (1 - r).mean() + (1 + f).mean(),
        "margins swapped: real scores should exceed +1, fake scores stay below -1":
            lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(),
        "the max is taken after averaging: max(0, 1 - D(x)) is per sample, then averaged":
            lambda r, f: F.relu(1 - r.mean()) + F.relu(1 + f.mean()),
        "a sigmoid squashes the scores: the hinge works on D's raw output":
            lambda r, f: hinge_discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)),
    }
    probe_loss(fn, [logits("real_scores"), logits("fake_scores")], hinge_discriminator_loss,
               mistakes=mistakes, what="the loss")


class _Recorder(nn.Module):
    """D(x) = 0.5 sum(a * x^2) per sample, whose input gradient a * x changes from point to point;
    it keeps every input it is called on."""

    def __init__(self, a: Tensor, linear: Tensor | None = None) -> None:
        super().__init__()
        self.a = nn.Parameter(a)
        self.w = nn.Parameter(linear) if linear is not None else None
        self.seen: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(x.detach().clone())
        flat = x.flatten(1)
        if self.w is not None:
            return flat @ self.w
        return 0.5 * (self.a * flat ** 2).sum(1)


def _penalty_at(D: nn.Module, points: Tensor) -> Tensor:
    x = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


@check("gradient penalty")
def check_gradient_penalty(fn: Callable[[nn.Module, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(D, x_real, x_fake)``: E[(||grad_x D(x_hat)|| - 1)^2] at x_hat = eps x_real +
    (1 - eps) x_fake, one eps ~ U[0, 1] per sample, kept in the graph so that D learns from it."""
    gen = seeded(0)
    for shape in ((8, 1, 4, 4), (5, 3, 2, 2)):
        dim = shape[1] * shape[2] * shape[3]
        x_real, x_fake = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
        before = (x_real.clone(), x_fake.clone())
        # 1. a linear critic: the input gradient is w everywhere, so the penalty is (|w| - 1)^2
        w = torch.randn(dim, generator=gen)
        w = w / w.norm() * 3.0
        D = _Recorder(torch.ones(dim), linear=w.clone())
        value = expect_scalar(call(fn, D, x_real, x_fake), "the penalty")
        if not close(value, 4.0, 1e-3):
            batch_norm = (3.0 * len(x_real) ** 0.5 - 1) ** 2
            raise Fail(f"for D(x) = w.x with |w| = 3 the penalty is 4, got {value.item():.4f}",
                       "the norm is per sample: .flatten(1).norm(dim=1), not one norm over the batch"
                       if close(value, batch_norm, 1e-3) else
                       "differentiate D(x_hat).sum() (not .mean()), then per sample (||grad|| - 1)^2, averaged")
        if not (torch.equal(x_real, before[0]) and torch.equal(x_fake, before[1])):
            raise Fail("x_real or x_fake was changed in place", "build x_hat as a new tensor; detach, never modify")
        if not value.requires_grad:
            raise Fail("the penalty is not connected to D's weights", "torch.autograd.grad(..., create_graph=True)")
        D.zero_grad()
        value.backward()
        if D.w.grad is None or not torch.allclose(D.w.grad, 2 * (3.0 - 1) * w / 3.0, atol=1e-4):
            raise Fail("the penalty's gradient with respect to D's weights is wrong",
                       "differentiate D(x_hat).sum() with create_graph=True, so the penalty trains D")
        # 1b. a gentle critic: |w| = 0.5 < 1, penalised too, (0.5 - 1)^2 = 0.25
        D = _Recorder(torch.ones(dim), linear=w / 6.0)
        value = expect_scalar(call(fn, D, x_real, x_fake), "the penalty")
        if not close(value, 0.25, 1e-3):
            raise Fail(f"for D(x) = w.x with |w| = 0.5 the penalty is 0.25, got {value.item():.4f}",
                       "WGAN-GP penalises gradients below 1 as well as above: (||grad|| - 1)^2, not "
                       "relu(||grad|| - 1)^2" if close(value, 0.0, 1e-6) else
                       "per sample (||grad|| - 1)^2, averaged")
        # 2. a critic whose gradient changes: with x_fake = x_real every x_hat is x_real itself
        D = _Recorder(torch.rand(dim, generator=gen) * 2 + 0.2)
        value = expect_scalar(call(fn, D, x_real, x_real.clone()), "the penalty")
        reference = _penalty_at(D, x_real)
        if not close(value, reference, 1e-3):
            batch = ((torch.autograd.grad(D(x_real.requires_grad_()).sum(), x_real)[0].norm() - 1) ** 2).item()
            x_real = x_real.detach()
            hint = ("the norm is per sample: .flatten(1).norm(dim=1), not one norm over the batch"
                    if close(value, batch, 1e-3) else
                    "per sample: (||dD/dx_hat|| - 1)^2 with the norm over all of a sample's pixels, then the mean")
            raise Fail(f"got {value.item():.4f}, expected {reference.item():.4f} where x_hat = x_real", hint)
        # 3. the points: one eps in [0, 1] per sample, on the segment from x_fake to x_real
        D = _Recorder(torch.rand(dim, generator=gen) + 0.5)
        value = expect_scalar(call(fn, D, x_real, x_fake), "the penalty")
        calls = [x for x in D.seen if x.shape[1:] == x_real.shape[1:]  # one call, or one per sample
                 and not (x.shape == x_real.shape and (torch.equal(x, x_real) or torch.equal(x, x_fake)))]
        x_hat = torch.cat(calls) if calls else None
        if x_hat is None or len(x_hat) != len(x_real):
            raise Fail("D's gradient was not taken between the real and the fake images",
                       "call D on x_hat = eps x_real + (1 - eps) x_fake (at x_real alone it is R1, not WGAN-GP)")
        eps = ((x_hat - x_fake).flatten(1) * (x_real - x_fake).flatten(1)).sum(1) / \
            ((x_real - x_fake).flatten(1) ** 2).sum(1)
        off_segment = (x_hat - (x_fake + eps.view(-1, 1, 1, 1) * (x_real - x_fake))).abs().max()
        if off_segment > 1e-4 or (eps < -1e-6).any() or (eps > 1 + 1e-6).any():
            raise Fail("the points D's gradient is taken at are not on the segments between x_fake and x_real",
                       "one eps ~ U[0, 1] per sample, of shape (B, 1, 1, 1), the same for all its pixels")
        if len(eps) > 1 and eps.std() < 1e-6:
            raise Fail("every sample got the same eps", "draw eps per sample: torch.rand(B, 1, 1, 1)")
        if not close(value, _penalty_at(D, x_hat), 1e-3):
            raise Fail("the penalty is not the one at the points D was called on",
                       "take the gradient of D at x_hat itself (x_hat.requires_grad_(True))")
    # 4. on another device: eps must be drawn where the images are
    expect_device_follows(fn, _Recorder(torch.ones(4)), torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2),
                          hint="draw eps where the images are: torch.rand(B, 1, 1, 1, device=x_real.device)")
    # 5. eps ~ U[0, 1], fresh at every call: 400 samples, twice, on a seeded (forked) random state
    torch.random.default_generator.manual_seed(0)
    x_real, x_fake = torch.randn(400, 1, 1, 2, generator=gen), torch.randn(400, 1, 1, 2, generator=gen)
    draws = []
    for _ in range(2):
        D = _Recorder(torch.ones(2))
        call(fn, D, x_real, x_fake)
        x_hat = torch.cat([x for x in D.seen if x.shape[1:] == x_real.shape[1:]])[-400:]
        draws.append((((x_hat - x_fake).flatten(1) * (x_real - x_fake).flatten(1)).sum(1)
                      / ((x_real - x_fake).flatten(1) ** 2).sum(1)).clamp(0, 1))
    if torch.allclose(draws[0], draws[1]):
        raise Fail("two calls on the same images used the same eps", "draw eps at random at every call: "
                   "torch.rand(B, 1, 1, 1), not a fixed grid such as torch.linspace")
    ordered = draws[0].sort().values
    grid = torch.arange(1, 401, dtype=ordered.dtype) / 400
    ks = torch.maximum((grid - ordered).abs(), (grid - 1 / 400 - ordered).abs()).max().item()
    if ks > 2.2 / 400 ** 0.5:  # Kolmogorov-Smirnov against U[0, 1], false alarm about 1 in 10,000
        raise Fail(f"eps is not spread like U[0, 1] over 400 samples (largest gap from uniform {ks:.2f})",
                   "eps = torch.rand(B, 1, 1, 1): uniform on [0, 1], not rounded or squashed")
