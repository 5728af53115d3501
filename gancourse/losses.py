"""Adversarial losses, all on logits.

D(x) = sigmoid(logit). Working on logits keeps log D and log(1 - D) finite when D saturates
(log sigmoid(l) = -softplus(-l), log(1 - sigmoid(l)) = -softplus(l)) and is safe under autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


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


G_LOSSES = {
    "minimax": generator_loss_minimax,
    "non-saturating": generator_loss_nonsaturating,
}


def get_g_loss(name: str):
    """The generator loss registered as ``name`` ('minimax' or 'non-saturating')."""
    if name not in G_LOSSES:
        raise ValueError(f"unknown generator loss {name!r}; choose one of {', '.join(G_LOSSES)}")
    return G_LOSSES[name]


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
