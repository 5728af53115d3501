"""Self-checks of lecture 6: GAIN's hint, its masked discriminator loss and its generator loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.checks._base import _call, _close, _report, _wrong_shape

_GEN = torch.Generator().manual_seed(0)
_MASK = (torch.rand(6, 4, generator=_GEN) < 0.7).float()
_MASK[0, 0], _MASK[1, 1] = 0.0, 1.0  # at least one of each
_LOGITS = torch.randn(6, 4, generator=_GEN)
_X, _X_BAR = torch.rand(6, 4, generator=_GEN), torch.rand(6, 4, generator=_GEN)


def check_gain_hint(fn: Callable[[Tensor, float], Tensor]) -> bool:
    """Check ``fn(mask, hint_rate)``: H = M ⊙ B with B ~ Bernoulli(hint_rate), same shape as M."""
    name = "GAIN hint"
    torch.manual_seed(0)
    mask = (torch.rand(4000, 10) < 0.8).float()
    h, failed = _call(name, fn, mask.clone(), 0.9)
    if failed is not None:
        return failed
    hint = "return one hint per entry: a tensor shaped like the mask"
    if (failed := _wrong_shape(name, h, mask.shape, hint)) is not None:
        return failed
    if ((h != 0) & (h != 1)).any():
        return _report(name, "the hint has values other than 0 and 1",
                       "B is Bernoulli: (torch.rand_like(mask) < hint_rate).float()")
    if (h * (1 - mask)).any():
        return _report(name, "the hint is 1 where a value is missing",
                       "multiply B by the mask: H = M * B, so the hint never claims a missing value was observed")
    revealed = (h.sum() / mask.sum()).item()
    if revealed > 0.999:
        return _report(name, "the hint is the mask itself: it gives the whole answer away to D",
                       "draw B ~ Bernoulli(hint_rate) and return M * B")
    if abs(revealed - 0.9) > 0.02:
        hint = ("hint_rate is the probability that B = 1 (revealed): use rand < hint_rate, not rand > hint_rate"
                if abs(revealed - 0.1) < 0.02 else "B should be 1 with probability hint_rate")
        return _report(name, f"{revealed:.0%} of the observed entries are revealed, expected 90%", hint)
    again, _ = _call(name, fn, mask.clone(), 0.9)
    if torch.equal(again, h):
        return _report(name, "two calls returned the same hint", "draw fresh random numbers on every call")
    return _report(name)


def _bce(logits: Tensor, target: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def check_gain_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(d_logits, mask)``: cross-entropy of D's per-entry logits against the mask, mean."""
    name = "GAIN discriminator loss"
    value, failed = _call(name, fn, _LOGITS.clone(), _MASK.clone())
    if failed is not None:
        return failed
    if not isinstance(value, Tensor) or value.dim() != 0:
        return _report(name, "did not return a scalar tensor", "average over every entry with .mean()")
    reference = _bce(_LOGITS, _MASK).mean()
    mistakes = {
        "targets swapped: D should output 1 for observed entries (M = 1)": _bce(_LOGITS, 1 - _MASK).mean(),
        "sign flipped: minimise the cross-entropy": -reference,
        "sum instead of mean": _bce(_LOGITS, _MASK).sum(),
        "sigmoid applied twice: binary_cross_entropy_with_logits takes logits": _bce(torch.sigmoid(_LOGITS), _MASK).mean(),
        "only the missing entries are scored: D must classify every entry": (_bce(_LOGITS, _MASK) * (1 - _MASK)).mean(),
        "only the observed entries are scored: D must classify every entry": (_bce(_LOGITS, _MASK) * _MASK).mean(),
    }
    if not _close(value, reference):
        hint = next((h for h, wrong in mistakes.items() if _close(value, wrong)),
                    "F.binary_cross_entropy_with_logits(d_logits, mask), averaged over all entries")
        return _report(name, f"got {value.item():.4f}, expected {reference.item():.4f}", hint)
    return _report(name)


def check_gain_generator_loss(fn: Callable[[Tensor, Tensor, Tensor, Tensor, float], Tensor]) -> bool:
    """Check ``fn(d_logits, mask, x, x_bar, alpha)``: -mean((1 − M) log D) + alpha × observed MSE."""
    name = "GAIN generator loss"
    alpha = 10.0
    value, failed = _call(name, fn, _LOGITS.clone(), _MASK.clone(), _X.clone(), _X_BAR.clone(), alpha)
    if failed is not None:
        return failed
    if not isinstance(value, Tensor) or value.dim() != 0:
        return _report(name, "did not return a scalar tensor", "return adversarial + alpha * mse, one number")
    fooled = _bce(_LOGITS, torch.ones_like(_MASK))  # -log D
    adversarial = ((1 - _MASK) * fooled).mean()
    mse = ((_MASK * _X - _MASK * _X_BAR) ** 2).mean() / _MASK.mean()
    reference = adversarial + alpha * mse
    mistakes = {
        "the adversarial term covers every entry: only imputed ones (1 - M) should fool D":
            fooled.mean() + alpha * mse,
        "the reconstruction term is on the missing entries; G can only be compared where values were observed (M)":
            adversarial + alpha * (((1 - _MASK) * (_X - _X_BAR)) ** 2).mean() / (1 - _MASK).mean(),
        "the MSE is not divided by mean(M): average over observed entries only": adversarial + alpha * mse * _MASK.mean(),
        "alpha is missing: the reconstruction term is weighted by alpha": adversarial + mse,
        "the reconstruction term is subtracted: G should reduce the error": adversarial - alpha * mse,
        "the minimax form log(1 - D) saturates; use -log D on the imputed entries":
            -((1 - _MASK) * _bce(_LOGITS, torch.zeros_like(_MASK))).mean() + alpha * mse,
        "the adversarial term is missing (that is the reconstruction-only ablation)": alpha * mse,
    }
    if not _close(value, reference):
        hint = next((h for h, wrong in mistakes.items() if _close(value, wrong)),
                    "compare each term with the formula in the markdown cell above")
        return _report(name, f"got {value.item():.4f}, expected {reference.item():.4f}", hint)
    return _report(name)
