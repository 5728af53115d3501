"""Self-checks of lecture 10: the VAE's loss and reparameterisation, one gradient-ascent step on D,
and the Laplacian-variance sharpness measure."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import Fail, call, check, close, describe, expect_tensor, seeded
from gancourse.checks._loss import Arg, data, number, probe_loss
from gancourse.checks._modules import expect_device_follows, expect_one_device
from gancourse.energy import ascent_step
from gancourse.metrics import laplacian_variance
from gancourse.models.vae import vae_loss


# --- 10.1 the VAE's loss and the reparameterisation trick -----------------------------------------------
def _normal(name: str, *shape: int, scale: float = 1.0) -> Arg:
    return Arg(name, lambda g, dt, n: torch.randn(n, *shape, generator=g, dtype=dt) * scale)


def _terms(x, x_hat, mu, logvar, sigma, *, pixel_mean=False, batch_sum=False, kl_sign=1.0, kl_half=0.5,
           std_for_logvar=False, no_sigma=False, sigma_not_squared=False, no_two=False, kl_only_mu=False):
    """The loss, and (with one flag set) a common mistake's version of it."""
    sq = (x - x_hat).pow(2).flatten(1)
    sq = sq.mean(1) if pixel_mean else sq.sum(1)
    scale = 1.0 if no_sigma else (sigma if sigma_not_squared else sigma ** 2)
    recon = sq / (scale if no_two else 2 * scale)
    if std_for_logvar:  # logvar read as a standard deviation
        var = logvar ** 2
        kl = -kl_half * (1 + torch.log(var) - mu.pow(2) - var).flatten(1).sum(1)
    elif kl_only_mu:
        kl = 0.5 * mu.pow(2).flatten(1).sum(1)
    else:
        kl = -kl_half * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1)
    total = recon + kl_sign * kl
    return total.sum() if batch_sum else total.mean()


_VAE_MISTAKES = {
    "the reconstruction term is a SUM over an image's pixels (the log-likelihood of the whole image); a mean "
    "over pixels makes it 784 times too weak against the KL": dict(pixel_mean=True),
    "average over the batch (.mean() over images), do not sum": dict(batch_sum=True),
    "the KL is added, not subtracted: loss = reconstruction + KL (the negative ELBO)": dict(kl_sign=-1.0),
    "the KL's factor is -1/2: -0.5 * sum(1 + logvar - mu^2 - exp(logvar))": dict(kl_half=1.0),
    "the reconstruction is divided by 2 sigma^2, not left unscaled": dict(no_sigma=True),
    "divide by 2 sigma^2 (the variance), not 2 sigma": dict(sigma_not_squared=True),
    "the Gaussian's exponent has a 2: (x - x_hat)^2 / (2 sigma^2)": dict(no_two=True),
    "the KL also depends on the variance: -0.5 * sum(1 + logvar - mu^2 - exp(logvar))": dict(kl_only_mu=True),
}


def _with_constant(x, x_hat, mu, logvar, sigma):
    """The full Gaussian negative log-likelihood: the loss plus a constant, accepted too."""
    return vae_loss(x, x_hat, mu, logvar, sigma) + x[0].numel() * (math.log(sigma) + 0.5 * math.log(2 * math.pi))


