"""Self-checks of lecture 7: a U-Net block with its skip, the PatchGAN receptive field, G's loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import Fail, as_number, call, check, describe, seeded
from gancourse.checks._loss import Arg, data, logits, number, probe_loss
from gancourse.checks._modules import (expect_plain_batchnorm, expect_same_modes, forward_matches, names, snapshot,
                                      trace, weighted)


def _skip_at(out: Tensor, skip: Tensor) -> slice | None:
    """Where in ``out``'s channels the skip tensor sits unchanged (last or first), if anywhere."""
    c = skip.shape[1]
    for where in (slice(out.shape[1] - c, None), slice(0, c)):
        if torch.equal(out[:, where].detach(), skip.detach()):
            return where
    return None


@check("U-Net skip block")
def check_unet_skip_block(make_block: Callable[[int, int], nn.Module]) -> None:
    """Check ``make_block(c_in, c_out)``: ``block(x, skip)`` doubles H and W of x to c_out channels
    (transposed conv, BatchNorm, ReLU) and concatenates ``skip`` along the channels."""
    for c_in, c_out, c_skip, size in ((16, 8, 8, 4), (12, 5, 7, 3), (6, 10, 3, 5)):
        block = call(make_block, c_in, c_out, what=f"make_block({c_in}, {c_out})")
        if not isinstance(block, nn.Module):
            raise Fail(f"make_block returned {describe(block)}", "return an nn.Module")
        gen, before = seeded(c_in), snapshot(block)
        x = torch.randn(4, c_in, size, size, generator=gen, requires_grad=True)
        skip = torch.randn(4, c_skip, 2 * size, 2 * size, generator=gen, requires_grad=True)
        kept = skip.detach().clone()
        out, ops = trace(block, x, skip)
        expected = (4, c_out + c_skip, 2 * size, 2 * size)
        if not isinstance(out, Tensor) or tuple(out.shape) != expected:
            shape = tuple(getattr(out, "shape", ()))
            hint = {(4, c_skip, 2 * size, 2 * size): "the skip was added or dropped: concatenate it, "
                                                     "torch.cat([up(x), skip], dim=1)",
                    (4, c_out, 2 * size, 2 * size): "the skip was added or dropped: concatenate it, "
                                                    "torch.cat([up(x), skip], dim=1)",
                    (8, c_out, 2 * size, 2 * size): "concatenated along the batch (dim 0): use dim=1, the channels"}.get(
                shape, f"upsample x to (B, c_out, 2H, 2W), c_out channels whatever c_in is, then concatenate skip "
                       f"along dim 1: c_in={c_in}, c_out={c_out} and {c_skip} skip channels here")
            raise Fail(f"x {tuple(x.shape)} and skip {tuple(skip.shape)} gave {describe(out)}, expected {expected}", hint)
        if not torch.equal(skip.detach(), kept):
            raise Fail("the skip tensor was changed in place", "leave the encoder's features alone")
        expect_same_modes(before, block, "the block")
        where = _skip_at(out, skip)
        if where is None:
            raise Fail("the skip channels of the output are not the skip tensor itself",
                       "pass the encoder's features through unchanged: torch.cat([up(x), skip], dim=1)")
        out.sum().backward()
        if skip.grad is None or not torch.equal(skip.grad, torch.ones_like(skip)):
            raise Fail("no gradient flows back into the skip", "the encoder learns through the skip: no .detach()")
        if x.grad is None or not x.grad.abs().sum() > 0:
            raise Fail("no gradient flows back into x", "build the upsampled half from x, without .detach()")
        order = [n for n in names(ops) if n not in {"cat", "dropout"}]
        up = (lambda o: o[:, :c_out]) if where.start else (lambda o: o[:, c_skip:])  # the channels beside skip
        matches = forward_matches(block, (x, skip), ["conv_transpose2d", "batch_norm", "relu"], part=up)
        if matches and weighted(order) == ["conv_transpose2d", "batch_norm"] and order[-1:] != ["relu"]:
            order = ["conv_transpose2d", "batch_norm", "relu"]  # a ReLU written by hand: its numbers are right
        if "conv_transpose2d" not in order:
            raise Fail(f"forward applies {' -> '.join(order)}", "upsample with nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), "
                       "as the exercise asks (upsample + conv is lecture 3's alternative)")
        bns = [op for op in ops if op.name == "batch_norm"]
        if len(bns) != 1 or bns[0].detail["features"] != c_out or not bns[0].detail["training"]:
            raise Fail(f"forward applies {' -> '.join(order)}",
                       "normalise the upsampled features: nn.BatchNorm2d(c_out) after the transposed conv, run in "
                       "forward (a layer defined in __init__ counts only if forward calls it)")
        if order[-2:] != ["batch_norm", "relu"]:
            raise Fail(f"forward applies {' -> '.join(order)}", "end the upsampling with BatchNorm then nn.ReLU() "
                       "(pix2pix's decoder uses ReLU, its encoder LeakyReLU)")
        expect_plain_batchnorm(ops, "nn.BatchNorm2d(c_out)")
        if not matches:
            raise Fail("the upsampled channels are not ReLU(BatchNorm(transposed conv(x))) of the block's own layers",
                       "pass each layer's output on to the next and concatenate the last one with skip; add "
                       "nothing between them")


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


