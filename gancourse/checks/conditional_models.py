"""Self-checks of lecture 4's networks: the forward pass of a conditional generator and discriminator.

The exercise gives ``__init__`` (an ``embed`` table and a ``net``); the student writes ``forward``.
The checks compare it, on fresh random inputs of two batch sizes, with the forward passes the given
layers allow (the label after the input, or before it), then follow the gradient into the label
embedding, and try float64.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import Tensor, nn

from gancourse.checks._base import Fail, call, check, describe, seeded
from gancourse.checks._modules import expect_forward_keeps_modes, expect_same_modes, snapshot


def _layers(model, what: str) -> tuple[nn.Embedding, nn.Module]:
    if not isinstance(model, nn.Module):
        raise Fail(f"got {describe(model)}", f"pass an instance of your {what}")
    embed, net = getattr(model, "embed", None), getattr(model, "net", None)
    if not isinstance(embed, nn.Embedding) or not isinstance(net, nn.Module):
        raise Fail(f"the {what} has no self.embed (nn.Embedding) and self.net", "keep the __init__ the exercise gives")
    return embed, net


def _probe(model: nn.Module, draw: Callable, candidates: Callable, what: str, hint: str, squeeze: bool) -> None:
    """Compare ``model(*draw(B))`` with each of ``candidates(model, *inputs)``, then its gradients.

    Copies of the model run in eval mode (no dropout noise, no batch statistics between samples);
    the student's model itself is left as it came."""
    probe = copy.deepcopy(model)
    before, inputs = snapshot(probe), draw(seeded(4), 3, torch.float32)
    kept = [t.clone() for t in inputs]
    call(probe, *inputs, what="forward")
    if any(not torch.equal(a, b) for a, b in zip(inputs, kept)):
        raise Fail("forward changed its inputs in place", "leave the caller's tensors alone")
    expect_same_modes(before, probe, f"the {what}")
    expect_forward_keeps_modes(model, tuple(draw(seeded(5), 4, torch.float32)), f"the {what}")
    model = copy.deepcopy(model).eval()
    for seed, n in ((0, 5), (1, 9)):
        inputs = draw(seeded(seed), n, torch.float32)
        kept = [t.clone() for t in inputs]
        out = call(model, *inputs, what="forward")
        with torch.no_grad():
            refs = candidates(model, *kept)
        shape = tuple(refs[0].shape)
        if not isinstance(out, Tensor) or (tuple(out.shape) != shape and not (squeeze and tuple(out.shape) == shape + (1,))):
            raise Fail(f"for a batch of {n} forward returned {describe(out)}, expected shape {shape}", hint)
        out = out.detach().reshape(shape)
        match = next((i for i, r in enumerate(refs) if torch.allclose(out, r, atol=1e-5)), None)
        if match is None:
            labels = kept[1]
            other = (labels + 1) % model.embed.num_embeddings
            again = call(model, kept[0], other, what="forward").detach().reshape(shape)
            if torch.allclose(again, out):
                raise Fail("the output does not change when the labels change", "the label must reach the network: "
                           "use self.embed(labels) for each sample's own label")
            if squeeze and torch.allclose(out, torch.sigmoid(refs[0]), atol=1e-5):
                raise Fail("the outputs are probabilities", "return logits: the loss applies the sigmoid itself")
            raise Fail(f"the {what}'s output differs from the forward pass its layers allow", hint)
    inputs = [t.requires_grad_(t.is_floating_point()) for t in draw(seeded(2), 6, torch.float64)]
    twin = copy.deepcopy(model).double()
    out = call(twin, *inputs, what="forward with float64 inputs")
    if not isinstance(out, Tensor) or out.dtype != torch.float64:
        raise Fail(f"with float64 inputs and weights forward returned {describe(out)}",
                   "do not create tensors with a fixed dtype inside forward; build from the inputs")
    out.sum().backward()
    ref_twin = copy.deepcopy(model).double()
    ref_inputs = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs]
    candidates(ref_twin, *ref_inputs)[match].sum().backward()
    grad = twin.embed.weight.grad
    if grad is None or not torch.allclose(grad, ref_twin.embed.weight.grad, atol=1e-6):
        raise Fail("the label embedding gets no gradient, or the wrong one",
                   "the embedding learns with the network: no .detach() or torch.no_grad() around self.embed(labels)")
    _device_probe(model, draw)


