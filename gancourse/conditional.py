"""Training steps of the conditional GANs; they plug into :func:`gancourse.train.train_gan`.

The batch's labels condition the fakes, so generated classes follow the data's class balance.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from gancourse.losses import (acgan_discriminator_loss, acgan_generator_loss,
                              cgan_discriminator_loss, generator_loss_nonsaturating)
from gancourse.train import finite, frozen, gradient_norm


def mismatched_labels(labels: Tensor, num_classes: int) -> Tensor:
    """For each label, a different class drawn uniformly from the other ``num_classes - 1``."""
    shift = torch.randint(1, num_classes, labels.shape, device=labels.device)
    return (labels + shift) % num_classes


def cgan_discriminator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                            opt_d: torch.optim.Optimizer,
                            d_loss: Callable = cgan_discriminator_loss) -> dict:
    """(1) D: (x, y) real; (G(z, y), y) fake; (x, wrong y) fake."""
    x_real, labels = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    x_fake = G(z, labels).detach()  # D's update must not flow back into G
    real_logits, fake_logits = D(x_real, labels), D(x_fake, labels)
    mismatched_logits = D(x_real, mismatched_labels(labels, G.num_classes))
    loss = d_loss(real_logits, fake_logits, mismatched_logits)
    loss_d = finite("the discriminator loss", loss)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    probs = torch.stack([torch.sigmoid(t).mean() for t in (real_logits, fake_logits, mismatched_logits)])
    d_real, d_fake, d_mismatched = probs.tolist()
    return {"loss_d": loss_d, "d_real": d_real, "d_fake": d_fake, "d_mismatched": d_mismatched}


def cgan_generator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                        opt_g: torch.optim.Optimizer,
                        g_loss: Callable = generator_loss_nonsaturating) -> dict:
    """(2) G: make D accept (G(z, y), y) as a real pair."""
    x_real, labels = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    with frozen(D):  # D is not trained here: skip its weights' gradients
        fake_logits = D(G(z, labels), labels)
        loss = g_loss(fake_logits)
        loss_g = finite("the generator loss", loss)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(G)
    opt_g.step()
    return {"loss_g": loss_g, "d_fake_g": torch.sigmoid(fake_logits).mean().item(),
            "grad_norm_g": grad_norm}


def acgan_discriminator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                             opt_d: torch.optim.Optimizer,
                             d_loss: Callable = acgan_discriminator_loss) -> dict:
    """(1) D: tell real from fake, and classify both real and generated images."""
    x_real, labels = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    x_fake = G(z, labels).detach()
    (real_logits, real_class), (fake_logits, fake_class) = D(x_real), D(x_fake)
    loss = d_loss(real_logits, real_class, fake_logits, fake_class, labels, labels)
    loss_d = finite("the discriminator loss", loss)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    stats = torch.stack([torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(),
                         (real_class.argmax(1) == labels).float().mean()]).tolist()
    return {"loss_d": loss_d, "d_real": stats[0], "d_fake": stats[1], "acc_real": stats[2]}


def acgan_generator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                         opt_g: torch.optim.Optimizer,
                         g_loss: Callable = acgan_generator_loss) -> dict:
    """(2) G: fakes that D calls real and classifies as the requested labels."""
    x_real, labels = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    with frozen(D):  # D is not trained here: skip its weights' gradients
        fake_logits, fake_class = D(G(z, labels))
        loss = g_loss(fake_logits, fake_class, labels)
        loss_g = finite("the generator loss", loss)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(G)
    opt_g.step()
    return {"loss_g": loss_g, "d_fake_g": torch.sigmoid(fake_logits).mean().item(),
            "grad_norm_g": grad_norm,
            "acc_fake": (fake_class.argmax(1) == labels).float().mean().item()}


# What train_gan needs, per conditional model, beyond its defaults.
TRAINING: dict[str, dict] = {
    "cgan": dict(d_step=cgan_discriminator_step, g_step=cgan_generator_step,
                 d_loss=cgan_discriminator_loss, g_loss=generator_loss_nonsaturating),
    "acgan": dict(d_step=acgan_discriminator_step, g_step=acgan_generator_step,
                  d_loss=acgan_discriminator_loss, g_loss=acgan_generator_loss),
}
