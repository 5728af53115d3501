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
    call: tuple | None = field(default=None, repr=False, compare=False)  # (func, args, kwargs), to replay it

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
        running = args[1] if len(args) > 1 else kwargs.get("running_mean")
        return {"features": features, "training": bool(training), "eps": float(eps), "affine": weight is not None,
                "tracks": running is not None}
    return {}


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[Op] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "").rstrip("_")
        if name in LAYER_OPS:
            self.ops.append(Op(name, _detail(name, args, kwargs), (func, args, kwargs)))
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


def expect_forward_keeps_modes(model: nn.Module, inputs: tuple, who: str) -> None:
    """Fail if ``forward`` switches train/eval mode: a copy run in training mode, and one run in eval
    mode, must each come out in the mode it went in (sampling relies on eval mode staying eval)."""
    for mode in (True, False):
        probe = copy.deepcopy(model).train(mode)
        modes = [m.training for m in probe.modules()]
        with torch.no_grad():
            call(probe, *inputs, what="forward")
        if [m.training for m in probe.modules()] != modes:
            went, came = ("training", "eval") if mode else ("eval", "training")
            raise Fail(f"forward switched {who} (or a layer of it) out of {went} mode: it came out in {came} mode",
                       "forward must not call .train() or .eval(): the caller chooses the mode (eval to sample)")


def expect_plain_batchnorm(ops: list[Op], layer: str = "nn.BatchNorm2d(c)") -> None:
    """Fail unless every BatchNorm that ran has the default eps and a learned scale and shift."""
    for op in ops:
        if op.name != "batch_norm":
            continue
        if abs(op.detail["eps"] - 1e-5) > 1e-9:
            raise Fail(f"a BatchNorm runs with eps = {op.detail['eps']}",
                       f"{layer.replace('c)', 'c, 0.8)')} sets eps, not momentum: write {layer}, or momentum=0.2 by name")
        if not op.detail.get("tracks", True):
            raise Fail("a BatchNorm keeps no running statistics (track_running_stats=False)",
                       f"keep {layer}'s default: in eval mode, when sampling, it then normalises with the statistics "
                       "it learned instead of each batch's own")
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


_REPLAYED = {"linear", "conv2d", "conv_transpose2d", "batch_norm"}  # layers with weights: taken from the trace
_CANONICAL = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "flatten": lambda h: h.flatten(1),
              "leaky_relu": lambda h: torch.nn.functional.leaky_relu(h, 0.2)}


def weighted(layer_names: list[str]) -> list[str]:
    """The names of the layers with weights (and dropout), the activations left out: a forward that
    writes its activations by hand is compared on these, and on its numbers (:func:`forward_matches`)."""
    return [n for n in layer_names if n in _REPLAYED | {"dropout"}]


def replay(ops: list[Op], x: Tensor, recipe: list[str]) -> Tensor | None:
    """What ``recipe`` (layer names in order) computes from ``x`` with the layers ``forward`` ran: each
    weighted layer is the next traced one of its name, called as it was; activations are the
    canonical ones (LeakyReLU with slope 0.2). None if the trace lacks a layer the recipe needs."""
    queue = {name: [op for op in ops if op.name == name] for name in _REPLAYED}
    h = x
    for name in recipe:
        if name in _REPLAYED:
            if not queue[name]:
                return None
            func, args, kwargs = queue[name].pop(0).call
            try:
                h = func(h, *args[1:], **kwargs)
            except (RuntimeError, ValueError):  # the layers do not fit this order: not the recipe
                return None
        else:
            h = _CANONICAL[name](h)
    return h


def _scramble_batchnorms(model: nn.Module) -> None:
    """Give every BatchNorm a random scale, shift and running statistics, so that in eval mode it is
    far from the identity and a BatchNorm whose output is thrown away shows."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                for t, low in ((m.weight, 0.5), (m.running_var, 0.5)):
                    if t is not None:
                        t.copy_(torch.rand(t.shape, generator=gen) + low)
                for t in (m.bias, m.running_mean):
                    if t is not None:
                        t.copy_(torch.randn(t.shape, generator=gen))


def forward_matches(model: nn.Module, inputs: tuple, recipe: list[str],
                    part: Callable[[Tensor], Tensor] = lambda out: out) -> bool:
    """Whether ``forward`` computes exactly ``recipe`` from its own layers: in eval mode (dropout off),
    with scrambled BatchNorms, ``part(output)`` must equal :func:`replay` up to its shape. Catches a
    layer whose output is discarded and any operation added between the layers, and accepts any way
    of writing the activations (``nn`` modules, ``F`` functions, tensor methods, ``torch.where``)."""
    expect_forward_keeps_modes(model, inputs, "the network")
    probe = copy.deepcopy(model).eval()
    _scramble_batchnorms(probe)
    with torch.no_grad():
        out, ops = trace(probe, *inputs)
        expected = replay(ops, inputs[0], recipe)
        if expected is None or not isinstance(out, Tensor):
            return False
        got = part(out)
        return got.numel() == expected.numel() and torch.allclose(got.reshape(expected.shape), expected,
                                                                   rtol=1e-4, atol=1e-5)


def expect_device_follows(fn: Callable, *args: Any, hint: str) -> None:
    """Run ``fn`` on arguments moved to PyTorch's ``meta`` device (shapes without data, as a GPU would
    hold them): a tensor the answer creates on the CPU meets them and fails. Errors of any other kind
    (``.item()`` has no value to read on meta) are not this probe's business."""
    moved = [a.to("meta") if isinstance(a, (Tensor, nn.Module)) else a for a in args]
    try:
        fn(*moved)
    except Exception as err:  # noqa: BLE001 - only a device mismatch counts here
        text = str(err)
        if "device" in text and ("expected" in text or "same device" in text):
            raise Fail("a tensor was created on the CPU while the inputs are on another device "
                       f"({text.splitlines()[0][:80]})", hint) from None


_TRANSFERS = ("to", "type_as", "copy_", "new_tensor", "__get__", "__set__", "_has_compatible_shallow_copy_type")  # they move a tensor: two devices are their job


class _MixedDevices(TorchFunctionMode):
    """Records the first torch function called with tensors (not 0-dim) on two devices: the meta
    device tolerates a CPU weight in some operations (conv2d) that a GPU would refuse."""

    def __init__(self) -> None:
        super().__init__()
        self.mixed: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.mixed is None and getattr(func, "__name__", "") not in _TRANSFERS:
            found = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor) and a.dim() > 0]
            found += [t for a in args if isinstance(a, (list, tuple)) for t in a if isinstance(t, Tensor) and t.dim() > 0]
            if len({t.device.type for t in found}) > 1:
                self.mixed = getattr(func, "__name__", str(func))
        return func(*args, **kwargs)


def expect_one_device(fn: Callable, *args: Any, hint: str) -> None:
    """Like :func:`expect_device_follows`, and also fail when an operation meets the moved inputs with
    a tensor on the CPU even where the meta device lets it pass."""
    expect_device_follows(fn, *args, hint=hint)
    moved = [a.to("meta") if isinstance(a, (Tensor, nn.Module)) else a for a in args]
    mode = _MixedDevices()
    try:
        with mode:
            fn(*moved)
    except Exception as err:  # noqa: BLE001 - only a device mismatch counts here
        if "copy out of meta" in str(err):  # .cpu() or .numpy(): the result would leave the inputs' device
            raise Fail("the result was moved to the CPU while the inputs are on another device", hint) from None
    if mode.mixed is not None:
        raise Fail(f"{mode.mixed} got a tensor on the CPU beside inputs on another device", hint)
