"""Self-checks of lectures 3-4: the upsampling block, mismatched labels, cGAN and AC-GAN losses."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import (EXTREME_LOGITS, FAKE_LOGITS, REAL_LOGITS, _bce, _call, _check_loss,
                                    _close, _report, _wrong_shape)


def check_upsample_block(make_block: Callable[[int, int], nn.Module]) -> bool:
    """Check ``make_block(c_in, c_out)``: a transposed-conv block doubling H and W, with BN and ReLU."""
    name = "transposed-conv block"
    for c_in, c_out, size in ((128, 64, 7), (64, 32, 14), (16, 8, 5)):
        block, failed = _call(name, make_block, c_in, c_out)
        if failed is not None:
            return failed
        x = torch.randn(2, c_in, size, size, generator=torch.Generator().manual_seed(0))
        y, failed = _call(name, block, x)
        if failed is not None:
            return failed
        if tuple(y.shape) != (2, c_out, 2 * size, 2 * size):
            expected = (2, c_out, 2 * size, 2 * size)
            hint = ("ConvTranspose2d's output is (H - 1) * stride - 2 * padding + kernel_size "
                    "(+ output_padding): kernel_size=4, stride=2, padding=1 doubles H")
            if y.shape[1] != c_out:
                hint = "the block's last layer must output c_out channels"
            return _report(name, f"input {tuple(x.shape)} gave {tuple(y.shape)}, expected {expected}", hint)
    layers = list(block.modules())
    if not any(isinstance(m, nn.ConvTranspose2d) for m in layers):
        return _report(name, "no nn.ConvTranspose2d in the block", "this exercise is about transposed convolution")
    if not any(isinstance(m, nn.BatchNorm2d) for m in layers):
        return _report(name, "no BatchNorm2d", "add nn.BatchNorm2d(c_out) after the convolution")
    if not any(isinstance(m, (nn.ReLU, nn.LeakyReLU)) for m in layers):
        return _report(name, "no activation", "end the block with nn.ReLU() (DCGAN's generator)")
    return _report(name)


def check_mismatched_labels(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check ``fn(labels, num_classes)``: a different, uniformly random class for every label."""
    name = "mismatched labels"
    labels = torch.arange(10).repeat(900)  # each class 900 times
    torch.manual_seed(0)
    out, failed = _call(name, fn, labels.clone(), 10)
    if failed is not None:
        return failed
    if (failed := _wrong_shape(name, out, labels.shape, "return one label per input label")) is not None:
        return failed
    if out.min() < 0 or out.max() > 9:
        return _report(name, f"labels outside 0..9 (got {out.min()}..{out.max()})",
                       "wrap around with % num_classes")
    if (out == labels).any():
        return _report(name, f"{(out == labels).sum()} of {len(labels)} labels were not changed",
                       "draw a shift in 1..num_classes-1 and add it modulo num_classes")
    counts = torch.stack([torch.bincount(out[labels == c], minlength=10) for c in range(10)])
    if ((counts > 0).sum(1) < 9).any() or counts[counts > 0].min() < 50:
        return _report(name, "the wrong labels are not spread over the other classes",
                       "each label should be replaced by a uniformly random *other* class, "
                       "not a fixed one such as (y + 1) % 10")
    return _report(name)


def check_cgan_discriminator_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(real_logits, fake_logits, mismatched_logits)``: real 1, fake 0, mismatched 0."""
    r, f, m = REAL_LOGITS, FAKE_LOGITS, torch.tensor([0.3, -0.4, 1.2, -1.0, 0.9])  # mean != 0
    reference = _bce(r, 1.0) + (_bce(f, 0.0) + _bce(m, 0.0)) / 2
    mistakes = {
        "mismatched pairs labelled real: a real image with the wrong label is a fake pair (0)":
            _bce(r, 1.0) + (_bce(f, 0.0) + _bce(m, 1.0)) / 2,
        "the mismatched term is missing: add the loss of D(x, wrong label) against 0":
            _bce(r, 1.0) + _bce(f, 0.0),
        "the two 'fake' terms are summed; average them so real and fake weigh the same":
            _bce(r, 1.0) + _bce(f, 0.0) + _bce(m, 0.0),
        "labels swapped: real matched pairs get 1, the others 0":
            _bce(r, 0.0) + (_bce(f, 1.0) + _bce(m, 1.0)) / 2,
        "sign flipped: minimise the cross-entropies, do not maximise them": -reference,
    }
    return _check_loss("cGAN discriminator loss", fn, (r, f, m), reference, mistakes,
                       (EXTREME_LOGITS, EXTREME_LOGITS.flip(0), EXTREME_LOGITS.flip(0)))


_CLASS_LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-1.0, 2.5, 0.0], [1.0, 1.0, -2.0],
                              [0.0, -0.5, 0.7]])
_LABELS = torch.tensor([0, 2, 1, 1, 2])


def check_acgan_losses(d_loss: Callable, g_loss: Callable) -> bool:
    """Check AC-GAN's ``d_loss(real_logits, real_class_logits, fake_logits, fake_class_logits,
    labels, fake_labels)`` and ``g_loss(fake_logits, fake_class_logits, fake_labels)``."""
    name = "AC-GAN losses"
    r, f, rc, fc, y, yf = REAL_LOGITS, FAKE_LOGITS, _CLASS_LOGITS, _CLASS_LOGITS.flip(0), _LABELS, _LABELS.flip(0)
    ce = F.cross_entropy
    d_ref = _bce(r, 1.0) + _bce(f, 0.0) + ce(rc, y) + ce(fc, yf)
    g_ref = _bce(f, 1.0) + ce(fc, yf)
    d_value, failed = _call(name, d_loss, r, rc, f, fc, y, yf)
    if failed is not None:
        return failed
    g_value, failed = _call(name, g_loss, f, fc, yf)
    if failed is not None:
        return failed
    softmax_first = ce(F.softmax(rc, 1), y) + ce(F.softmax(fc, 1), yf)
    d_mistakes = {
        "softmax applied before cross_entropy, which applies log-softmax itself: pass the logits":
            _bce(r, 1.0) + _bce(f, 0.0) + softmax_first,
        "the fake images' classification term is missing: D classifies fakes too":
            _bce(r, 1.0) + _bce(f, 0.0) + ce(rc, y),
        "classification subtracted: D maximises discrimination + classification":
            _bce(r, 1.0) + _bce(f, 0.0) - ce(rc, y) - ce(fc, yf),
    }
    g_mistakes = {
        "softmax applied before cross_entropy: pass the class logits": _bce(f, 1.0) + ce(F.softmax(fc, 1), yf),
        "classification subtracted: G wants its fakes classified as the requested labels":
            _bce(f, 1.0) - ce(fc, yf),
        "the minimax adversarial term saturates; use -log D(G(z)) (label 1)": -F.softplus(f).mean() + ce(fc, yf),
        "the adversarial term is missing: G must also fool D": ce(fc, yf),
    }
    for value, reference, mistakes, which in ((d_value, d_ref, d_mistakes, "D"), (g_value, g_ref, g_mistakes, "G")):
        if not isinstance(value, Tensor) or value.dim() != 0:
            return _report(name, f"{which}'s loss is not a scalar tensor", "return one tensor, averaged over the batch")
        if not _close(value, reference):
            hint = next((h for h, wrong in mistakes.items() if _close(value, wrong)),
                        "compare each term with the markdown cell above")
            return _report(name, f"{which}'s loss is {value.item():.4f}, expected {reference.item():.4f}", hint)
    return _report(name)
