"""Self-checks of lecture 6: GAIN's hint, its masked discriminator loss and its generator loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.checks._base import Fail, call, check, describe, seeded
from gancourse.checks._loss import Arg, data, logits, mask, number, probe_loss


def _draw(fn: Callable, m: Tensor, rate: float, seed: int):
    with torch.random.fork_rng():  # the student's random state is left as it was
        torch.random.default_generator.manual_seed(seed)
        return call(fn, m, rate)


def _pairs_problem(h: Tensor, m: Tensor, rate: float) -> str | None:
    """Whether neighbouring observed entries are revealed independently, along rows and columns."""
    for axis, where in ((1, "in a row"), (0, "in a column")):
        a, b = h.narrow(axis, 0, h.shape[axis] - 1), h.narrow(axis, 1, h.shape[axis] - 1)
        both = (m.narrow(axis, 0, m.shape[axis] - 1) * m.narrow(axis, 1, m.shape[axis] - 1)).bool()
        n, joint = int(both.sum()), float((a * b)[both].mean())
        if abs(joint - rate ** 2) > 6 * (rate ** 2 * (1 - rate ** 2) / n) ** 0.5:
            return where
    return None


@check("GAIN hint")
def check_gain_hint(fn: Callable[[Tensor, float], Tensor]) -> None:
    """Check ``fn(mask, hint_rate)``: H = M ⊙ B with B ~ Bernoulli(hint_rate) drawn independently for
    every entry, a tensor shaped like M."""
    for shape, p, rate, dtype, seed in (((2000, 10), 0.8, 0.9, torch.float32, 0),
                                        ((300, 37), 0.5, 0.3, torch.float64, 1)):
        m = (torch.rand(shape, generator=seeded(seed + 10)) < p).to(dtype)
        kept = m.clone()
        h = _draw(fn, m, rate, seed)
        if not torch.equal(m, kept):
            raise Fail("the mask passed in was changed in place", "leave the caller's mask alone: no *= or mul_")
        if not isinstance(h, Tensor) or h.shape != m.shape:
            raise Fail(f"for a mask of shape {shape} it returned {describe(h)}",
                       "one hint per entry: draw B with the mask's shape, torch.rand_like(mask)")
        if not h.is_floating_point():
            raise Fail(f"returned {describe(h)}", "return a float tensor like the mask: (...).float() or .to(mask.dtype)")
        h = h.double()
        values = set(h.unique().tolist())
        if values == {0.0, 0.5, 1.0} or values == {0.5, 1.0}:
            raise Fail("the hint has values 0.5", "that is a 0.5-valued hint, B * M + 0.5 * (1 - B), the kind the GAIN paper describes; "
                       "this course uses H = M * B: 1 (observed, revealed) or 0 (missing or not revealed)")
        if not values <= {0.0, 1.0}:
            raise Fail("the hint has values other than 0 and 1",
                       "threshold the uniform draws: (torch.rand_like(mask) < hint_rate), then multiply by the mask")
        if (h * (1 - kept.double())).any():
            raise Fail("the hint is 1 where a value is missing",
                       "multiply B by the mask: H = M * B, so the hint never claims a missing value was observed")
        observed = kept.double().sum()
        revealed = (h.sum() / observed).item()
        if revealed > 0.999:
            raise Fail("the hint is the mask itself: it gives the whole answer away to D", "draw B ~ Bernoulli(hint_rate)")
        if abs(revealed - rate) > 6 * (rate * (1 - rate) / observed.item()) ** 0.5:
            hint = ("hint_rate is the probability that B = 1 (revealed): use rand < hint_rate, not rand > hint_rate"
                    if abs(revealed - (1 - rate)) < 0.02 else "B should be 1 with probability hint_rate")
            raise Fail(f"{revealed:.1%} of the observed entries are revealed, expected {rate:.0%}", hint)
        if (where := _pairs_problem(h, kept.double(), rate)) is not None:
            raise Fail(f"neighbouring entries {where} are revealed together more or less often than chance",
                       "draw B independently for every entry, with the mask's full shape, not one per row or column")
        if torch.equal(_draw(fn, m, rate, seed + 100).double(), h):
            raise Fail("two calls returned the same hint", "draw fresh random numbers on every call, no fixed seed")
    try:
        with torch.random.fork_rng():
            meta = fn(torch.ones(3, 4, device="meta"), 0.9)
    except Exception as err:  # noqa: BLE001 - only a device mix-up is this probe's business
        if "expected device" in str(err) or "same device" in str(err):
            raise Fail("with a mask on another device it raised an error",
                       "draw B on the mask's device: torch.rand_like(mask)") from None
        return
    if isinstance(meta, Tensor) and meta.device.type != "meta":
        raise Fail(f"for a mask on another device it returned {describe(meta)}", "use torch.rand_like(mask)")


def _bce(x: Tensor, target: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(x, target, reduction="none")


@check("GAIN discriminator loss")
def check_gain_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(d_logits, mask)``: cross-entropy of D's per-entry logits against the mask, mean."""
    mistakes = {
        "targets swapped: D should output 1 for observed entries (M = 1)": lambda l, m: _bce(l, 1 - m).mean(),
        "sign flipped: minimise the cross-entropy": lambda l, m: -_bce(l, m).mean(),
        "sum instead of mean": lambda l, m: _bce(l, m).sum(),
        "averaged per row and summed over columns: take the mean over every entry": lambda l, m: _bce(l, m).mean(0).sum(),
        "sigmoid applied twice: binary_cross_entropy_with_logits takes logits": lambda l, m: _bce(torch.sigmoid(l), m).mean(),
        "only the missing entries are scored: D must classify every entry": lambda l, m: (_bce(l, m) * (1 - m)).mean(),
        "only the observed entries are scored: D must classify every entry": lambda l, m: (_bce(l, m) * m).mean(),
    }
    probe_loss(fn, [logits("d_logits", 4), mask("mask", 4)], lambda l, m: _bce(l, m).mean(),
               mistakes=mistakes, what="the loss")


