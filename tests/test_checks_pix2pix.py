"""Lecture 7's self-checks: the U-Net skip block, the receptive field, the generator's loss."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from gancourse.losses import pix2pix_generator_loss
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- the U-Net skip block -----------------------------------------------------------------------
class SkipBlock(nn.Module):
    def __init__(self, c_in, c_out, combine="cat", dim=1, bn=True, up="transposed", out=None, act=nn.ReLU, call_bn=True,
                 skip_first=False):
        super().__init__()
        c = out(c_in, c_out) if out else c_out
        first = (nn.ConvTranspose2d(c_in, c, 4, 2, 1) if up == "transposed"
                 else nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c, 3, padding=1)))
        self.conv, self.bn, self.act = first, nn.BatchNorm2d(c) if bn else nn.Identity(), act()
        self.combine, self.dim, self.call_bn, self.skip_first = combine, dim, call_bn, skip_first

    def forward(self, x, skip):
        h = self.conv(x)
        u = self.act(self.bn(h) if self.call_bn else h)
        if self.combine == "add":
            return u + skip
        if self.combine == "none":
            return u
        if self.combine == "zeros":
            return torch.cat([u, skip.detach() * 0], 1)
        if self.combine == "detached":
            return torch.cat([u, skip.detach()], 1)
        if self.combine == "x detached":
            return torch.cat([u.detach(), skip], 1)
        if self.combine == "normalised skip":
            return torch.cat([u, F.layer_norm(skip, skip.shape[1:])], 1)
        parts = [skip, u] if self.skip_first else [u, skip]
        return torch.cat(parts, dim=self.dim)


class SharedFunctional(nn.Module):
    """A correct answer with functional calls."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.up, self.bn = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out)

    def forward(self, x, skip):
        return torch.cat((F.relu(self.bn(self.up(x))), skip), dim=1)


class SkipReLU(SkipBlock):
    def forward(self, x, skip):
        return super().forward(x, F.relu(skip))


class SkipNoGrad(SkipBlock):
    def forward(self, x, skip):
        with torch.no_grad():
            u = self.act(self.bn(self.conv(x)))
        return torch.cat([u, skip], 1)


class SkipEval(SkipBlock):
    def forward(self, x, skip):
        self.eval()
        return super().forward(x, skip)


class SkipInPlace(SkipBlock):
    def forward(self, x, skip):
        with torch.no_grad():
            skip.mul_(1.0).add_(0.001)
        return super().forward(x, skip)