def _device_probe(model: nn.Module, draw: Callable) -> None:
    """Run forward with the model and inputs on the meta device: a tensor made on a fixed device shows."""
    twin, inputs = copy.deepcopy(model).to("meta"), [t.to("meta") for t in draw(seeded(3), 4, torch.float32)]
    try:
        out = twin(*inputs)
    except Exception as err:  # noqa: BLE001 - only a device mix-up is this probe's business
        if "expected device" in str(err) or "same device" in str(err):
            raise Fail("forward mixes devices: on another device it raised an error",
                       "a tensor was made without device=: build it from the inputs "
                       "(torch.zeros_like, device=z.device)") from None
        return
    if isinstance(out, Tensor) and out.device.type != "meta":
        raise Fail(f"for inputs on another device forward returned {describe(out)}", "build the output from the inputs")


def _generator_inputs(G) -> Callable:
    def draw(gen: torch.Generator, n: int, dtype: torch.dtype) -> list[Tensor]:
        return [torch.randn(n, G.latent_dim, generator=gen, dtype=dtype),
                torch.randint(0, G.embed.num_embeddings, (n,), generator=gen)]
    return draw


def _generator_candidates(G, z: Tensor, y: Tensor) -> list[Tensor]:
    e = G.embed(y)
    return [G.net(torch.cat([z, e], 1)).view(-1, 1, 28, 28), G.net(torch.cat([e, z], 1)).view(-1, 1, 28, 28)]


@check("conditional generator")
def check_conditional_generator(G: nn.Module) -> None:
    """Check ``G.forward(z, labels)``: concatenate z with the label's embedding, run ``G.net``,
    return images of shape (B, 1, 28, 28)."""
    _layers(G, "generator")
    if not isinstance(getattr(G, "latent_dim", None), int):
        raise Fail("G has no integer latent_dim", "keep self.latent_dim from the given __init__")
    _probe(G, _generator_inputs(G), _generator_candidates, "generator",
           "concatenate z and self.embed(labels) along dim 1, run self.net, then .view(-1, 1, 28, 28)", squeeze=False)


def _discriminator_inputs(D) -> Callable:
    def draw(gen: torch.Generator, n: int, dtype: torch.dtype) -> list[Tensor]:
        return [torch.rand(n, 1, 28, 28, generator=gen, dtype=dtype) * 2 - 1,
                torch.randint(0, D.embed.num_embeddings, (n,), generator=gen)]
    return draw


def _discriminator_candidates(D, x: Tensor, y: Tensor) -> list[Tensor]:
    label_map = D.embed(y).view(-1, 1, 28, 28)
    return [D.net(torch.cat([x, label_map], 1)).view(-1), D.net(torch.cat([label_map, x], 1)).view(-1)]


@check("conditional discriminator")
def check_conditional_discriminator(D: nn.Module) -> None:
    """Check ``D.forward(x, labels)``: the label's embedding as a second 28x28 channel beside the
    image, through ``D.net``, one logit per image, shape (B,)."""
    embed, _ = _layers(D, "discriminator")
    if embed.embedding_dim != 28 * 28:
        raise Fail(f"self.embed has {embed.embedding_dim} dimensions", "keep the given nn.Embedding(num_classes, 28 * 28)")
    _probe(D, _discriminator_inputs(D), _discriminator_candidates, "discriminator",
           "reshape self.embed(labels) to (B, 1, 28, 28), stack it on x with torch.cat(..., dim=1), run self.net "
           "and return one logit per image, shape (B,)", squeeze=True)