def _adversarial(l: Tensor, m: Tensor) -> Tensor:
    return ((1 - m) * _bce(l, torch.ones_like(m))).mean()  # -log D on the imputed entries


def _mse(m: Tensor, x: Tensor, x_bar: Tensor) -> Tensor:
    return ((m * x - m * x_bar) ** 2).mean() / m.mean()


@check("GAIN generator loss")
def check_gain_generator_loss(fn: Callable[[Tensor, Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """Check ``fn(d_logits, mask, x, x_bar, alpha)``: -mean((1 − M) log D) + alpha × observed MSE."""
    reference = lambda l, m, x, xb, a: _adversarial(l, m) + a * _mse(m, x, xb)  # noqa: E731
    mistakes = {
        "the adversarial term covers every entry: only imputed ones (1 - M) should fool D":
            lambda l, m, x, xb, a: _bce(l, torch.ones_like(m)).mean() + a * _mse(m, x, xb),
        "the reconstruction term is on the missing entries; G can only be compared where values were observed (M)":
            lambda l, m, x, xb, a: _adversarial(l, m) + a * _mse(1 - m, x, xb),
        "the MSE is not divided by mean(M): average over observed entries only":
            lambda l, m, x, xb, a: _adversarial(l, m) + a * _mse(m, x, xb) * m.mean(),
        "alpha is missing: the reconstruction term is weighted by alpha": lambda l, m, x, xb, a: reference(l, m, x, xb, 1.0),
        "alpha weights the adversarial term, not the reconstruction":
            lambda l, m, x, xb, a: a * _adversarial(l, m) + _mse(m, x, xb),
        "the reconstruction term is subtracted: G should reduce the error":
            lambda l, m, x, xb, a: _adversarial(l, m) - a * _mse(m, x, xb),
        "the minimax form log(1 - D) saturates; use -log D on the imputed entries":
            lambda l, m, x, xb, a: -((1 - m) * _bce(l, torch.zeros_like(m))).mean() + a * _mse(m, x, xb),
        "the adversarial term is missing (that is the reconstruction-only ablation)":
            lambda l, m, x, xb, a: a * _mse(m, x, xb),
        "the error is not squared: GAIN's reconstruction term is a mean squared error":
            lambda l, m, x, xb, a: _adversarial(l, m) + a * (m * (x - xb)).abs().mean() / m.mean(),
    }
    probe_loss(fn, [logits("d_logits", 4), mask("mask", 4), Arg("x", data("x", 4).make, grad=False),
                    data("x_bar", 4), number("alpha", 2.0, 20.0)], reference, mistakes=mistakes, what="the loss")
