"""Self-checks of lecture 3: a transposed-conv block, a DCGAN discriminator of any image size, and
the DCGAN weight initialisation."""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import Tensor, nn

from gancourse.checks._base import Fail, call, check, describe, seeded
from gancourse.checks._modules import (expect_plain_batchnorm, expect_same_modes, forward_matches, names, snapshot,
                                      trace, weighted)

_ACT = {"relu", "leaky_relu"}


def _module(make: Callable, *args: int) -> nn.Module:
    block = call(make, *args, what=f"make_block{args}")
    if not isinstance(block, nn.Module):
        raise Fail(f"it returned {describe(block)}", "return an nn.Module, e.g. nn.Sequential(...)")
    return block


@check("transposed-conv block")
def check_upsample_block(make_block: Callable[[int, int], nn.Module]) -> None:
    """Check ``make_block(c_in, c_out)``: a transposed convolution doubling H and W, then BatchNorm
    and ReLU, as ``forward`` runs them, for several channel counts and sizes."""
    for c_in, c_out, size in ((128, 64, 7), (48, 20, 14), (12, 24, 5), (3, 5, 1)):
        block = _module(make_block, c_in, c_out)
        before = snapshot(block)
        x = torch.randn(4, c_in, size, size, generator=seeded(size))
        x_before = x.clone()
        y, ops = trace(block, x)
        if not torch.equal(x, x_before):
            raise Fail("the block changed its input in place", "no inplace=True before the convolution: leave x alone")
        expected = (4, c_out, 2 * size, 2 * size)
        if not isinstance(y, Tensor) or tuple(y.shape) != expected:
            hint = ("with stride 2 the output is 2H - 2 - 2 * padding + kernel_size + output_padding: choose them so "
                    "that the terms after 2H cancel, for every H")
            if isinstance(y, Tensor) and y.dim() == 4 and y.shape[1] != c_out:
                hint = "the block's convolution must go from c_in to c_out channels"
            raise Fail(f"input {tuple(x.shape)} gave {describe(y)}, expected shape {expected}", hint)
        expect_same_modes(before, block, "the block")
        layers = [op for op in ops if op.name not in {"cat", "flatten"}]
        if "conv_transpose2d" not in names(layers):
            raise Fail(f"forward applies {' -> '.join(names(layers)) or 'nothing'}, no transposed convolution",
                       "this exercise is about nn.ConvTranspose2d (upsample + conv is lecture 3's alternative)")
        up = [op for op in layers if op.name == "conv_transpose2d"]
        if len(up) != 1 or up[0].detail["weight"][:2] != (c_in, c_out):
            raise Fail(f"forward applies transposed convolutions with weights {[op.detail['weight'] for op in up]}",
                       "one nn.ConvTranspose2d(c_in, c_out, ...)")
        order = names(layers)
        matches = forward_matches(block, (x,), ["conv_transpose2d", "batch_norm", "relu"])
        if matches and weighted(order) == ["conv_transpose2d", "batch_norm"] and order[2:] != ["relu"]:
            order = ["conv_transpose2d", "batch_norm", "relu"]  # a ReLU written by hand: its numbers are right
        if order[:2] != ["conv_transpose2d", "batch_norm"]:
            raise Fail(f"forward applies {' -> '.join(order)}", "normalise the convolution's output: "
                       "nn.BatchNorm2d(c_out) right after it (a layer counts only if forward runs it)")
        if not layers[1].detail["training"]:
            raise Fail("BatchNorm uses running statistics in training mode", "use nn.BatchNorm2d(c_out) as it comes")
        if len(order) != 3 or order[2] not in _ACT:
            raise Fail(f"forward applies {' -> '.join(order)}", "end the block with a ReLU (DCGAN's generator), "
                       "after the BatchNorm")
        if order[2] != "relu":
            raise Fail(f"forward applies {' -> '.join(order)}", "DCGAN's generator uses ReLU (nn.ReLU()); LeakyReLU "
                       "is for its discriminator")
        expect_plain_batchnorm(ops, "nn.BatchNorm2d(c_out)")
        if not matches:
            raise Fail("the block's output is not ReLU(BatchNorm(conv(x))) of its own layers",
                       "pass each layer's output on to the next and return the last one; add nothing between them")
        twin = copy.deepcopy(block).double()
        out = call(twin, x.double(), what="the block in float64")
        if not isinstance(out, Tensor) or out.dtype != torch.float64:
            raise Fail(f"in float64 the block returned {describe(out)}", "build the block from nn layers only")