def _check_reparameterize(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    gen = seeded(5)
    mu = torch.randn(4000, 3, generator=gen).mul(2).requires_grad_(True)
    logvar = torch.randn(4000, 3, generator=gen).requires_grad_(True)
    kept = (mu.detach().clone(), logvar.detach().clone())
    z = expect_tensor(call(fn, mu, logvar, what="reparameterize"), shape=mu.shape, what="z",
                      hint="one sample z per row of mu, the same shape")
    if z.dtype != mu.dtype:
        raise Fail(f"z is {z.dtype} for mu in {mu.dtype}", "draw eps with torch.randn_like(mu): mu's dtype and device")
    if not (torch.equal(mu.detach(), kept[0]) and torch.equal(logvar.detach(), kept[1])):
        raise Fail("reparameterize changed mu or logvar in place", "build z as a new tensor")
    std = (0.5 * kept[1]).exp()
    eps = (z.detach() - kept[0]) / std
    if eps.abs().max() < 1e-6:
        raise Fail("z equals mu: no noise was added", "z = mu + exp(logvar / 2) * eps with eps = torch.randn_like(mu)")
    if eps[:, 0].std() < 0.5 or (eps - eps[0]).abs().max() < 1e-6:
        raise Fail("the same noise was reused across samples", "draw one eps per entry: torch.randn_like(mu)")
    if not close(eps.mean(), 0.0, 0.03) or not close(eps.std(), 1.0, 0.03):
        hint = ("the standard deviation is exp(logvar / 2), not exp(logvar)"
                if close(((z.detach() - kept[0]) / kept[1].exp()).std(), 1.0, 0.08) else
                "the standard deviation is exp(logvar / 2), not logvar itself"
                if close(((z.detach() - kept[0]) / kept[1].abs().clamp(min=1e-3)).std(), 1.0, 0.2) else
                "eps is standard normal: torch.randn_like(mu), not torch.rand_like (uniform)"
                if eps.abs().max() < 1.01 else
                "z = mu + exp(logvar / 2) * eps with eps ~ N(0, 1)")
        raise Fail(f"(z - mu) / exp(logvar / 2) has mean {eps.mean().item():.2f} and std {eps.std().item():.2f}, "
                   f"expected a standard normal's 0 and 1", hint)
    inside, tail = (eps.abs() < 1).double().mean().item(), (eps.abs() > 2).double().mean().item()
    if abs(inside - 0.6827) > 0.02 or abs(tail - 0.0455) > 0.01 or eps.abs().max() < 3:
        raise Fail(f"{inside:.1%} of the noise lies within one standard deviation and {tail:.1%} beyond two, "
                   f"expected a normal's 68.3% and 4.6%",
                   "eps is standard normal, untouched: torch.randn_like(mu), not torch.rand_like, a clamp or a "
                   "sum of uniforms")
    if abs(torch.corrcoef(eps.T)[0, 1].item()) > 0.2:
        raise Fail("the code's dimensions share their noise", "draw one eps per entry: torch.randn_like(mu)")
    half = len(eps) // 2
    if abs(torch.corrcoef(torch.stack([eps[:half].flatten(), eps[half:2 * half].flatten()]))[0, 1].item()) > 0.1:
        raise Fail("one half of the batch repeats the other's noise", "draw one eps per entry: torch.randn_like(mu)")
    again = call(fn, mu.detach(), logvar.detach(), what="reparameterize")
    if isinstance(again, Tensor) and torch.equal(again.detach(), z.detach()):
        raise Fail("two calls gave the same z: the noise is not fresh",
                   "draw eps anew on every call (torch.randn_like(mu)), without reseeding")
    if not z.requires_grad:
        raise Fail("z is not connected to mu and logvar: no gradient reaches the encoder",
                   "the trick is to sample eps, then compute z from mu and logvar (torch.normal(mu, std) "
                   "does not pass gradients)")
    g_mu, g_lv = torch.autograd.grad(z.sum(), [mu, logvar], allow_unused=True)
    if g_mu is None or not torch.allclose(g_mu, torch.ones_like(g_mu), atol=1e-5):
        raise Fail("dz/dmu is not 1: the gradient does not pass through the sample to mu",
                   "sample eps = torch.randn_like(mu), then z = mu + std * eps (torch.normal(mu, std) "
                   "passes no gradient to mu)")
    if g_lv is None or not torch.allclose(g_lv, 0.5 * std * eps, atol=1e-4):
        raise Fail("dz/dlogvar is not exp(logvar / 2) * eps / 2: the noise's scale does not learn",
                   "compute std = torch.exp(0.5 * logvar) from logvar itself (not detached)")
    expect_one_device(fn, torch.zeros(2, 3), torch.zeros(2, 3), hint="draw eps with torch.randn_like(mu), where mu is")


@check("VAE loss and reparameterisation")
def check_vae_loss(loss_fn: Callable[..., Tensor], reparameterize_fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``loss_fn(x, x_hat, mu, logvar, sigma)`` = mean over images of
    sum((x - x_hat)^2) / (2 sigma^2) - 1/2 sum(1 + logvar - mu^2 - exp(logvar)) (the Gaussian's
    log-normaliser may be added), and ``reparameterize_fn(mu, logvar)`` = mu + exp(logvar / 2) eps
    with eps ~ N(0, I): a standard normal's noise, fresh per entry, gradients reaching mu and logvar."""
    args = [data("x", 2, 3, 3, low=-1.0, high=1.0), data("x_hat", 2, 3, 3, low=-1.5, high=1.5),
            _normal("mu", 3, scale=1.5), _normal("logvar", 3), number("sigma", 0.1, 1.0)]
    mistakes = {hint: (lambda flags: lambda *a: _terms(*a, **flags))(flags) for hint, flags in _VAE_MISTAKES.items()}
    probe_loss(loss_fn, args, vae_loss, alternatives=(_with_constant,), mistakes=mistakes, what="the VAE loss")
    _check_reparameterize(reparameterize_fn)


# --- 10.2 one gradient-ascent step on D's score ---------------------------------------------------------
class _Bowl(nn.Module):
    """D(x) = -sum(a (x - c)^2) per image: its gradient -2 a (x - c) differs per pixel and per image.
    Counts its calls and keeps the mode it was called in."""

    def __init__(self, a: Tensor, c: Tensor) -> None:
        super().__init__()
        self.a, self.c = nn.Parameter(a), nn.Parameter(c)
        self.calls, self.modes = 0, []

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        self.modes.append(self.training)
        return -(self.a * (x - self.c).pow(2)).flatten(1).sum(1)


def _reference_ascent(D, x, step_size):
    grad = -2 * D.a.detach() * (x - D.c.detach())
    return (x + step_size * grad).clamp(-1, 1)


@check("gradient-ascent step on D")
def check_ascent_step(fn: Callable[[nn.Module, Tensor, float], Tensor]) -> None:
    """Check ``fn(D, x, step_size)`` = clamp(x + step_size * grad_x D(x), -1, 1) for each image
    (the gradient of D(x).sum(), so no image's step depends on the batch), returned detached, with
    ``x`` left as it was and no gradient collected in D's weights."""
    gen = seeded(2)
    for shape, step, training, dtype in (((5, 1, 4, 4), 0.3, False, torch.float32),
                                         ((8, 2, 3, 3), 0.05, True, torch.float32),
                                         ((1, 1, 5, 5), 0.2, False, torch.float64)):
        a = (torch.rand(shape[1:], generator=gen) + 0.2).to(dtype)
        c = (torch.rand(shape[1:], generator=gen) * 1.6 - 0.8).to(dtype)
        D = _Bowl(a, c).train(training)
        sentinel = [torch.full_like(p, 0.5) for p in D.parameters()]
        for p, g in zip(D.parameters(), sentinel):
            p.grad = g.clone()  # gradients the caller already holds: the step must leave them alone
        x = (torch.rand(shape, generator=gen) * 1.6 - 0.8).to(dtype)
        kept, version = x.clone(), x._version
        out = expect_tensor(call(fn, D, x, step, what="your step"), shape=x.shape, what="the new x",
                            hint="return the images after the step, the same shape as x")
        if not torch.equal(x, kept) or x._version != version:
            raise Fail("x was changed in place", "work on a detached copy: x = x.detach().requires_grad_(True)")
        if x.requires_grad or x.grad is not None:
            raise Fail("the caller's x now requires a gradient or holds one",
                       "work on a copy: x = x.detach().requires_grad_(True), not x.requires_grad_() on the caller's x")
        if out.dtype != dtype:
            raise Fail(f"the new x is {out.dtype} for x in {dtype}", "keep x's dtype: no .float()")
        want = _reference_ascent(D, kept, step)
        if not torch.allclose(out.detach(), want, atol=1e-5):
            grad = -2 * a * (kept - c)
            hints = [
                (kept - step * grad, "that is a descent step: ascend, x + step_size * grad, to RAISE D's score"),
                (kept + step * grad / len(kept), "the gradient of D(x).mean() is divided by the batch size: "
                                                  "differentiate D(x).sum(), so each image gets its own gradient"),
                (kept + step * grad.sign(), "take the gradient itself, not its sign"),
                (kept + step * grad / grad.flatten(1).norm(dim=1).view(-1, *[1] * (x.dim() - 1)),
                 "take the gradient itself, not the gradient divided by its norm"),
                (kept + step * grad, "clamp the result to the image range: .clamp(-1, 1)"),
            ]
            hint = next((h for value, h in hints if torch.allclose(out.detach(), value.clamp(-1, 1), atol=1e-5)
                         or torch.allclose(out.detach(), value, atol=1e-5)),
                        "new x = clamp(x + step_size * dD(x).sum()/dx, -1, 1)")
            raise Fail(f"the new x is off by up to {(out.detach() - want).abs().max().item():.3g}", hint)
        if out.requires_grad:
            raise Fail("the new x still carries a graph through D", "return it detached: (...).detach()")
        if any(p.grad is None or not torch.equal(p.grad, g) for p, g in zip(D.parameters(), sentinel)):
            raise Fail("D's weights' gradients were changed (added to, zeroed or removed)",
                       "use torch.autograd.grad(D(x).sum(), x): it touches no .grad, not .backward() or zero_grad()")
        if not all(p.requires_grad for p in D.parameters()):
            raise Fail("D's weights no longer require gradients: D could not be trained after your step",
                       "leave D's requires_grad alone; torch.autograd.grad(..., x) needs no freezing")
        if D.calls != 1:
            raise Fail(f"D was called {D.calls} times for one step", "one forward pass, one gradient")
        if D.training != training or any(mode != training for mode in D.modes):
            raise Fail("D's train/eval mode was changed", "leave D's mode to the caller: no D.train() or D.eval()")
    # a step that would leave the image range is clamped back into it
    D = _Bowl(torch.ones(1, 2, 2), torch.full((1, 2, 2), 5.0)).eval()
    out = expect_tensor(call(fn, D, torch.zeros(3, 1, 2, 2), 10.0, what="your step"), what="the new x")
    if out.detach().abs().max() > 1 + 1e-6:
        raise Fail(f"a long step left the image range: max |x| = {out.detach().abs().max().item():.3g}",
                   "clamp the result to the image range: .clamp(-1, 1)")
    expect_one_device(lambda x: fn(_Bowl(torch.ones(1, 2, 2), torch.zeros(1, 2, 2)).eval().to(x.device), x, 0.1),
                      torch.zeros(2, 1, 2, 2), hint="make nothing on a fixed device and move nothing off it; work from x")


# --- 10.3 sharpness: the variance of the Laplacian ------------------------------------------------------
_KERNEL = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _lap(images: Tensor, padding: int = 0, kernel: Tensor = _KERNEL, unbiased: bool = True) -> Tensor:
    k = kernel.to(images.dtype).view(1, 1, 3, 3)
    return F.conv2d(images, k, padding=padding).flatten(1).var(dim=1, unbiased=unbiased)


_SHARP_MISTAKES = [
    (lambda x: _lap(x, padding=1), "no padding: take the Laplacian only where the 3x3 kernel fits "
                                   "(zero padding invents edges at the border, where MNIST's background is -1)"),
    (lambda x: x.flatten(1).var(1), "take the variance of the Laplacian of the image, not of the image itself"),
    (lambda x: F.conv2d(x, _KERNEL.to(x.dtype).view(1, 1, 3, 3)).flatten(1).mean(1),
     "the variance of the Laplacian, not its mean (which is near 0)"),
    (lambda x: F.conv2d(x, _KERNEL.to(x.dtype).view(1, 1, 3, 3)).abs().flatten(1).mean(1),
     "the variance of the Laplacian, not the mean of its absolute value"),
    (lambda x: _lap(x, kernel=torch.tensor([[1.0, 1, 1], [1, -8, 1], [1, 1, 1]])),
     "use the 4-neighbour kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]], not the 8-neighbour one"),
    (lambda x: _lap(x, kernel=torch.tensor([[0.0, 0, 0], [1, -2, 1], [0, 0, 0]])),
     "the Laplacian adds the second differences in both directions: [[0, 1, 0], [1, -4, 1], [0, 1, 0]]"),
]


@check("Laplacian-variance sharpness")
def check_laplacian_variance(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(images)`` for images (N, 1, H, W): per image (N,), the variance over its pixels of
    the 3x3 Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]] taken where the kernel fits (no padding);
    the biased variance is accepted too."""
    gen = seeded(3)
    for shape in ((4, 1, 8, 8), (3, 1, 28, 28), (1, 1, 6, 7), (2, 1, 5, 9)):
        x = torch.rand(shape, generator=gen) * 2 - 1
        x[:, :, :, : shape[3] // 2] = -1  # half background, like a digit's margin
        kept, version = x.clone(), x._version
        out = expect_tensor(call(fn, x, what="your sharpness"), what="the sharpness",
                            hint="one number per image: shape (N,)")
        if not torch.equal(x, kept) or x._version != version:
            raise Fail("the images were changed in place", "leave the caller's tensors alone")
        if tuple(out.shape) != (shape[0],):
            raise Fail(f"the sharpness is {describe(out)} for {shape[0]} images, expected shape ({shape[0]},)",
                       "one number per image: the variance over each image's own Laplacian, "
                       ".flatten(1).var(dim=1)")
        out = out.detach().double()
        accepted = [laplacian_variance(kept).double(), _lap(kept, unbiased=False).double()]
        if not any(torch.allclose(out, a, rtol=1e-4, atol=1e-6) for a in accepted):
            hint = next((h for wrong, h in _SHARP_MISTAKES if torch.allclose(out, wrong(kept).double(), rtol=1e-4)),
                        "conv2d with the kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]] (padding 0), then "
                        ".flatten(1).var(dim=1)")
            raise Fail(f"got {out[:3].tolist()} for the first images, expected {accepted[0][:3].tolist()}", hint)
    flat = torch.full((2, 1, 6, 6), 0.4)
    if expect_tensor(call(fn, flat, what="your sharpness"), what="the sharpness").detach().abs().max() > 1e-6:
        raise Fail("a flat image has sharpness 0, yours is not", "the Laplacian of a constant image is 0")
    fine = 1 + 1e-9 * torch.rand(2, 1, 6, 6, generator=gen, dtype=torch.float64)  # detail float32 cannot hold
    out64 = expect_tensor(call(fn, fine.clone(), what="your sharpness"), what="the sharpness")
    if out64.dtype != torch.float64:
        raise Fail(f"the sharpness came back as {out64.dtype} for float64 images",
                   "make the kernel with dtype=images.dtype")
    n = fine[0].numel() - 2 * (fine.shape[2] + fine.shape[3]) + 4  # pixels where the kernel fits
    if not any(torch.allclose(out64.detach(), want, rtol=1e-3, atol=0)
               for want in (laplacian_variance(fine), laplacian_variance(fine) * (n - 1) / n)):
        raise Fail("in float64 the sharpness loses the images' fine detail: it was computed in float32",
                   "make the kernel with dtype=images.dtype and do not convert the images")
    expect_one_device(fn, torch.zeros(2, 1, 5, 5), hint="make the kernel with device=images.device")
