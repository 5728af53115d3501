"""A GAN for 2-D toy mixtures, with three cures for mode collapse as options.

- ``pack`` (PacGAN, Lin et al. 2018): D judges ``pack`` samples at once, concatenated (real with
  real, fake with fake), so a batch of near-copies is easier to tell from a varied real one.
- ``minibatch_std`` (ProGAN, Karras et al. 2018): D's first hidden layer gets one extra feature, the
  batch's standard deviation (per feature, averaged), so D sees how varied the batch is.
- ``unroll`` (Metz et al. 2017, a TrainConfig field): G's loss is taken against D advanced ``unroll``
  steps on the current batch, so G is pushed towards samples that D's *reaction* cannot punish.

Any D/G pair of the loss zoo trains it. The networks and the steps live together here.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from gancourse.models.packing import PackedPenalty, check_pack, pack_samples, packed_steps  # noqa: F401 (shared)
from gancourse.models.shapes import check_noise

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU,
                                                   "leaky-relu": partial(nn.LeakyReLU, 0.2)}


def _mlp_layers(n_in: int, hidden: int, depth: int, activation: str) -> list[nn.Module]:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if hidden < 1 or depth < 1:
        raise ValueError(f"hidden and depth must be positive, got {hidden} and {depth}")
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else hidden, hidden), ACTIVATIONS[activation]()]
    return layers


class ToyGANGenerator(nn.Module):
    """G: z (B, latent_dim) -> ``depth`` x [Linear(hidden), activation] -> Linear -> points (B, 2)."""

    def __init__(self, latent_dim: int = 2, hidden: int = 128, depth: int = 2,
                 activation: str = "tanh") -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(*_mlp_layers(latent_dim, hidden, depth, activation),
                                 nn.Linear(hidden, 2))  # no squashing: the points are unbounded

    def forward(self, z: Tensor) -> Tensor:
        check_noise(z, self.latent_dim)
        return self.net(z)


def check_points(x: Tensor) -> None:
    """Raise ValueError unless ``x`` holds 2-D points, shape (B, 2)."""
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"expected points of shape (B, 2), got {tuple(x.shape)}")


def pack_points(x: Tensor, pack: int) -> Tensor:
    """(B, 2) -> (B / pack, 2 pack): each row holds ``pack`` consecutive samples side by side."""
    return pack_samples(x, pack)


def minibatch_stddev(h: Tensor) -> Tensor:
    """The minibatch standard deviation feature of ``h`` (B, F): the std of each feature over the
    batch, averaged over the features, as a column (B, 1)."""
    std = (h.var(0, unbiased=False) + 1e-8).sqrt()  # (F,); the 1e-8 keeps its gradient finite
    return std.mean().expand(len(h), 1)


class ToyGANDiscriminator(nn.Module):
    """D: points (B, 2) -> packs (B / pack, 2 pack) -> ``depth`` hidden layers -> one logit per pack.

    With ``minibatch_std`` the first hidden layer's output gets one more feature,
    :func:`minibatch_stddev` of the batch it came in (reals and fakes are judged in separate calls).
    """

    def __init__(self, hidden: int = 128, depth: int = 2, activation: str = "tanh", *,
                 pack: int = 1, minibatch_std: bool = False) -> None:
        super().__init__()
        check_pack(pack)
        if not isinstance(minibatch_std, bool):
            raise ValueError(f"minibatch_std must be True or False, got {minibatch_std!r}")
        if depth < 1:
            raise ValueError(f"depth must be positive, got {depth}")
        self.pack, self.minibatch_std = pack, minibatch_std
        self.first = nn.Sequential(*_mlp_layers(2 * pack, hidden, 1, activation))  # (B', hidden)
        n_mid = hidden + self.minibatch_std  # the std feature joins the first hidden layer
        body = _mlp_layers(n_mid, hidden, depth - 1, activation) if depth > 1 else []
        self.rest = nn.Sequential(*body, nn.Linear(hidden if depth > 1 else n_mid, 1))

    def forward(self, x: Tensor) -> Tensor:
        check_points(x)
        return self.forward_packed(pack_points(x, self.pack))  # (B, 2) -> (B / pack,)

    def forward_packed(self, packed: Tensor) -> Tensor:
        """Logits of already packed rows (B', 2 pack) -> (B',)."""
        h = self.first(packed)  # (B', hidden)
        if self.minibatch_std:
            h = torch.cat([h, minibatch_stddev(h)], dim=1)  # (B', hidden + 1)
        return self.rest(h).squeeze(1)


# --- training steps -------------------------------------------------------------------------------
def unrolled_parameters(D: nn.Module, x_real: Tensor, x_fake: Tensor, d_loss: Callable, k: int, *,
                        optimizer: str = "adam", lr: float = 2e-4, beta1: float = 0.5,
                        beta2: float = 0.999) -> dict[str, Tensor]:
    """D's parameters after ``k`` updates on this batch, as torch.optim's ``optimizer`` (adam, sgd
    with momentum beta1, rmsprop) would make them from a fresh state, kept in the autograd graph:
    a loss on them backpropagates through every unrolled update into ``x_fake`` (and so into G).
    D itself is left unchanged."""
    params = {name: p.detach().requires_grad_(True) for name, p in D.named_parameters()}
    slots = {name: (torch.zeros_like(p), torch.zeros_like(p)) for name, p in params.items()}
    for t in range(1, k + 1):
        loss = d_loss(functional_call(D, params, (x_real,)), functional_call(D, params, (x_fake,)))
        grads = torch.autograd.grad(loss, tuple(params.values()), create_graph=True)
        for (name, p), g in zip(list(params.items()), grads):
            m, v = slots[name]
            if optimizer == "adam":
                m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
                v_hat = v / (1 - beta2 ** t)  # the 1e-24 below keeps sqrt's gradient finite at 0
                params[name] = p - lr * (m / (1 - beta1 ** t)) / ((v_hat + 1e-24).sqrt() + 1e-8)
            elif optimizer == "sgd":
                m = g if t == 1 else beta1 * m + g
                params[name] = p - lr * m
            elif optimizer == "rmsprop":
                v = 0.99 * v + 0.01 * g * g
                params[name] = p - lr * g / ((v + 1e-24).sqrt() + 1e-8)
            else:
                raise ValueError(f"cannot unroll optimizer {optimizer!r}; use adam, sgd or rmsprop")
            slots[name] = (m, v)
    return params


def unrolled_generator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                            opt_g: torch.optim.Optimizer, g_loss: Callable, *, d_loss: Callable,
                            k: int, **update) -> dict:
    """(2) G: push D_k(G(z)) up, where D_k is D advanced ``k`` steps of ``d_loss`` on this batch.

    The full unrolled GAN: G's gradient flows through the k unrolled updates (second order), not
    only into the k-step-ahead D. ``update`` names D's optimizer and its settings
    (:func:`unrolled_parameters`). D's weights are not changed here.
    """
    from gancourse.train import finite, gradient_norm

    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    x_fake = G(z)
    params = unrolled_parameters(D, x_real, x_fake, d_loss, k, **update)
    fake_logits = functional_call(D, params, (x_fake,))
    loss = g_loss(fake_logits)
    loss_g = finite("the generator loss", loss)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = gradient_norm(G)
    opt_g.step()
    return {"loss_g": loss_g, "d_fake_g": torch.sigmoid(fake_logits).mean().item(), "grad_norm_g": grad_norm}


def toy_gan_steps(cfg) -> dict:
    """The steps of ``cfg.loss`` (any pair of the zoo), with a packed D's penalty taken per pack
    (:func:`~gancourse.models.packing.packed_steps`) and, with ``cfg.unroll``, the unrolled G step.
    Refuses unrolling a loss with a penalty or clipping (the unrolled updates would leave them out)."""
    from gancourse.losses import LOSSES

    steps = packed_steps(cfg)
    penalty = getattr(steps["d_step"], "keywords", {}).get("penalty", "none")
    if cfg.unroll:
        clip = cfg.clip if cfg.clip is not None else LOSSES[cfg.loss].clip
        if penalty != "none" or clip is not None:
            raise ValueError(f"unroll={cfg.unroll} needs a loss without a penalty or clipping "
                             f"(loss={cfg.loss!r}, penalty={penalty!r}, clip={clip}): the unrolled "
                             f"D updates would leave them out")
        steps["g_step"] = partial(unrolled_generator_step, d_loss=steps["d_loss"], k=cfg.unroll,
                                  optimizer=cfg.optimizer, lr=cfg.lr_d, beta1=cfg.beta1, beta2=cfg.beta2)
    return steps
