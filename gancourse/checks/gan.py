"""Self-checks of lectures 1-2: the GAN losses, the discriminator step, the MLP generator, saturation."""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import EXTREME_LOGITS, FAKE_LOGITS, REAL_LOGITS, _bce, _call, _check_loss, _close, _report
from gancourse.losses import discriminator_loss
from gancourse.train import discriminator_step


def check_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(real_logits, fake_logits)``: -[mean log D(x) + mean log(1 - D(G(z)))]."""
    r, f = REAL_LOGITS, FAKE_LOGITS
    reference = _bce(r, 1.0) + _bce(f, 0.0)
    mistakes = {
        "sign flipped: that is the value function V, which D maximises; the loss to minimise is -V":
            -reference,
        "labels swapped: real images get the label 1, generated images the label 0":
            _bce(r, 0.0) + _bce(f, 1.0),
        "sigmoid applied twice: binary_cross_entropy_with_logits applies the sigmoid itself":
            _bce(torch.sigmoid(r), 1.0) + _bce(torch.sigmoid(f), 0.0),
        "summed over the batch instead of averaging (use .mean(), or the default reduction)":
            reference * len(r),
        "the two terms were averaged; the loss is their sum, the negated value function":
            reference / 2,
        "the fake term is missing: add the loss of D(G(z)) against the label 0": _bce(r, 1.0),
        "the real term is missing: add the loss of D(x) against the label 1": _bce(f, 0.0),
    }
    return _check_loss("discriminator loss", fn, (r, f), reference, mistakes,
                       (EXTREME_LOGITS, EXTREME_LOGITS.flip(0)))


def check_generator_loss_nonsaturating(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(fake_logits)``: the non-saturating generator loss -mean log D(G(z))."""
    f = FAKE_LOGITS
    reference = _bce(f, 1.0)
    mistakes = {
        "this is the minimax loss log(1 - D(G(z))), which saturates; use -log D(G(z))":
            -F.softplus(f).mean(),
        "sign flipped: G minimises -log D(G(z)), i.e. it pushes D(G(z)) up": -reference,
        "target 0: the generator wants its fakes classified as real, label 1": _bce(f, 0.0),
        "sigmoid applied twice: binary_cross_entropy_with_logits applies the sigmoid itself":
            _bce(torch.sigmoid(f), 1.0),
        "summed over the batch instead of averaging (use .mean())": reference * len(f),
    }
    return _check_loss("non-saturating generator loss", fn, (f,), reference, mistakes,
                       (EXTREME_LOGITS,))


