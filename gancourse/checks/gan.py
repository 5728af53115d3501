"""Self-checks of lecture 1: the GAN losses, the discriminator step and the MLP generator."""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checks._base import Fail, call, check, close, describe, seeded
from gancourse.checks._loss import logits, probe_loss
from gancourse.checks._modules import (expect_device_follows, expect_output_range, expect_plain_batchnorm,
                                      expect_same_modes, forward_matches, names, snapshot, trace, weighted, weights_changed)
from gancourse.losses import discriminator_loss
from gancourse.train import discriminator_step


def _bce(x: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))


@check("discriminator loss")
def check_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(real_logits, fake_logits)``: -[mean log D(x) + mean log(1 - D(G(z)))].

    The course sums the two terms; the slides' average of them is accepted too."""
    reference = lambda r, f: _bce(r, 1) + _bce(f, 0)  # noqa: E731
    mistakes = {
        "sign flipped: that is the value function V, which D maximises; the loss to minimise is -V":
            lambda r, f: -reference(r, f),
        "labels swapped: real images get the label 1, generated images the label 0": lambda r, f: _bce(r, 0) + _bce(f, 1),
        "sigmoid applied twice: binary_cross_entropy_with_logits applies the sigmoid itself":
            lambda r, f: _bce(torch.sigmoid(r), 1) + _bce(torch.sigmoid(f), 0),
        "summed over the batch instead of averaging (use .mean(), or the default reduction)":
            lambda r, f: reference(r, f) * len(r),
        "the fake term is missing: add the loss of D(G(z)) against the label 0": lambda r, f: _bce(r, 1),
        "the real term is missing: add the loss of D(x) against the label 1": lambda r, f: _bce(f, 0),
    }
    probe_loss(fn, [logits("real_logits"), logits("fake_logits")], reference,
               alternatives=(lambda r, f: reference(r, f) / 2,), mistakes=mistakes, what="the loss")


@check("non-saturating generator loss")
def check_generator_loss_nonsaturating(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(fake_logits)``: the non-saturating generator loss -mean log D(G(z))."""
    mistakes = {
        "this is the minimax loss log(1 - D(G(z))), which saturates; use -log D(G(z))": lambda f: -F.softplus(f).mean(),
        "sign flipped: G minimises -log D(G(z)), i.e. it pushes D(G(z)) up": lambda f: -_bce(f, 1),
        "target 0: the generator wants its fakes classified as real, label 1": lambda f: _bce(f, 0),
        "sigmoid applied twice: binary_cross_entropy_with_logits applies the sigmoid itself":
            lambda f: _bce(torch.sigmoid(f), 1),
        "summed over the batch instead of averaging (use .mean())": lambda f: _bce(f, 1) * len(f),
    }
    probe_loss(fn, [logits("fake_logits")], lambda f: _bce(f, 1), mistakes=mistakes, what="the loss")


class _StandInG(nn.Module):
    """A tiny linear 'generator' of 6-dimensional data, enough to test a step function."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 6)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def _stand_ins(seed: int) -> tuple[nn.Module, nn.Module, Tensor]:
    gen = seeded(seed)
    G, D = _StandInG(), nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.LeakyReLU(0.2), nn.Linear(5, 1),
                                      nn.Flatten(0))  # BatchNorm: a step that switches D to eval mode shows
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return G, D, torch.randn(8, 6, generator=gen)