def _disc_ops(image_size: int) -> str:
    return f"conv -> LeakyReLU(0.2) -> conv -> BatchNorm -> LeakyReLU(0.2) -> flatten -> linear (image size {image_size})"


@check("DCGAN discriminator")
def check_dcgan_discriminator(make_discriminator: Callable[[int], nn.Module]) -> None:
    """Check ``make_discriminator(image_size)``: two stride-2 convs (1 -> 64 -> 128 channels) with
    LeakyReLU(0.2) and BatchNorm on the second, flatten, one linear layer -> one logit per image (B,)."""
    for size in (28, 32, 12, 20):
        D = call(make_discriminator, size, what=f"make_discriminator({size})")
        if not isinstance(D, nn.Module):
            raise Fail(f"make_discriminator({size}) returned {describe(D)}", "return an nn.Module")
        x = torch.rand(3, 1, size, size, generator=seeded(size)) * 2 - 1
        x_before, before = x.clone(), snapshot(D)
        try:
            out, ops = trace(D, x)
        except Fail as fail:
            if "mat1 and mat2" in fail.problem:
                raise Fail(f"for {size}x{size} images the linear layer gets the wrong number of inputs",
                           "work out the flattened size: channels of the last conv x (H after two halvings) x "
                           "(W after two halvings), as a function of image_size") from None
            raise
        if not torch.equal(x, x_before):
            raise Fail("forward changed the images in place", "leave the caller's tensor alone")
        expect_same_modes(before, D, "D")
        if not isinstance(out, Tensor) or tuple(out.shape) not in ((3,), (3, 1)):
            raise Fail(f"for a batch of 3 {size}x{size} images it returned {describe(out)}",
                       "one logit per image: shape (B,) (flatten, then a linear layer to 1, then .squeeze(1))")
        expect_plain_batchnorm(ops, "nn.BatchNorm2d(c)")
        layers = [op for op in ops if op.name not in {"flatten", "dropout"}]
        order = names(layers)
        if order and order[-1] in {"sigmoid", "tanh", "softmax", "hardtanh", "clamp"}:
            raise Fail(f"the last operation is {order[-1]}", "return logits: the loss applies the sigmoid itself")
        recipe = ["conv2d", "leaky_relu", "conv2d", "batch_norm", "leaky_relu", "flatten", "linear"]
        matches = forward_matches(D, (x,), recipe)
        if matches and weighted(order) == weighted(recipe):
            order = [n for n in recipe if n != "flatten"]  # activations written by hand: their numbers are right
        if order != ["conv2d", "leaky_relu", "conv2d", "batch_norm", "leaky_relu", "linear"]:
            raise Fail(f"forward applies {' -> '.join(order)}", f"expected {_disc_ops(size)}; "
                       "no BatchNorm on the first layer, which sees raw pixels")
        convs = [op.detail["weight"][:2] for op in layers if op.name == "conv2d"]
        if convs != [(64, 1), (128, 64)]:
            raise Fail(f"the convolutions map channels {[(i, o) for o, i in convs]}", "1 -> 64 -> 128 channels")
        if any(abs(op.detail["slope"] - 0.2) > 1e-9 for op in layers if op.name == "leaky_relu"):
            raise Fail("a LeakyReLU slope is not 0.2", "nn.LeakyReLU(0.2), as in DCGAN's discriminator")
        flat = layers[-1].detail["weight"][1]
        if flat != 128 * (size // 4) ** 2:
            raise Fail(f"for {size}x{size} images the linear layer takes {flat} inputs",
                       "each stride-2 conv must halve H and W exactly: kernel 4, padding 1 (or kernel 3, padding 1 "
                       "for even sizes); the flattened size is 128 * (image_size // 4) ** 2")
        if not matches:
            raise Fail("D's output is not what its own layers give in that order",
                       "pass each layer's output on to the next and return the linear layer's; add nothing between "
                       "them (a BatchNorm whose result is not used does not count)")


def _init_probe_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(16, 64, 4), nn.BatchNorm2d(2048), nn.LeakyReLU(0.2),
                         nn.ConvTranspose2d(64, 32, 4), nn.Conv2d(32, 32, 4, bias=False), nn.Linear(256, 128),
                         nn.BatchNorm1d(1024), nn.Embedding(10, 50), nn.LayerNorm(64), nn.Conv2d(16, 64, 4))


