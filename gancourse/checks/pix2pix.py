"""Self-checks of lecture 7: a U-Net block with its skip, the PatchGAN receptive field, G's loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import _call, _close, _report


def check_unet_skip_block(make_block: Callable[[int, int], nn.Module]) -> bool:
    """Check ``make_block(c_in, c_out)``: ``block(x, skip)`` doubles H and W of x to c_out channels
    and concatenates ``skip`` along the channels -> (B, c_out + skip channels, 2H, 2W)."""
    name = "U-Net skip block"
    block, failed = _call(name, make_block, 16, 8)
    if failed is not None:
        return failed
    if not isinstance(block, nn.Module):
        return _report(name, f"make_block returned {type(block).__name__}", "return an nn.Module")
    x = torch.randn(4, 16, 4, 4)
    skip = torch.randn(4, 8, 8, 8, requires_grad=True)
    out, failed = _call(name, block, x, skip)
    if failed is not None:
        return failed
    expected = (4, 16, 8, 8)
    if not isinstance(out, Tensor) or out.shape != expected:
        shape = tuple(getattr(out, "shape", ()))
        hint = {(4, 8, 8, 8): "the skip was added or dropped: concatenate it, torch.cat([up(x), skip], dim=1)",
                (8, 8, 8, 8): "concatenated along the batch (dim 0): use dim=1, the channels"}.get(
            shape, "upsample x to (B, c_out, 2H, 2W) with ConvTranspose2d(c_in, c_out, 4, 2, 1), then "
                   "torch.cat([up, skip], dim=1)")
        return _report(name, f"output shape {shape}, expected {expected}", hint)
    out.sum().backward()
    if skip.grad is None or not torch.equal(out[:, 8:].detach(), skip.detach()):
        return _report(name, "the last channels are not the skip tensor itself",
                       "pass the encoder's features through unchanged: torch.cat([up(x), skip], dim=1)")
    if not any(isinstance(m, nn.BatchNorm2d) for m in block.modules()):
        return _report(name, "no BatchNorm2d in the block", "follow the transposed conv with BatchNorm2d(c_out)")
    return _report(name)


def _field(layers, backward_from_first=False, jump_is_stride=False):
    """The receptive field, or one of its typical miscalculations."""
    if backward_from_first:
        field = 1
        for k, s in layers:
            field = field * s + (k - s)
        return field
    field, jump = 1, 1
    for k, s in layers:
        field += (k - 1) * (s if jump_is_stride else jump)
        jump *= s
    return field


def check_receptive_field(fn: Callable[[list], int]) -> bool:
    """Check ``fn(layers)``: pixels seen by one output of convs given as [(kernel, stride), ...]."""
    name = "PatchGAN receptive field"
    cases = {"pix2pix's 70x70 PatchGAN": [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)],
             "this course's 32x32 PatchGAN": [(4, 2), (4, 1), (4, 1)],
             "three 3x3 convs": [(3, 1), (3, 1), (3, 1)]}
    for case, layers in cases.items():
        value, failed = _call(name, fn, list(layers))
        if failed is not None:
            return failed
        expected = _field(layers)
        if not _close(value, expected):
            mistakes = {
                "the recursion field = field * s + (k - s) runs from the last layer back to the first":
                    _field(layers, backward_from_first=True),
                "each layer adds (k - 1) times the product of the strides before it, not its own stride":
                    _field(layers, jump_is_stride=True),
                "the kernels do not simply add up: strides spread later layers out": sum(k for k, _ in layers),
            }
            hint = next((h for h, wrong in mistakes.items() if _close(value, wrong)),
                        "start from one output pixel and walk back: field = field * stride + (kernel - stride)")
            return _report(name, f"{case}: got {value}, expected {expected}", hint)
    return _report(name)


def check_pix2pix_generator_loss(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> bool:
    """Check ``fn(fake_logits, fake, target, lambda_l1)``: BCE(D(x, G(x)), 1) + lambda * mean |G(x) - y|."""
    name = "pix2pix generator loss"
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 1, 3, 3, generator=gen)
    fake, target = torch.rand(2, 1, 4, 4, generator=gen) * 2 - 1, torch.rand(2, 1, 4, 4, generator=gen) * 2 - 1
    value, failed = _call(name, fn, logits.clone(), fake.clone(), target.clone(), 100.0)
    if failed is not None:
        return failed
    if not isinstance(value, Tensor) or value.dim() != 0:
        return _report(name, "did not return a scalar tensor", "return adversarial + lambda_l1 * l1, one number")
    adv = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    l1 = (fake - target).abs().mean()
    reference = adv + 100 * l1
    mistakes = {
        "that is L2 (squared error); pix2pix uses L1, which blurs less": adv + 100 * ((fake - target) ** 2).mean(),
        "lambda_l1 is missing: weight the L1 term by it": adv + l1,
        "lambda_l1 weights the L1 term, not the adversarial one": 100 * adv + l1,
        "the minimax form log(1 - D) saturates; use BCE against 1":
            -F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)) + 100 * l1,
        "the L1 term is subtracted: G should get closer to the target": adv - 100 * l1,
        "the L1 term is summed; average it with .mean()": adv + 100 * (fake - target).abs().sum(),
        "sigmoid applied before binary_cross_entropy_with_logits, which takes logits":
            F.binary_cross_entropy_with_logits(torch.sigmoid(logits), torch.ones_like(logits)) + 100 * l1,
        "the adversarial term is missing (that is the L1-only baseline)": 100 * l1,
    }
    if not _close(value, reference):
        hint = next((h for h, wrong in mistakes.items() if _close(value, wrong)),
                    "compare each term with the formula in the markdown cell above")
        return _report(name, f"got {value.item():.4f}, expected {reference.item():.4f}", hint)
    return _report(name)
