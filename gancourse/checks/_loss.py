"""Behaviour probes for loss functions: values on fresh random inputs, then gradients at extreme
logits against the reference's autograd gradient, graph connectivity, dtype and device.

``probe_loss`` runs them in this order and raises ``Fail`` at the first disagreement:
1. the value on independent random inputs, two batch sizes (named mistakes are recognised here);
2. the inputs are left as they came (no in-place ``sigmoid_()`` on the caller's tensors);
3. at logits of +-30 and +-100 mixed with ordinary ones (float32, where log(sigmoid(-100)) is -inf): the value, that the result is
   connected to each input's graph, and d loss / d input equal to the reference's autograd gradient;
4. float64 in, float64 out, at float64 precision, on a batch of another size; inputs on the ``meta``
   device: no tensor made on a fixed device.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from gancourse.checks._base import Fail, call, close, expect_scalar, seeded

EXTREMES = torch.tensor([-100.0, -30.0, -3.0, 0.25, 3.0, 30.0, 100.0])  # not 0: max(x, 0)'s kink
CUT_OFF = ("work on logits: F.binary_cross_entropy_with_logits or F.logsigmoid; log(sigmoid(x) + eps), clamp "
           "or a sigmoid before F.binary_cross_entropy cut the loss off where D is confident")


@dataclass(frozen=True)
class Arg:
    """One argument of the function under test: how to draw it, and how to probe it."""

    name: str
    make: Callable[[torch.Generator, torch.dtype, int], Tensor | float]  # (generator, dtype, batch size)
    logits: bool = False  # probed at extreme values
    grad: bool = True  # the loss must be differentiable with respect to it


def logits(name: str, *shape: int) -> Arg:
    """Logits of shape (batch, *shape), standard normal scaled by 1.5."""
    return Arg(name, lambda g, dt, n: torch.randn(n, *shape, generator=g, dtype=dt) * 1.5, logits=True)


def data(name: str, *shape: int, low: float = 0.0, high: float = 1.0) -> Arg:
    """Uniform data in [low, high) of shape (batch, *shape)."""
    return Arg(name, lambda g, dt, n: low + (high - low) * torch.rand(n, *shape, generator=g, dtype=dt))


def mask(name: str, *shape: int, p: float = 0.7) -> Arg:
    """A 0/1 float mask, at least one 0 and one 1 in every batch."""
    def make(g: torch.Generator, dt: torch.dtype, n: int) -> Tensor:
        m = (torch.rand(n, *shape, generator=g) < p).to(dt)
        m.view(-1)[0], m.view(-1)[1] = 0.0, 1.0
        return m
    return Arg(name, make, grad=False)


def labels(name: str, num_classes: int) -> Arg:
    """Integer class labels of shape (batch,). Odd batch sizes leave the last class out, so an answer
    that reads the number of classes off the labels (``F.one_hot(y)`` without ``num_classes``) shows."""
    return Arg(name, lambda g, dt, n: torch.randint(0, num_classes - n % 2, (n,), generator=g), grad=False)


def number(name: str, low: float, high: float) -> Arg:
    """A plain Python number such as a weight alpha or lambda, drawn afresh from [low, high)."""
    return Arg(name, lambda g, dt, n: round(low + (high - low) * torch.rand(1, generator=g).item(), 2), grad=False)


def _draw(args: list[Arg], seed: int, dtype: torch.dtype, n: int, extreme: bool = False, grad: bool = True) -> list:
    gen, values = seeded(seed), []
    for arg in args:
        value = arg.make(gen, dtype, n)
        if extreme and arg.logits:
            pick = torch.randint(0, len(EXTREMES), (value.numel(),), generator=gen)
            pick[:len(EXTREMES)] = torch.randperm(len(EXTREMES), generator=gen)  # every extreme, in each argument
            value = EXTREMES.to(dtype)[pick].view(value.shape)
        if isinstance(value, Tensor) and arg.grad and grad:
            value = value.detach().requires_grad_(True)
        values.append(value)
    return values


def _clones(values: list) -> list:
    return [v.detach().clone().requires_grad_(v.requires_grad) if isinstance(v, Tensor) else v for v in values]


def _match(value: Tensor, candidates: list[Callable], values: list, tol: float) -> Callable | None:
    return next((c for c in candidates if close(value, c(*values), tol)), None)


def _value_stage(fn, args, accepted, mistakes, what, seed, n):
    inputs = _draw(args, seed, torch.float32, n, grad=False)
    kept = _clones(inputs)
    value = expect_scalar(call(fn, *inputs, what=what), what)
    for arg, before, after in zip(args, kept, inputs):
        if isinstance(before, Tensor) and not torch.equal(before.detach(), after.detach()):
            raise Fail(f"{what} changed its argument {arg.name} in place",
                       "leave the caller's tensors alone: torch.sigmoid(x), not x.sigmoid_() or x += ...")
    matched = _match(value, accepted, kept, 1e-4)
    if matched is None:
        expected = accepted[0](*kept).item()
        hint = next((h for h, wrong in mistakes.items() if close(value, wrong(*kept), 1e-4)),
                    "compare each term with the formula in the markdown cell above")
        raise Fail(f"{what} is {value.item():.4f} on a random batch, expected {expected:.4f}", hint)
    return matched


def _gradient_stage(fn, args, reference, what, seed, n):
    inputs = _draw(args, seed, torch.float32, n, extreme=True)  # float32: where log(sigmoid(-100)) is -inf
    value = expect_scalar(call(fn, *inputs, what=what), what)
    expected = reference(*inputs)
    if not torch.isfinite(value):
        raise Fail(f"{what} is {value.item()} at logits of +-30 and +-100", CUT_OFF)
    if not close(value, expected, 1e-5):
        raise Fail(f"{what} is {value.item():.4f} at logits of +-30 and +-100, expected {expected.item():.4f}",
                   CUT_OFF)
    wrt = [(a, v) for a, v in zip(args, inputs) if a.grad and isinstance(v, Tensor)]
    if not value.requires_grad:
        raise Fail(f"{what} is not connected to its inputs' graph: no gradient can flow back",
                   "no .detach(), .item(), .data or torch.tensor(...) on the way: build the loss from the inputs")
    grads = torch.autograd.grad(value, [v for _, v in wrt], allow_unused=True)
    ref_grads = torch.autograd.grad(expected, [v for _, v in wrt], allow_unused=True)
    if all(g is None for g in grads):
        raise Fail(f"{what} is not connected to its inputs' graph: no gradient reaches them",
                   "no .detach(), .item(), .data or torch.tensor(...) on the way: build the loss from the inputs")
    for (arg, x), g, r in zip(wrt, grads, ref_grads):
        r = torch.zeros_like(x) if r is None else r
        if g is None:
            if r.abs().sum() > 0:
                raise Fail(f"no gradient reaches {arg.name}: the loss does not depend on it through the graph",
                           "a term was detached, or computed from a copy (.item(), .detach(), .data)")
            continue
        if torch.allclose(g, r, rtol=1e-4, atol=1e-7):
            continue
        i = int(((g - r).abs() - 1e-4 * r.abs()).flatten().nan_to_num(float("inf")).argmax())
        at = f"{arg.name} = {x.detach().flatten()[i].item():g}"
        got, want = g.flatten()[i].item(), r.flatten()[i].item()
        hint = (CUT_OFF if arg.logits else
                "the value is right but not its gradient: a term is cut off, detached or clamped")
        if arg.logits and got == 0 and want != 0:
            hint = "the gradient vanishes where D is confident: " + CUT_OFF
        raise Fail(f"d({what})/d{arg.name} is {got:.3g} at {at}, expected {want:.3g}", hint)


def _dtype_stage(fn, args, reference, what, n):
    inputs = _draw(args, 4, torch.float64, n)
    value = expect_scalar(call(fn, *_clones(inputs), what=f"{what} in float64"), what)
    if value.dtype != torch.float64:
        raise Fail(f"{what} came back as {value.dtype} for float64 inputs",
                   "a tensor was made with a fixed dtype: use torch.ones_like(x) or dtype=x.dtype")
    expected = reference(*inputs)
    if not close(value, expected, 1e-10):
        raise Fail(f"{what} is {value.item():.10g} for float64 inputs (batch of {n}), expected {expected.item():.10g}",
                   "compute in the inputs' dtype: a tensor was made in float32 (torch.ones(shape): use torch.ones_like(x)) "
                   "or .float() was called on the way; and the same way for every batch size")


def _device_stage(fn, args, reference, what, n):
    inputs = [v.detach().to("meta") if isinstance(v, Tensor) else v for v in _draw(args, 2, torch.float32, n)]
    try:
        reference(*inputs)
    except Exception:  # noqa: BLE001 - the reference cannot run there: nothing to compare
        return
    try:
        out = fn(*inputs)
    except NotImplementedError:
        return  # a data-dependent operation, fine on real devices
    except Exception as err:  # noqa: BLE001
        if "expected device" in str(err) or "same device" in str(err):
            raise Fail(f"{what} mixes devices: with inputs on another device it raised {type(err).__name__}",
                       "a tensor was made without device=: use torch.ones_like(x), or device=x.device") from None
        return
    if isinstance(out, Tensor) and out.device.type != "meta":
        raise Fail(f"{what} came back on {out.device.type} for inputs on another device",
                   "build the result from the inputs, not with torch.tensor(...) on a fixed device")


def probe_loss(fn: Callable, args: list[Arg], reference: Callable, *, alternatives: tuple = (),
               mistakes: dict[str, Callable] | None = None, what: str = "the loss") -> None:
    """Raise ``Fail`` unless ``fn`` behaves like ``reference`` (or an accepted alternative) on values,
    gradients at extreme logits, graph connectivity, dtype and device."""
    accepted, mistakes = [reference, *alternatives], mistakes or {}
    matched = _value_stage(fn, args, accepted, mistakes, what, seed=0, n=5)
    if _value_stage(fn, args, accepted, mistakes, what, seed=1, n=8) is not matched:
        raise Fail(f"{what} follows a different formula on a second batch", "do not depend on the batch size")
    _gradient_stage(fn, args, matched, what, seed=3, n=12)
    _dtype_stage(fn, args, matched, what, n=6)
    _device_stage(fn, args, matched, what, n=4)
