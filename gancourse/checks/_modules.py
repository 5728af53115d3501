"""Behaviour probes for networks and update steps: what ``forward`` really runs, and state before/after.

``trace`` records the layer operations a forward pass applies, in order, whether they come from
``nn`` modules, ``torch.nn.functional`` or tensor methods, so a layer that is defined but never
called does not count, and ``F.leaky_relu(x, 0.2)`` counts as much as ``nn.LeakyReLU(0.2)``.
``snapshot`` and ``changes`` compare what a step leaves behind: weights, gradients, train/eval modes
and ``requires_grad`` flags.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from gancourse.checks._base import Fail, call

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