class _StandInG(nn.Module):
    """A tiny linear 'generator' of 6-dimensional data, enough to test a step function."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 6)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def _stand_ins() -> tuple[nn.Module, nn.Module, Tensor]:
    gen = torch.Generator().manual_seed(0)
    G, D = _StandInG(), nn.Sequential(nn.Linear(6, 1), nn.Flatten(0))
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return G, D, torch.randn(8, 6, generator=gen)


def check_discriminator_step(fn: Callable) -> bool:
    """Check ``fn(G, D, batch, opt_d, d_loss) -> dict``: one update of D, none of G, fakes detached."""
    name = "discriminator step"
    G, D, x = _stand_ins()
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    G_before = [p.detach().clone() for p in G.parameters()]
    D_before = [p.detach().clone() for p in D.parameters()]
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    for p in D.parameters():
        p.grad = torch.full_like(p, 5.0)  # left over from an earlier step: must be cleared
    labels = torch.zeros(8, dtype=torch.long)
    torch.manual_seed(0)
    out, failed = _call(name, fn, G, D, (x, labels), opt, discriminator_loss)
    if failed is not None:
        return failed
    torch.manual_seed(0)
    ref = discriminator_step(G_ref, D_ref, (x, labels), torch.optim.SGD(D_ref.parameters(), lr=0.1),
                             discriminator_loss)
    if any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters()):
        return _report(name, "gradients reached G's parameters",
                       "detach the fakes, x_fake = G(z).detach(), so D's loss stops at D")
    if any(not torch.equal(a, p) for a, p in zip(G_before, G.parameters())):
        return _report(name, "G's weights changed", "this step updates D only: call opt_d.step()")
    if all(torch.equal(a, p) for a, p in zip(D_before, D.parameters())):
        return _report(name, "D's weights did not change",
                       "call loss.backward() and then opt_d.step()")
    if not all(torch.allclose(p, q, atol=1e-5) for p, q in zip(D.parameters(), D_ref.parameters())):
        stale = [b - 0.1 * (g + 5.0) for b, g in
                 zip(D_before, [q.grad for q in D_ref.parameters()])]
        if all(torch.allclose(p, s, atol=1e-5) for p, s in zip(D.parameters(), stale)):
            return _report(name, "D's update includes gradients left over from before",
                           "call opt_d.zero_grad() before loss.backward()")
        return _report(name, "D's update differs from the reference step",
                       "draw z = torch.randn(len(x_real), G.latent_dim) first, then compute "
                       "d_loss(D(x_real), D(x_fake)), real logits first")
    if not isinstance(out, dict) or not {"loss_d", "d_real", "d_fake"} <= set(out):
        return _report(name, f"returned {out!r:.60}", "return a dict with loss_d, d_real, d_fake")
    if not all(isinstance(out[k], float) for k in ("loss_d", "d_real", "d_fake")):
        return _report(name, "the returned values are not Python floats", "use .item() on each")
    for key in ("loss_d", "d_real", "d_fake"):
        if not _close(out[key], ref[key]):
            return _report(name, f"{key} = {out[key]:.4f}, expected {ref[key]:.4f}",
                           "d_real and d_fake are mean probabilities: torch.sigmoid(logits).mean()")
    return _report(name)


def check_mlp_generator(G: nn.Module) -> bool:
    """Check the lecture's MLP generator: 100 -> 128 -> 256 -> 512 -> 1024 -> 784, BN, Tanh."""
    name = "MLP generator"
    z = torch.randn(16, 100, generator=torch.Generator().manual_seed(0))
    loud = copy.deepcopy(G).eval()  # scaled-up weights: only a squashing output stays in range
    with torch.no_grad():
        for m in loud.modules():
            if isinstance(m, nn.Linear):
                m.weight *= 20
        x, failed = _call(name, loud, z)
    if failed is not None:
        return failed
    if tuple(x.shape) != (16, 1, 28, 28):
        return _report(name, f"output shape {tuple(x.shape)}, expected (16, 1, 28, 28)",
                       "reshape the 784 outputs with .view(-1, 1, 28, 28)")
    if x.min() >= 0:
        return _report(name, "outputs are in [0, 1]",
                       "end with nn.Tanh(): the data is scaled to [-1, 1], not [0, 1]")
    if x.min() < -1 or x.max() > 1:
        return _report(name, f"outputs reach [{x.min():.2f}, {x.max():.2f}]",
                       "end with nn.Tanh() so pixels stay in [-1, 1] like the data")
    sizes = [(m.in_features, m.out_features) for m in G.modules() if isinstance(m, nn.Linear)]
    expected = [(100, 128), (128, 256), (256, 512), (512, 1024), (1024, 784)]
    if sizes != expected:
        return _report(name, f"linear layers {sizes}", f"the lecture's layers are {expected}")
    bns = [m for m in G.modules() if isinstance(m, nn.BatchNorm1d)]
    if [bn.num_features for bn in bns] != [256, 512, 1024]:
        return _report(name, f"BatchNorm1d on {[bn.num_features for bn in bns]} features",
                       "BatchNorm1d after the 256-, 512- and 1024-unit layers, none after the first")
    if any(not math.isclose(bn.eps, 1e-5) for bn in bns):
        return _report(name, f"BatchNorm1d eps = {bns[0].eps}",
                       "BatchNorm1d(n, 0.8) sets eps, not momentum; write momentum=0.2 explicitly")
    slopes = [m.negative_slope for m in G.modules() if isinstance(m, nn.LeakyReLU)]
    if len(slopes) != 4 or any(s != 0.2 for s in slopes):
        return _report(name, f"{len(slopes)} LeakyReLU layers with slopes {slopes}",
                       "use nn.LeakyReLU(0.2) after each of the four hidden layers")
    return _report(name)


def check_saturation_gradients(fn: Callable[[Tensor], tuple[Tensor, Tensor]]) -> bool:
    """Check ``fn(logits) -> (minimax_grad, nonsaturating_grad)``, per sample, w.r.t. the logit."""
    name = "saturation gradients"
    logits = torch.tensor([-6.0, -2.0, 0.0, 1.0, 4.0], dtype=torch.float64)
    out, failed = _call(name, fn, logits.clone())
    if failed is not None:
        return failed
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)):
        return _report(name, f"returned {type(out).__name__}", "return a pair of tensors")
    mm, ns = out
    if mm.shape != logits.shape or ns.shape != logits.shape:
        return _report(name, f"shapes {tuple(mm.shape)} and {tuple(ns.shape)}",
                       "one gradient per logit: no .mean() or .sum()")
    d = torch.sigmoid(logits)
    ref_mm, ref_ns = -d, -(1 - d)
    mistakes = [
        ((-ref_mm, -ref_ns), "sign flipped: G descends these losses; d/dl log(1 - sigmoid(l)) = -sigmoid(l)"),
        ((ref_ns, ref_mm), "the two are swapped: the minimax gradient is -D(G(z)), which vanishes as D -> 0"),
        ((-1 / (1 - d), -1 / d), "that is the gradient w.r.t. D(G(z)); multiply by dD/dl = D(1 - D)"),
        ((ref_mm / len(d), ref_ns / len(d)), "divided by the batch size: give per-sample gradients"),
    ]
    if torch.allclose(mm, ref_mm) and torch.allclose(ns, ref_ns):
        return _report(name)
    for (w_mm, w_ns), hint in mistakes:
        if torch.allclose(mm, w_mm) and torch.allclose(ns, w_ns):
            return _report(name, "wrong gradients", hint)
    wrong = "minimax" if not torch.allclose(mm, ref_mm) else "non-saturating"
    return _report(name, f"the {wrong} gradient is off",
                   "differentiate the loss with respect to the logit l, with D = sigmoid(l)")
