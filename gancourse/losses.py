"""Adversarial losses, all on D's raw outputs, and the loss zoo as named D/G pairs.

For the probabilistic losses D(x) = sigmoid(logit). Working on logits keeps log D and log(1 - D)
finite when D saturates (log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l)) and
is safe under autocast. The score-based losses (WGAN, hinge, least squares) read the same raw
output as a score. Penalties (gradient penalty, DRAGAN, R1) need D itself: they take ``(D, x_real,
x_fake)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D's loss: -[mean log D(x) + mean log(1 - D(G(z)))], the negated value function V(D, G).

    Each term is a binary cross-entropy: real images labelled 1, generated images labelled 0.
    """
    loss_real = F.binary_cross_entropy_with_logits(real_logits, real_logits.new_ones(real_logits.shape))
    loss_fake = F.binary_cross_entropy_with_logits(fake_logits, fake_logits.new_zeros(fake_logits.shape))
    return loss_real + loss_fake


def generator_loss_minimax(fake_logits: Tensor) -> Tensor:
    """G's minimax (saturating) loss: mean log(1 - D(G(z))), which G minimises.

    Its gradient vanishes exactly when G is worst (D confidently rejects fakes): lecture 2.
    """
    return -F.softplus(fake_logits).mean()  # log(1 - sigmoid(l)) = -softplus(l)


def generator_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """G's non-saturating loss: -mean log D(G(z)), i.e. BCE of fakes against the label 1."""
    return F.binary_cross_entropy_with_logits(fake_logits, fake_logits.new_ones(fake_logits.shape))


# --- the loss zoo (Lucic et al. 2018, "Are GANs Created Equal?") ---------------------------------
def lsgan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Least squares (Mao et al. 2017): E[(D(x) - 1)^2] + E[D(G(z))^2]."""
    return ((real_scores - 1) ** 2).mean() + (fake_scores ** 2).mean()


def lsgan_generator_loss(fake_scores: Tensor) -> Tensor:
    """Least squares G: E[(D(G(z)) - 1)^2]."""
    return ((fake_scores - 1) ** 2).mean()


def hinge_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """WGAN critic: E[D(G(z))] - E[D(x)], minus the Wasserstein estimate it maximises."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """WGAN (and hinge) G: -E[D(G(z))]."""
    return -fake_scores.mean()


def _input_gradients(D: nn.Module, x: Tensor) -> Tensor:
    """dD(x)/dx per sample, flattened (B, -1), kept in the graph so a penalty can be trained."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(D: nn.Module, x_real: Tensor, x_fake: Tensor) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2] at random interpolates x_hat."""
    eps = torch.rand(len(x_real), *[1] * (x_real.dim() - 1), device=x_real.device, dtype=x_real.dtype)
    x_hat = eps * x_real.detach() + (1 - eps) * x_fake.detach()
    return ((_input_gradients(D, x_hat).norm(dim=1) - 1) ** 2).mean()