def _another_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Not BCE: a step must use the loss it is given."""
    return F.softplus(-2 * real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()


@check("discriminator step")
def check_discriminator_step(fn: Callable) -> None:
    """Check ``fn(G, D, batch, opt_d, d_loss) -> dict``: one update of D, none of G, fakes detached."""
    G, D, x = _stand_ins(0)
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    g_before_model, d_before_model = copy.deepcopy(G), copy.deepcopy(D)
    g_before, d_before, x_before = snapshot(G), snapshot(D), x.clone()
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    for p in D.parameters():
        p.grad = torch.full_like(p, 5.0)  # left over from an earlier step: must be cleared
    torch.random.default_generator.manual_seed(0)
    out = call(fn, G, D, (x, torch.zeros(8, dtype=torch.long)), opt, _another_d_loss)
    torch.random.default_generator.manual_seed(0)
    ref = discriminator_step(G_ref, D_ref, (x, None), torch.optim.SGD(D_ref.parameters(), lr=0.1), _another_d_loss)
    if not torch.equal(x, x_before):
        raise Fail("the real batch was changed in place", "leave the caller's tensors alone")
    if any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters()):
        raise Fail("gradients reached G's parameters", "detach the fakes, x_fake = G(z).detach(), so D's loss stops at D")
    if weights_changed(g_before, G):
        raise Fail("G's weights changed", "this step updates D only: step opt_d, never G's weights")
    expect_same_modes(g_before, G, "G")
    expect_same_modes(d_before, D, "D")
    if not weights_changed(d_before, D):
        if all(p.grad is None or not p.grad.any() for p in D.parameters()):
            raise Fail("D's weights did not change and its gradients are empty",
                       "the gradients were cleared before the step: opt_d.zero_grad() goes before loss.backward()")
        raise Fail("D's weights did not change", "call opt_d.step() after loss.backward()")
    if not all(torch.allclose(p, q, atol=1e-5) for p, q in zip(D.parameters(), D_ref.parameters())):
        stale = [b - 0.1 * (q.grad + 5.0) for b, q in zip(d_before.weights, D_ref.parameters())]
        if all(torch.allclose(p, s, atol=1e-5) for p, s in zip(D.parameters(), stale)):
            raise Fail("D's update includes gradients left over from before", "call opt_d.zero_grad() before loss.backward()")
        G_bce, D_bce = copy.deepcopy(g_before_model), copy.deepcopy(d_before_model)
        torch.random.default_generator.manual_seed(0)
        discriminator_step(G_bce, D_bce, (x, None), torch.optim.SGD(D_bce.parameters(), lr=0.1))
        if all(torch.allclose(p, q, atol=1e-5) for p, q in zip(D.parameters(), D_bce.parameters())):
            raise Fail("the step trained D with BCE although it was given another d_loss",
                       "compute loss = d_loss(D(x_real), D(x_fake)) with the d_loss passed in: the caller picks it")
        raise Fail("D's update differs from the reference step",
                   "draw z = torch.randn(len(x_real), G.latent_dim, device=x_real.device) first, then compute "
                   "d_loss(D(x_real), D(x_fake)), real logits first, and step once")
    G_meta, D_meta = copy.deepcopy(g_before_model), copy.deepcopy(d_before_model)
    expect_device_follows(lambda g, d, x_: fn(g, d, (x_, None), torch.optim.SGD(d.parameters(), lr=0.1),
                                              _another_d_loss), G_meta, D_meta, x,
                          hint="draw z where the data is: torch.randn(len(x_real), G.latent_dim, device=x_real.device)")
    if not isinstance(out, dict) or not {"loss_d", "d_real", "d_fake"} <= set(out):
        raise Fail(f"returned {describe(out)}", "return a dict with loss_d, d_real, d_fake")
    if not all(isinstance(out[k], float) for k in ("loss_d", "d_real", "d_fake")):
        raise Fail(f"the returned values are {[type(out[k]).__name__ for k in ('loss_d', 'd_real', 'd_fake')]}",
                   "return Python floats: use .item() on each")
    for key in ("loss_d", "d_real", "d_fake"):
        if not close(out[key], ref[key]):
            hint = ("report the loss before the update" if key == "loss_d" else
                    "d_real and d_fake are mean probabilities: torch.sigmoid(logits).mean(), from the logits "
                    "computed before the update")
            raise Fail(f"{key} = {out[key]:.4f}, expected {ref[key]:.4f}", hint)


_MLP_OPS = ["linear", "leaky_relu", "linear", "batch_norm", "leaky_relu", "linear", "batch_norm", "leaky_relu",
            "linear", "batch_norm", "leaky_relu", "linear", "tanh"]
_ACTIVATIONS = {"leaky_relu", "relu", "tanh", "sigmoid", "hardtanh", "clamp", "clip", "elu", "gelu", "selu", "silu",
                "softplus", "relu6", "hardsigmoid"}


@check("MLP generator")
def check_mlp_generator(G: nn.Module) -> None:
    """Check the lecture's MLP generator: 100 -> 128 -> 256 -> 512 -> 1024 -> 784, BN, LeakyReLU(0.2),
    Tanh, by tracing what ``forward`` applies in training mode."""
    if not isinstance(G, nn.Module):
        raise Fail(f"got {describe(G)}", "pass an instance of your generator: check_mlp_generator(MyGenerator())")
    if getattr(G, "latent_dim", None) != 100:
        raise Fail(f"G.latent_dim is {getattr(G, 'latent_dim', None)!r}", "keep self.latent_dim = latent_dim (100)")
    model, z = copy.deepcopy(G).train(), torch.randn(16, 100, generator=seeded(0))
    z_before, before = z.clone(), snapshot(model)
    x, ops = trace(model, z)
    if not torch.equal(z, z_before):
        raise Fail("forward changed the noise z in place", "leave the caller's z alone: no z.mul_() or z += ...")
    expect_same_modes(before, model, "G")
    if not isinstance(x, Tensor) or tuple(x.shape) != (16, 1, 28, 28):
        raise Fail(f"for z of shape (16, 100) forward returned {describe(x)}, expected (16, 1, 28, 28)",
                   "reshape the 784 outputs with .view(-1, 1, 28, 28)")
    layers = [op for op in ops if op.name in {"linear", "batch_norm", "dropout"} | _ACTIVATIONS]
    last = layers[-1].name if layers else None
    if last != "tanh":
        hint = {"sigmoid": "outputs in [0, 1]: end with nn.Tanh(); the data is scaled to [-1, 1]",
                "clamp": "clamp cuts the gradient to 0 outside [-1, 1]: end with nn.Tanh()",
                "clip": "clip cuts the gradient to 0 outside [-1, 1]: end with nn.Tanh()",
                "hardtanh": "hardtanh's gradient is 0 outside [-1, 1], so saturated pixels stop learning: use Tanh",
                }.get(last, "end with nn.Tanh() so pixels stay in [-1, 1] like the data")
        raise Fail(f"the last operation forward applies is {last}", hint)
    sizes = [op.detail["weight"][::-1] for op in layers if op.name == "linear"]
    expected = [(100, 128), (128, 256), (256, 512), (512, 1024), (1024, 784)]
    if sizes != expected:
        raise Fail(f"forward applies linear layers {sizes}", f"the lecture's layers are {expected}")
    bns = [op.detail for op in layers if op.name == "batch_norm"]
    if [bn["features"] for bn in bns] != [256, 512, 1024]:
        raise Fail(f"forward normalises {[bn['features'] for bn in bns]} features with BatchNorm",
                   "call BatchNorm1d after the 256-, 512- and 1024-unit layers (none after the first); "
                   "a layer defined in __init__ counts only if forward runs it")
    if any(not bn["training"] for bn in bns):
        raise Fail("BatchNorm runs with running statistics in training mode", "use nn.BatchNorm1d(n), not a frozen one")
    if any(abs(bn["eps"] - 1e-5) > 1e-9 for bn in bns):
        raise Fail(f"BatchNorm1d eps = {bns[0]['eps']}",
                   "BatchNorm1d(n, 0.8) sets eps, not momentum; write momentum=0.2 explicitly")
    expect_plain_batchnorm(ops, "nn.BatchNorm1d(n)")
    matches = forward_matches(model, (z,), _MLP_OPS)
    if names(layers) != _MLP_OPS and not (matches and weighted(names(layers)) == weighted(_MLP_OPS)):
        raise Fail(f"forward applies {' -> '.join(names(layers))}",
                   "each hidden layer: Linear, (BatchNorm1d), LeakyReLU(0.2); then Linear(1024, 784) and Tanh")
    slopes = [op.detail["slope"] for op in layers if op.name == "leaky_relu"]
    if any(abs(s - 0.2) > 1e-9 for s in slopes):
        raise Fail(f"LeakyReLU slopes {slopes}", "use a negative slope of 0.2: nn.LeakyReLU(0.2)")
    expect_output_range(model, (torch.randn(16, 100, generator=seeded(1)),))
    if not matches:
        raise Fail("forward's output is not what its own layers give in the lecture's order",
                   "pass each layer's output on to the next, h = act(bn(fc(h))), and add nothing between the "
                   "layers: no extra noise, scaling, normalisation or abs")
    for batch in (5, 1):  # any batch size, not only the one tried above
        out = call(copy.deepcopy(G).eval(), torch.randn(batch, 100, generator=seeded(batch)), what="forward")
        if not isinstance(out, Tensor) or tuple(out.shape) != (batch, 1, 28, 28):
            raise Fail(f"for z of shape ({batch}, 100) forward returned {describe(out)}",
                       "reshape with .view(-1, 1, 28, 28): the batch size comes from z")
    try:
        other = type(G)(latent_dim=64)
    except Exception:  # noqa: BLE001 - a generator built another way: nothing to probe here
        other = None
    if other is not None:
        if getattr(other, "latent_dim", None) != 64:
            raise Fail(f"MyGenerator(latent_dim=64).latent_dim is {getattr(other, 'latent_dim', None)!r}",
                       "keep self.latent_dim = latent_dim: the training loop draws z of that size")
        out = call(other.eval(), torch.randn(3, 64, generator=seeded(2)), what="MyGenerator(latent_dim=64)")
        if not isinstance(out, Tensor) or tuple(out.shape) != (3, 1, 28, 28):
            raise Fail(f"MyGenerator(latent_dim=64) on z of shape (3, 64) returned {describe(out)}",
                       "the first layer is nn.Linear(latent_dim, 128), not a hard-coded 100")
