"""Behaviour probes for networks and update steps: what ``forward`` really runs, and state before/after.

``trace`` records the layer operations a forward pass applies, in order, whether they come from
``nn`` modules, ``torch.nn.functional`` or tensor methods, so a layer that is defined but never
called does not count, and ``F.leaky_relu(x, 0.2)`` counts as much as ``nn.LeakyReLU(0.2)``.
``snapshot`` and ``changes`` compare what a step leaves behind: weights, gradients, train/eval modes
and ``requires_grad`` flags.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from gancourse.checks._base import Fail, call, describe

LAYER_OPS = {"linear", "conv2d", "conv_transpose2d", "batch_norm", "instance_norm", "layer_norm", "leaky_relu",
             "relu", "tanh", "sigmoid", "hardtanh", "clamp", "clip", "softmax", "dropout", "embedding", "cat",
             "elu", "gelu", "selu", "softplus", "upsample", "interpolate", "max_pool2d", "avg_pool2d",
             "adaptive_avg_pool2d", "flatten", "relu6", "silu", "hardsigmoid"}


@dataclass
class Op:
    """One operation of a forward pass: its name, and what it tells about the layer."""

    name: str
    detail: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.name}({extra})" if extra else self.name


def _detail(name: str, args: tuple, kwargs: dict) -> dict:
    if name == "leaky_relu":
        slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
        return {"slope": float(slope)}
    if name in ("linear", "conv2d", "conv_transpose2d") and len(args) > 1 and isinstance(args[1], Tensor):
        return {"weight": tuple(args[1].shape)}
    if name == "batch_norm":
        training = args[5] if len(args) > 5 else kwargs.get("training", False)
        eps = args[7] if len(args) > 7 else kwargs.get("eps", 1e-5)
        weight = args[3] if len(args) > 3 else kwargs.get("weight")
        features = args[0].shape[1] if isinstance(args[0], Tensor) and args[0].dim() > 1 else None
        return {"features": features, "training": bool(training), "eps": float(eps), "affine": weight is not None}
    return {}


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[Op] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "").rstrip("_")
        if name in LAYER_OPS:
            self.ops.append(Op(name, _detail(name, args, kwargs)))
        return func(*args, **kwargs)


def trace(model: Callable, *inputs: Any, what: str = "forward") -> tuple[Any, list[Op]]:
    """Run ``model(*inputs)`` and return its output with the layer operations it applied, in order."""
    recorder = _Recorder()
    with recorder:
        out = call(model, *inputs, what=what)
    return out, recorder.ops


def names(ops: list[Op]) -> list[str]:
    """The operation names alone, e.g. ['linear', 'leaky_relu', 'linear', 'tanh']."""
    return [op.name for op in ops]


@dataclass
class State:
    """What a step may change, and what it must leave as it found it."""

    weights: list[Tensor]
    grads: list[Tensor | None]
    training: list[bool]
    requires_grad: list[bool]


def snapshot(model: nn.Module) -> State:
    """A copy of a model's weights, gradients, train/eval modes and requires_grad flags."""
    params = list(model.parameters())
    return State([p.detach().clone() for p in params],
                 [None if p.grad is None else p.grad.detach().clone() for p in params],
                 [m.training for m in model.modules()], [p.requires_grad for p in params])


def weights_changed(before: State, model: nn.Module) -> bool:
    """Whether any weight differs from the snapshot."""
    return any(not torch.equal(a, p.detach()) for a, p in zip(before.weights, model.parameters()))


def expect_same_modes(before: State, model: nn.Module, who: str) -> None:
    """Fail if a step left ``model`` in another train/eval mode, or with other requires_grad flags."""
    if [m.training for m in model.modules()] != before.training:
        raise Fail(f"{who} was left in {'training' if model.training else 'eval'} mode; it came in "
                   f"{'training' if before.training[0] else 'eval'} mode",
                   f"a step must not switch {who} with .eval()/.train() and leave it so")
    if [p.requires_grad for p in model.parameters()] != before.requires_grad:
        raise Fail(f"{who}'s requires_grad flags were changed and not restored",
                   "undo requires_grad_(False) after the step (try/finally), or do not freeze at all")


def expect_plain_batchnorm(ops: list[Op], layer: str = "nn.BatchNorm2d(c)") -> None:
    """Fail unless every BatchNorm that ran has the default eps and a learned scale and shift."""
    for op in ops:
        if op.name != "batch_norm":
            continue
        if abs(op.detail["eps"] - 1e-5) > 1e-9:
            raise Fail(f"a BatchNorm runs with eps = {op.detail['eps']}",
                       f"{layer.replace('c)', 'c, 0.8)')} sets eps, not momentum: write {layer}, or momentum=0.2 by name")
        if not op.detail["affine"]:
            raise Fail("a BatchNorm runs without its learned scale and shift (affine=False)",
                       f"keep {layer}'s default affine=True: the network learns each channel's scale and shift")


def last_layer(model: nn.Module) -> nn.Module | None:
    """The last Linear or convolution a model owns (in definition order), or None."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    return layers[-1] if layers else None


def expect_output_range(model: nn.Module, inputs: tuple, low: float = -1.0, high: float = 1.0) -> None:
    """Drive the last layer's bias far negative, then far positive: the outputs must reach ``low`` and
    ``high`` and never pass them (a Tanh at the end, with nothing rescaling it afterwards)."""
    layer = last_layer(model)
    if layer is None or layer.bias is None:
        return
    for bias, bound in ((-30.0, low), (30.0, high)):
        probe = copy.deepcopy(model).eval()
        with torch.no_grad():
            probe_layer = last_layer(probe)
            probe_layer.bias.fill_(bias)
            probe_layer.weight.mul_(1e-3)
            out = call(probe, *inputs, what="forward")
        if not isinstance(out, Tensor) or (out - bound).abs().max() > 1e-3:
            got = f"[{out.min().item():.3f}, {out.max().item():.3f}]" if isinstance(out, Tensor) else describe(out)
            raise Fail(f"with the last layer's output at {bias:+.0f} everywhere the images were in {got}, "
                       f"expected {bound:+.0f}", "end with Tanh and nothing after it: the images must span [-1, 1] "
                       "like the data, no (tanh + 1) / 2, no rescaling")