def dragan_penalty(D: nn.Module, x_real: Tensor, x_fake: Tensor) -> Tensor:
    """DRAGAN (Kodali et al. 2017): the same penalty at reals perturbed by 0.5 std(x) U[0, 1] noise."""
    noise = 0.5 * x_real.std() * torch.rand_like(x_real)
    alpha = torch.rand(len(x_real), *[1] * (x_real.dim() - 1), device=x_real.device, dtype=x_real.dtype)
    x_hat = x_real.detach() + alpha * noise
    return ((_input_gradients(D, x_hat).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(D: nn.Module, x_real: Tensor, x_fake: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): 1/2 E[||grad D(x)||^2] on real data only."""
    return 0.5 * (_input_gradients(D, x_real) ** 2).sum(1).mean()


PENALTIES: dict[str, Callable] = {"gp": gradient_penalty, "dragan": dragan_penalty, "r1": r1_penalty}


@dataclass(frozen=True)
class LossPair:
    """One entry of the zoo: D's and G's losses, and what the pair needs around them."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    probabilistic: bool  # True: D's output is a logit, sigmoid(it) = D(x); False: a score
    penalty: str = "none"  # the penalty the method is defined with
    clip: float | None = None  # critic weight clipping the method is defined with


LOSSES: dict[str, LossPair] = {
    "non-saturating": LossPair(discriminator_loss, generator_loss_nonsaturating, True),
    "minimax": LossPair(discriminator_loss, generator_loss_minimax, True),
    "lsgan": LossPair(lsgan_discriminator_loss, lsgan_generator_loss, False),
    "hinge": LossPair(hinge_discriminator_loss, wasserstein_generator_loss, False),
    "wgan": LossPair(wasserstein_critic_loss, wasserstein_generator_loss, False, clip=0.01),
    "wgan-gp": LossPair(wasserstein_critic_loss, wasserstein_generator_loss, False, penalty="gp"),
    "dragan": LossPair(discriminator_loss, generator_loss_nonsaturating, True, penalty="dragan"),
}
# Losses that need a discriminator of their own (BEGAN's autoencoder), or none at all (the autoencoder's
# reconstruction, the VAE's evidence bound): only their family trains them.
FAMILY_LOSSES = ("began", "reconstruction", "vae")
LOSS_NAMES = (*LOSSES, *FAMILY_LOSSES)
G_LOSSES = {name: pair.g for name, pair in LOSSES.items()}


def get_g_loss(name: str):
    """The generator loss of the pair registered as ``name`` (e.g. 'minimax', 'non-saturating')."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name].g


def cgan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor,
                            mismatched_logits: Tensor) -> Tensor:
    """cGAN D's loss with the lecture's three terms, all on logits of D(image, label):

    a real image with its own label is real (1); a generated image with the label it was asked
    for is fake (0); a real image with a mismatched label is fake (0). The two 'fake' terms are
    averaged (as in GAN-CLS) so real and fake carry equal weight.
    """
    loss_real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    loss_fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    loss_mismatched = F.binary_cross_entropy_with_logits(mismatched_logits,
                                                         torch.zeros_like(mismatched_logits))
    return loss_real + (loss_fake + loss_mismatched) / 2


def acgan_discriminator_loss(real_logits: Tensor, real_class_logits: Tensor, fake_logits: Tensor,
                             fake_class_logits: Tensor, labels: Tensor,
                             fake_labels: Tensor) -> Tensor:
    """AC-GAN D's loss: D maximises discrimination + classification, on both real and fake images.

    Cross-entropy takes class *logits*: applying softmax first would squash the gradients.
    """
    classification = (F.cross_entropy(real_class_logits, labels)
                      + F.cross_entropy(fake_class_logits, fake_labels))
    return discriminator_loss(real_logits, fake_logits) + classification


def acgan_generator_loss(fake_logits: Tensor, fake_class_logits: Tensor,
                         fake_labels: Tensor) -> Tensor:
    """AC-GAN G's loss: classification - discrimination, with the non-saturating form of the latter:
    make D call the fakes real and classify them as the requested labels."""
    return (generator_loss_nonsaturating(fake_logits)
            + F.cross_entropy(fake_class_logits, fake_labels))


def pix2pix_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """pix2pix D: every patch of (x, y) real (1), every patch of (x, G(x)) fake (0); halved, as in
    the paper, so D learns at half G's pace."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def pix2pix_generator_loss(fake_logits: Tensor | None, fake: Tensor, target: Tensor,
                           lambda_l1: float = 100.0) -> Tensor:
    """pix2pix G: -log D(x, G(x)) on every patch + lambda_l1 * |G(x) - y| (mean absolute error).

    ``fake_logits=None`` leaves the adversarial term out (the "L1 only" baseline); lambda_l1=0
    leaves out L1 (the "GAN only" one)."""
    adversarial = (F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
                   if fake_logits is not None else fake.new_zeros(()))
    return adversarial + lambda_l1 * (fake - target).abs().mean()