SKIP_WRONG = {
    "added": Wrong(lambda i, o: SkipBlock(i, o, combine="add"), "the skip was added or dropped", "shapes"),
    "dropped": Wrong(lambda i, o: SkipBlock(i, o, combine="none"), "concatenate it", "shapes"),
    "batch dim": Wrong(lambda i, o: SkipBlock(i, o, dim=0), "dim=1, the channels", "shapes"),
    "c_in // 2 channels": Wrong(lambda i, o: SkipBlock(i, o, out=lambda a, b: a // 2), "c_out channels whatever c_in is", "shapes"),
    "zeros instead of skip": Wrong(lambda i, o: SkipBlock(i, o, combine="zeros"), "not the skip tensor itself", "value"),
    "skip normalised": Wrong(lambda i, o: SkipBlock(i, o, combine="normalised skip"), "not the skip tensor itself", "value"),
    "skip detached": Wrong(lambda i, o: SkipBlock(i, o, combine="detached"), "no gradient flows back into the skip", "hint"),
    "upsampled half detached": Wrong(lambda i, o: SkipBlock(i, o, combine="x detached"), "no gradient flows back into x", "extreme"),
    "upsampling under no_grad": Wrong(lambda i, o: SkipNoGrad(i, o), "no gradient flows back into x", "extreme"),
    "no BatchNorm": Wrong(lambda i, o: SkipBlock(i, o, bn=False), "BatchNorm2d(c_out)", "trace"),
    "BatchNorm never called": Wrong(lambda i, o: SkipBlock(i, o, call_bn=False), "counts only if forward calls it", "trace"),
    "tanh instead of ReLU": Wrong(lambda i, o: SkipBlock(i, o, act=nn.Tanh), "then nn.ReLU()", "trace"),
    "LeakyReLU (the encoder's)": Wrong(lambda i, o: SkipBlock(i, o, act=lambda: nn.LeakyReLU(0.2)), "decoder uses ReLU", "trace"),
    "upsample + conv": Wrong(lambda i, o: SkipBlock(i, o, up="upsample"), "nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)", "trace"),
    "skip through a ReLU": Wrong(lambda i, o: SkipReLU(i, o), "not the skip tensor itself", "value"),
    "switches itself to eval": Wrong(lambda i, o: SkipEval(i, o), "left in eval mode", "state"),
    "skip changed in place": Wrong(lambda i, o: SkipInPlace(i, o), "changed in place", "state"),
    "no upsampling": Wrong(lambda i, o: nn.Identity(), "raised", "crash"),
    "returns a list": Wrong(lambda i, o: [SkipBlock(i, o)], "return an nn.Module", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
SKIP_RIGHT = {"Sequential + cat": SkipBlock, "functional": SharedFunctional,
              "skip first": lambda i, o: SkipBlock(i, o, skip_first=True)}


@pytest.mark.parametrize("case", list(SKIP_RIGHT))
def test_unet_skip_block_accepts(case, capsys):
    assert_passes(checks.check_unet_skip_block, SKIP_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(SKIP_WRONG))
def test_unet_skip_block_rejects(case, capsys):
    assert_rejects(checks.check_unet_skip_block, SKIP_WRONG[case], capsys)


# --- the receptive field ------------------------------------------------------------------------
def field_backward(layers):
    field = 1
    for k, s in reversed(layers):
        field = field * s + (k - s)
    return field


def field_forward(layers):
    field, jump = 1, 1
    for k, s in layers:
        field, jump = field + (k - 1) * jump, jump * s
    return field


def field_in_place(layers):
    layers.reverse()
    field = 1
    for k, s in layers:
        field = field * s + (k - s)
    return field


FIELD_WRONG = {
    "wrong direction": Wrong(lambda layers: field_backward(list(reversed(layers))), "runs from the last layer back", "value"),
    "own stride": Wrong(lambda layers: 1 + sum((k - 1) * s for k, s in layers), "product of the strides before it", "value"),
    "sum of kernels": Wrong(lambda layers: sum(k for k, _ in layers), "do not simply add up", "value"),
    "ignores strides": Wrong(lambda layers: 1 + sum(k - 1 for k, _ in layers), "strides spread the field", "value"),
    "jump after the layer": Wrong(lambda layers: field_forward([(1, 1)] + [(k, s) for k, s in layers][::-1]), "got", "shapes"),
    "list reversed in place": Wrong(field_in_place, "do not reverse or edit the caller's list", "state"),
    "list sorted in place": Wrong(lambda layers: layers.sort() or field_backward(layers), "do not reverse or edit", "state"),
    "kernels only, for 3 layers": Wrong(lambda layers: field_backward(layers[:3]), "got", "shapes"),
    "a tuple": Wrong(lambda layers: (field_backward(layers), len(layers)), "return a whole number", "crash"),
    "a float": Wrong(lambda layers: field_backward(layers) + 0.5, "return a whole number", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
FIELD_RIGHT = {"backward": field_backward, "forward": field_forward,
               "a tensor": lambda layers: torch.tensor(field_backward(layers)),
               "a float": lambda layers: float(field_forward(layers)),
               "a NumPy integer": lambda layers: np.int64(field_backward(layers))}


@pytest.mark.parametrize("case", list(FIELD_RIGHT))
def test_receptive_field_accepts(case, capsys):
    assert_passes(checks.check_receptive_field, FIELD_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(FIELD_WRONG))
def test_receptive_field_rejects(case, capsys):
    assert_rejects(checks.check_receptive_field, FIELD_WRONG[case], capsys)


# --- the generator's loss ------------------------------------------------------------------------------
def p2p_g(logits, fake, target, lam, *, l2=False, use_lambda=True, lambda_on_adv=False, minimax=False,
          sign=1, sum_l1=False, sigmoid=False):
    """A student's pix2pix generator loss; each keyword away from its default is one typical mistake."""
    inputs = torch.sigmoid(logits) if sigmoid else logits
    adv = (-F.binary_cross_entropy_with_logits(inputs, torch.zeros_like(logits)) if minimax
           else F.binary_cross_entropy_with_logits(inputs, torch.ones_like(logits)))
    diff = (fake - target) ** 2 if l2 else (fake - target).abs()
    rec = diff.sum() if sum_l1 else diff.mean()
    if lambda_on_adv:
        return lam * adv + rec
    return adv + sign * (lam if use_lambda else 1) * rec


P2P_WRONG = {
    "L2": Wrong(lambda *a: p2p_g(*a, l2=True), "pix2pix uses L1", "value"),
    "no lambda": Wrong(lambda *a: p2p_g(*a, use_lambda=False), "lambda_l1 is missing", "value"),
    "lambda hard-coded": Wrong(lambda l, f, t, lam: p2p_g(l, f, t, 100.0), "on a random batch", "value"),
    "lambda on adversarial": Wrong(lambda *a: p2p_g(*a, lambda_on_adv=True), "not the adversarial one", "value"),
    "minimax": Wrong(lambda *a: p2p_g(*a, minimax=True), "saturates", "value"),
    "minus": Wrong(lambda *a: p2p_g(*a, sign=-1), "subtracted", "value"),
    "sum": Wrong(lambda *a: p2p_g(*a, sum_l1=True), "summed", "value"),
    "sigmoid": Wrong(lambda *a: p2p_g(*a, sigmoid=True), "sigmoid applied", "value"),
    "target 0": Wrong(lambda l, f, t, lam: F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)) + lam * (f - t).abs().mean(),
                      "target 0", "value"),
    "L1 only": Wrong(lambda l, f, t, lam: lam * (f - t).abs().mean(), "adversarial term is missing", "value"),
    "L1 against the logits": Wrong(lambda l, f, t, lam: p2p_g(l, f, t, lam) * 0 + p2p_g(l, f, f.detach() * 0 + t.mean(), lam),
                                   "on a random batch", "independent"),
    "log of sigmoid": Wrong(lambda l, f, t, lam: -torch.log(torch.sigmoid(l)).mean() + lam * (f - t).abs().mean(),
                            "work on logits", "extreme"),
    "BCE on sigmoid": Wrong(lambda l, f, t, lam: F.binary_cross_entropy(torch.sigmoid(l), torch.ones_like(l)) + lam * F.l1_loss(f, t),
                            "work on logits", "extreme"),
    "fake detached": Wrong(lambda l, f, t, lam: p2p_g(l, f.detach(), t, lam), "no gradient reaches fake", "extreme"),
    "smooth L1": Wrong(lambda l, f, t, lam: p2p_g(l, f, t, lam) * 0 + F.binary_cross_entropy_with_logits(l, torch.ones_like(l))
                       + lam * F.smooth_l1_loss(f, t), "on a random batch", "value"),
    "fake logits clamped in place": Wrong(lambda l, f, t, lam: p2p_g(l.clamp_(-20, 20), f, t, lam), "in place", "state"),
    "target rescaled in place": Wrong(lambda l, f, t, lam: p2p_g(l, f, t.mul_(1.0).add_(0.001), lam), "in place", "state"),
    "ones of fixed dtype": Wrong(lambda l, f, t, lam: F.binary_cross_entropy_with_logits(l, torch.ones(l.shape)) + lam * F.l1_loss(f, t),
                                 "a tensor was made", "device"),
    "ones on a fixed device": Wrong(lambda l, f, t, lam: F.binary_cross_entropy_with_logits(l, torch.ones(l.shape, dtype=l.dtype))
                                    + lam * F.l1_loss(f, t), "device", "device"),
    "fake and target mixed with the logits": Wrong(lambda l, f, t, lam: p2p_g(l, t, f, lam) * 0 + p2p_g(l, f, f.detach().flip(0), lam),
                                                   "on a random batch", "independent"),
    "per pixel": Wrong(lambda l, f, t, lam: F.binary_cross_entropy_with_logits(l, torch.ones_like(l)) + lam * (f - t).abs(), "expected a scalar",
                       "shapes"),
    "batch size hard-coded": Wrong(lambda l, f, t, lam: F.binary_cross_entropy_with_logits(l, torch.ones_like(l), reduction="sum") / 18
                                   + lam * F.l1_loss(f, t), "on a random batch", "shapes"),
    "a pair of terms": Wrong(lambda l, f, t, lam: (p2p_g(l, f, t, 0), F.l1_loss(f, t)), "expected a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
P2P_RIGHT = {"the package's": pix2pix_generator_loss, "written out": p2p_g,
             "l1_loss and softplus": lambda l, f, t, lam: F.softplus(-l).mean() + lam * F.l1_loss(f, t),
             "target minus fake": lambda l, f, t, lam: -F.logsigmoid(l).mean() + lam * torch.mean(torch.abs(t - f))}


@pytest.mark.parametrize("case", list(P2P_RIGHT))
def test_pix2pix_g_loss_accepts(case, capsys):
    assert_passes(checks.check_pix2pix_generator_loss, P2P_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(P2P_WRONG))
def test_pix2pix_g_loss_rejects(case, capsys):
    assert_rejects(checks.check_pix2pix_generator_loss, P2P_WRONG[case], capsys)