@check("PatchGAN receptive field")
def check_receptive_field(fn: Callable[[list], int]) -> None:
    """Check ``fn(layers)``: pixels seen by one output of convs given as [(kernel, stride), ...]."""
    cases = {"pix2pix's 70x70 PatchGAN": [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)],
             "this course's 32x32 PatchGAN": [(4, 2), (4, 1), (4, 1)],
             "three 3x3 convs": [(3, 1), (3, 1), (3, 1)],
             "one 7x7 conv": [(7, 1)],
             "mixed strides": [(3, 2), (5, 1), (3, 3), (2, 2)],
             "a 1x1 conv after a stride-4 one": [(8, 4), (1, 1)]}
    for case, layers in cases.items():
        given = list(layers)
        value = call(fn, given)
        if given != layers:
            raise Fail(f"{case}: the list of layers was changed", "do not reverse or edit the caller's list in place: "
                       "iterate over reversed(layers) or layers[::-1]")
        value = as_number(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise Fail(f"{case}: returned {describe(value)}", "return a whole number of pixels (an int)")
        expected = _field(layers)
        if value != expected:
            mistakes = {
                "the recursion field = field * s + (k - s) runs from the last layer back to the first":
                    _field(layers, backward_from_first=True),
                "each layer adds (k - 1) times the product of the strides before it, not its own stride":
                    _field(layers, jump_is_stride=True),
                "the kernels do not simply add up: strides spread later layers out": sum(k for k, _ in layers),
                "strides spread the field: a layer adds (k - 1) times the product of the earlier strides":
                    1 + sum(k - 1 for k, _ in layers),
            }
            hint = next((h for h, wrong in mistakes.items() if value == wrong),
                        "start from one output pixel and walk back: field = field * stride + (kernel - stride)")
            raise Fail(f"{case}: got {value}, expected {expected}", hint)


def _adv(l: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(l, torch.ones_like(l))


@check("pix2pix generator loss")
def check_pix2pix_generator_loss(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """Check ``fn(fake_logits, fake, target, lambda_l1)``: BCE(D(x, G(x)), 1) + lambda * mean |G(x) - y|."""
    reference = lambda l, f, t, lam: _adv(l) + lam * (f - t).abs().mean()  # noqa: E731
    mistakes = {
        "that is L2 (squared error); pix2pix uses L1, which blurs less":
            lambda l, f, t, lam: _adv(l) + lam * ((f - t) ** 2).mean(),
        "lambda_l1 is missing: weight the L1 term by it": lambda l, f, t, lam: _adv(l) + (f - t).abs().mean(),
        "lambda_l1 weights the L1 term, not the adversarial one": lambda l, f, t, lam: lam * _adv(l) + (f - t).abs().mean(),
        "the minimax form log(1 - D) saturates; use BCE against 1":
            lambda l, f, t, lam: -F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)) + lam * (f - t).abs().mean(),
        "the L1 term is subtracted: G should get closer to the target": lambda l, f, t, lam: _adv(l) - lam * (f - t).abs().mean(),
        "the L1 term is summed; average it with .mean()": lambda l, f, t, lam: _adv(l) + lam * (f - t).abs().sum(),
        "the adversarial term is summed over patches; average it": lambda l, f, t, lam: _adv(l) * l.numel() / len(l)
        + lam * (f - t).abs().mean(),
        "sigmoid applied before binary_cross_entropy_with_logits, which takes logits":
            lambda l, f, t, lam: _adv(torch.sigmoid(l)) + lam * (f - t).abs().mean(),
        "the adversarial term is missing (that is the L1-only baseline)": lambda l, f, t, lam: lam * (f - t).abs().mean(),
        "target 0 for the fakes: G wants D to call them real (1)":
            lambda l, f, t, lam: F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)) + lam * (f - t).abs().mean(),
    }
    target = Arg("target", data("target", 1, 4, 4, low=-1.0).make, grad=False)  # data: no gradient needed
    probe_loss(fn, [logits("fake_logits", 1, 3, 3), data("fake", 1, 4, 4, low=-1.0), target,
                    number("lambda_l1", 10.0, 150.0)], reference, mistakes=mistakes, what="the loss")