def _normal_problem(values: Tensor, mean: float, std: float) -> str | None:
    """Why ``values`` do not look like draws from N(mean, std^2); None if they do (5-sigma bounds)."""
    n, v = values.numel(), values.detach().double().flatten()
    m, s = v.mean().item(), v.std().item()
    if abs(m - mean) > 5 * std / n ** 0.5 + 1e-12:
        return f"mean {m:.4f}, expected {mean}"
    if abs(s - std) > 5 * std / (2 * n) ** 0.5 + 0.02 * std:
        return f"standard deviation {s:.4f}, expected {std}"
    kurtosis = (((v - m) / s) ** 4).mean().item()
    if abs(kurtosis - 3) > 6 * (24 / n) ** 0.5:
        return f"the values are not normally distributed (kurtosis {kurtosis:.2f}, a normal's is 3)"
    return None


@check("DCGAN initialisation")
def check_dcgan_init(init_weights: Callable[[nn.Module], None]) -> None:
    """Check ``model.apply(init_weights)``: conv, transposed-conv and linear weights ~ N(0, 0.02) with
    zero biases; BatchNorm scales ~ N(1, 0.02) with zero shifts; nothing else touched."""
    net = _init_probe_net().double()
    params, before, original = list(net.parameters()), snapshot(net), copy.deepcopy(net)
    with torch.random.fork_rng():
        torch.random.default_generator.manual_seed(0)
        call(net.apply, init_weights, what="model.apply(init_weights)")
    if [id(p) for p in net.parameters()] != [id(p) for p in params]:
        raise Fail("the layers got new Parameter objects", "initialise in place: nn.init.normal_(m.weight, 0.0, 0.02), "
                   "so an optimiser built earlier still holds them")
    if any(p.dtype != torch.float64 for p in net.parameters()):
        raise Fail("a float64 model came back with float32 weights", "initialise in place with nn.init, not .data = ...")
    expect_same_modes(before, net, "the model")
    for module, old in zip(net, original):
        label = type(module).__name__
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d)):
            if torch.equal(module.weight, old.weight):
                raise Fail(f"{label} weights were left as PyTorch made them",
                           "cover every kind: isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and "
                           "isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))")
            centre = 1.0 if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) else 0.0
            if (problem := _normal_problem(module.weight, centre, 0.02)) is not None:
                hint = ("BatchNorm's weight is a scale: N(1, 0.02), centred on 1" if centre == 1.0 else
                        "weights ~ N(0, 0.02): nn.init.normal_(m.weight, 0.0, 0.02); 0.02 is the standard deviation")
                if "kurtosis" in problem:
                    hint = "draw from a normal distribution (nn.init.normal_), not a uniform one"
                raise Fail(f"{label} weights: {problem}", hint)
            if module.bias is not None and module.bias.abs().max() > 0:
                raise Fail(f"{label} biases are not zero", "nn.init.zeros_(m.bias), where a layer has a bias")
        elif any(not torch.equal(a, b) for a, b in zip(module.parameters(), old.parameters())):
            raise Fail(f"the {label} was re-initialised too", "touch only convolutions, linear layers and BatchNorm: "
                       "test isinstance(m, ...) for those, and leave every other module as it is")
    for module, old in zip(net, original):
        changed = [name for name, b in module.named_buffers() if not torch.equal(b, dict(old.named_buffers())[name])]
        settings = [k for k in ("eps", "momentum") if getattr(module, k, None) != getattr(old, k, None)]
        if changed or settings:
            raise Fail(f"the {type(module).__name__}'s {', '.join(changed + settings)} changed",
                       "initialise weights and biases only: BatchNorm's running statistics, eps and momentum "
                       "are not parameters to draw")
    if torch.equal(net[0].weight, net[-1].weight):
        raise Fail("two layers of the same shape got identical weights", "do not reseed inside init_weights "
                   "(no torch.manual_seed there): every layer needs its own draw")
