"""The generator alone (lecture 10): an autoencoder and a variational autoencoder whose decoder is
the course DCGAN's generator, trained by reconstruction instead of against a discriminator.

The encoder is the DCGAN discriminator's conv stack with a code head (two for the VAE: the mean and
the log-variance of q(z | x)). The VAE's decoder outputs the mean of a Gaussian with a fixed standard
deviation ``sigma`` per pixel (Kingma and Welling, 2014), so its loss per image is
sum((x - x_hat)^2) / (2 sigma^2) + KL(q(z | x) || N(0, I)) in nats, up to a constant.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from gancourse.models.dcgan import DCGANDiscriminator
from gancourse.models.shapes import check_images

IMAGE_SHAPE = (1, 28, 28)


class Encoder(nn.Module):
    """E: image (B, 1, 28, 28) -> code (B, latent_dim), the DCGAN discriminator's stride-2 convs
    (BatchNorm, no dropout) with ``latent_dim`` outputs instead of one logit."""

    heads = 1  # outputs per code dimension

    def __init__(self, latent_dim: int = 100, width: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.body = DCGANDiscriminator(width, outputs=self.heads * latent_dim, dropout=0.0)

    def forward(self, x: Tensor) -> Tensor:
        check_images(x, IMAGE_SHAPE)
        return self.body(x)


class VariationalEncoder(Encoder):
    """q(z | x): image -> (mu, logvar), each (B, latent_dim), the same conv stack with two heads."""

    heads = 2

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = super().forward(x).chunk(2, dim=1)
        return mu, logvar


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I): a sample of N(mu, exp(logvar)) through
    which gradients reach mu and logvar (the reparameterisation trick)."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def vae_terms(x: Tensor, x_hat: Tensor, mu: Tensor, logvar: Tensor, sigma: float) -> tuple[Tensor, Tensor]:
    """The two halves of the VAE loss, each in nats per image (averaged over the batch):
    reconstruction sum((x - x_hat)^2) / (2 sigma^2) over an image's pixels, and the closed-form
    KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) over its code."""
    recon = (x - x_hat).pow(2).flatten(1).sum(1) / (2 * sigma ** 2)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1)
    return recon.mean(), kl.mean()


def vae_loss(x: Tensor, x_hat: Tensor, mu: Tensor, logvar: Tensor, sigma: float) -> Tensor:
    """The negative evidence lower bound per image (up to a constant): reconstruction + KL."""
    recon, kl = vae_terms(x, x_hat, mu, logvar, sigma)
    return recon + kl


def autoencoder_step(G: nn.Module, E: nn.Module, x: Tensor, optimizers: list, *, variational: bool,
                     sigma: float) -> dict:
    """One update of encoder and decoder together on the batch ``x``; returns what the history keeps:
    the loss, its reconstruction and KL halves (VAE) and the mean squared error per pixel."""
    from gancourse.train import finite

    if variational:
        mu, logvar = E(x)
        x_hat = G(reparameterize(mu, logvar))
        recon, kl = vae_terms(x, x_hat, mu, logvar, sigma)
        loss = recon + kl
    else:
        x_hat = G(E(x))
        loss = (x - x_hat).pow(2).flatten(1).sum(1).mean() / 2  # sigma = 1: half the squared error
    value = finite("the autoencoder loss", loss)
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()
    row = {"loss": value, "mse": (x - x_hat).detach().pow(2).mean().item()}
    if variational:
        row.update(recon=recon.item(), kl=kl.item())
    return row


def train_autoencoder(G: nn.Module, E: nn.Module, data, cfg, *, variational: bool, callbacks=(),
                      run_dir=None, resume: bool = True, progress: bool = True) -> list[dict]:
    """Train decoder ``G`` and encoder ``E`` by reconstruction (the VAE with its KL term) through the
    course's run loop: same budget, checkpoints, exact resume and Ctrl-C as a GAN. G's learning rate
    is ``cfg.lr_g``, E's ``cfg.lr_d``; one step is one batch."""
    from gancourse.run import make_optimizer, make_scheduler, run_loop
    from gancourse.train import as_batches, data_fingerprint

    from gancourse.distributed import broadcast_module

    device = next(G.parameters()).device
    batches = as_batches(data, cfg, device)
    broadcast_module(G, E)  # several processes (torchrun) start from rank 0's weights
    torch.set_flush_denormal(True)
    if cfg.channels_last:
        G.to(memory_format=torch.channels_last), E.to(memory_format=torch.channels_last)
    opt_g = make_optimizer(G, cfg.lr_g, cfg, "the decoder")
    opt_e = make_optimizer(E, cfg.lr_d, cfg, "the encoder")
    G.train(), E.train()

    def one_step(step: int) -> dict:
        x, _ = batches(step)
        return autoencoder_step(G, E, x, [opt_g, opt_e], variational=variational, sigma=cfg.sigma)

    return run_loop(one_step, cfg, modules={"G": G, "E": E}, optimizers={"opt_g": opt_g, "opt_e": opt_e},
                    schedulers={"sched_g": make_scheduler(opt_g, cfg), "sched_e": make_scheduler(opt_e, cfg)},
                    callbacks=callbacks, callback_args=(G, E), run_dir=run_dir, resume=resume,
                    progress=progress, fingerprint=data_fingerprint(data))


def autoencoder_steps(variational: bool):
    """The registry's entry: these families bring their whole training, not a D and a G step."""
    def steps(cfg) -> dict:
        return {"train": partial(train_autoencoder, variational=variational)}
    return steps
