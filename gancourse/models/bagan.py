"""BAGAN (Mariani et al., 2018), balancing GAN: a conditional generator for class-imbalanced data.

Three phases in one run (:func:`train_bagan`), so a run checkpoints and resumes like any other:

1. ``cfg.ae_steps`` steps of an autoencoder whose decoder is G's body and whose encoder is D's body,
   trained by reconstruction on all the images, minority ones included;
2. the class-conditional latent: the encoder's codes of each class, fitted by a Gaussian (its mean
   and covariance, :func:`class_gaussians`), so G draws a class-c image by decoding a code from
   N(mean_c, cov_c);
3. adversarial training of G and D from the autoencoder's weights, D a (C+1)-way classifier whose last
   class is "fake", G asking it to call its class-c fakes class c. Fakes are drawn for every class
   alike, so the minority class gets as many generated examples as the others.

G(z, labels) takes noise z ~ N(0, I) and labels like the course's cGAN, so ``sample(G, labels=...)``
and the CLI's ``sample --labels`` work unchanged: the class's Gaussian is inside G (buffers saved with
its weights). The course's changes to the paper: the DCGAN bodies of lecture 3 (28x28, 1 channel),
Adam at the DCGAN rate for every phase, and a small ridge on each covariance (a class with fewer
images than code dimensions has a singular one).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.models.conditional import check_labels
from gancourse.models.dcgan import DCGANGenerator
from gancourse.models.shapes import check_noise
from gancourse.models.vae import Encoder

RIDGE = 1e-3  # added to each covariance's diagonal, relative to its mean variance


def class_gaussians(codes: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Per class c, the mean (C, d) and the covariance (C, d, d) of the codes labelled c, the
    covariance with N - 1 in the denominator (as ``torch.cov`` and ``numpy.cov``). A class needs 2 codes."""
    counts = torch.bincount(labels, minlength=num_classes)
    if (counts < 2).any():
        missing = [c for c in range(num_classes) if counts[c] < 2]
        raise ValueError(f"class {missing[0]} has {int(counts[missing[0]])} images; BAGAN fits a Gaussian "
                         f"to each class's codes and needs at least 2")
    means = torch.stack([codes[labels == c].mean(0) for c in range(num_classes)])
    covariances = torch.stack([torch.cov(codes[labels == c].T) for c in range(num_classes)])
    return means, covariances


class BAGANGenerator(nn.Module):
    """G(z, y) = decoder(mean_y + L_y z), L_y the Cholesky factor of class y's code covariance.

    Until the Gaussians are fitted (``set_class_gaussians``), every class is N(0, I): G is the plain
    decoder of the autoencoder phase.
    """

    def __init__(self, latent_dim: int = 100, num_classes: int = 10, width: int = 128) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.decoder = DCGANGenerator(latent_dim, width)
        self.register_buffer("means", torch.zeros(num_classes, latent_dim))
        self.register_buffer("scales", torch.eye(latent_dim).repeat(num_classes, 1, 1))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def set_class_gaussians(self, means: Tensor, covariances: Tensor) -> None:
        """Store each class's mean and the Cholesky factor of its covariance (plus a small ridge)."""
        d = self.latent_dim
        ridge = RIDGE * covariances.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-8)  # (C,)
        eye = torch.eye(d, dtype=covariances.dtype, device=covariances.device)
        scales = torch.linalg.cholesky(covariances + ridge[:, None, None] * eye)
        self.means.copy_(means), self.scales.copy_(scales), self.fitted.fill_(True)

    def codes(self, z: Tensor, labels: Tensor) -> Tensor:
        """The decoder's input for noise ``z`` (B, d) and ``labels`` (B,): mean_y + L_y z."""
        check_noise(z, self.latent_dim)
        check_labels(labels, len(z), self.num_classes)
        return self.means[labels] + (self.scales[labels] @ z.unsqueeze(2)).squeeze(2)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.decoder(self.codes(z, labels))  # (B, 1, 28, 28)


class BAGANDiscriminator(nn.Module):
    """D(x): the encoder (the DCGAN discriminator's convs -> a code) -> a linear layer -> C + 1 logits,
    the last one "fake"."""

    def __init__(self, latent_dim: int = 100, num_classes: int = 10, width: int = 64) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.encoder = Encoder(latent_dim, width)
        self.head = nn.Linear(latent_dim, num_classes + 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.encoder(x))  # (B, C + 1)


def bagan_discriminator_loss(real_logits: Tensor, labels: Tensor, fake_logits: Tensor) -> Tensor:
    """Cross-entropy of D's (C+1)-way prediction: a real image is its own class, a fake class C."""
    fake_class = torch.full((len(fake_logits),), real_logits.shape[1] - 1, device=fake_logits.device)
    return F.cross_entropy(real_logits, labels) + F.cross_entropy(fake_logits, fake_class)


def bagan_generator_loss(fake_logits: Tensor, labels: Tensor) -> Tensor:
    """G wants D to call its class-c fake class c (not "fake", not another class)."""
    return F.cross_entropy(fake_logits, labels)


def _real_probability(logits: Tensor) -> Tensor:
    """D's probability that each image is real: 1 - softmax(logits)[:, fake]."""
    return 1 - F.softmax(logits, dim=1)[:, -1]


def bagan_discriminator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                             opt_d: torch.optim.Optimizer, d_loss=bagan_discriminator_loss) -> dict:
    """(1) D: real images to their class, fakes of every class (drawn uniformly) to "fake";
    ``d_loss(real_logits, labels, fake_logits)`` scores it (lecture 13's exercise plugs in here)."""
    from gancourse.train import finite

    x_real, labels = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    fake_labels = torch.randint(0, G.num_classes, (len(x_real),), device=x_real.device)
    x_fake = G(z, fake_labels).detach()  # D's update must not flow back into G
    real_logits, fake_logits = D(x_real), D(x_fake)
    loss = d_loss(real_logits, labels, fake_logits)
    loss_d = finite("the discriminator loss", loss)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    stats = torch.stack([_real_probability(real_logits).mean(), _real_probability(fake_logits).mean(),
                         (real_logits[:, :-1].argmax(1) == labels).float().mean()]).tolist()
    return {"loss_d": loss_d, "d_real": stats[0], "d_fake": stats[1], "acc_real": stats[2]}


def bagan_generator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                         opt_g: torch.optim.Optimizer) -> dict:
    """(2) G: fakes of uniformly drawn classes that D classifies as those classes."""
    from gancourse.train import finite, frozen, gradient_norm

    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    labels = torch.randint(0, G.num_classes, (len(x_real),), device=x_real.device)
    with frozen(D):  # D is not trained here: skip its weights' gradients
        fake_logits = D(G(z, labels))
        loss = bagan_generator_loss(fake_logits, labels)
        loss_g = finite("the generator loss", loss)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(G)
    opt_g.step()
    return {"loss_g": loss_g, "d_fake_g": _real_probability(fake_logits).mean().item(),
            "grad_norm_g": grad_norm, "acc_fake": (fake_logits.argmax(1) == labels).float().mean().item()}


CODES_PER_CLASS = 2000  # the Gaussians are fitted to at most this many images of each class


@torch.no_grad()
def fit_class_gaussians(G: BAGANGenerator, D: BAGANDiscriminator, images: Tensor, labels: Tensor,
                        batch_size: int = 1000, fit=class_gaussians) -> None:
    """Phase 2: encode (at most CODES_PER_CLASS) images of each class with D's encoder in eval mode
    and store each class's code Gaussian in G; ``fit(codes, labels, num_classes)`` computes the
    means and covariances (lecture 13's exercise plugs in here)."""
    keep = torch.cat([torch.nonzero(labels == c).flatten()[:CODES_PER_CLASS] for c in range(G.num_classes)])
    was_training = D.training
    D.eval()
    device = next(D.parameters()).device
    try:
        codes = torch.cat([D.encoder(_as_float(images[keep[i:i + batch_size]]).to(device)).float()
                           for i in range(0, len(keep), batch_size)])
    finally:
        D.train(was_training)
    means, covariances = fit(codes.double(), labels[keep].to(device), G.num_classes)
    G.set_class_gaussians(means.float(), covariances.float())


def _as_float(images: Tensor) -> Tensor:
    from gancourse.data import to_unit_range
    return images if images.is_floating_point() else to_unit_range(images)


def train_bagan(G: BAGANGenerator, D: BAGANDiscriminator, data, cfg, *, callbacks=(), run_dir=None,
                resume: bool = True, progress: bool = True) -> list[dict]:
    """The three phases of BAGAN through the course's run loop (budget, checkpoints, exact resume,
    Ctrl-C): steps ``0 .. cfg.ae_steps - 1`` train the autoencoder (history: loss, mse), the next
    step first fits the class Gaussians, and every later step is one D and one G update (history:
    loss_d, loss_g, d_real, d_fake, ...). ``data`` must be an :class:`~gancourse.data.ImageData`: the
    Gaussians need its labels."""
    from gancourse.data import ImageData
    from gancourse.distributed import broadcast_module
    from gancourse.models.vae import autoencoder_step
    from gancourse.run import make_optimizer, make_scheduler, run_loop
    from gancourse.train import as_batches, data_fingerprint

    if not isinstance(data, ImageData):
        raise TypeError(f"BAGAN fits a Gaussian per class: train it on an ImageData (images and labels), "
                        f"got {type(data).__name__}")
    if cfg.minutes is None and cfg.num_steps <= cfg.ae_steps:
        raise ValueError(f"num_steps={cfg.num_steps} ends inside the autoencoder phase (ae_steps={cfg.ae_steps}): "
                         f"ask for more steps than ae_steps")
    device = next(G.parameters()).device
    batches = as_batches(data, cfg, device)
    broadcast_module(G, D)
    torch.set_flush_denormal(True)
    if cfg.channels_last:
        G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    autoencoder = nn.ModuleList([G.decoder, D.encoder])
    opt_ae = make_optimizer(autoencoder, cfg.lr_g, cfg, "the autoencoder")
    opt_g = make_optimizer(G, cfg.lr_g, cfg, "the generator")
    opt_d = make_optimizer(D, cfg.lr_d, cfg, "the discriminator")
    G.train(), D.train()

    def one_step(step: int) -> dict:
        if step < cfg.ae_steps:  # phase 1: reconstruction, sigma = 1 (half the squared error)
            x, _ = batches(step)
            return autoencoder_step(G.decoder, D.encoder, x, [opt_ae], variational=False, sigma=1.0)
        if not bool(G.fitted):  # phase 2, once (a resumed run finds the Gaussians in G's buffers)
            fit_class_gaussians(G, D, data.images, data.labels)
        batch = batches(step)  # phase 3
        row = bagan_discriminator_step(G, D, batch, opt_d)
        return {**row, **bagan_generator_step(G, D, batch, opt_g)}

    return run_loop(one_step, cfg, modules={"G": G, "D": D},
                    optimizers={"opt_g": opt_g, "opt_d": opt_d, "opt_ae": opt_ae},
                    schedulers={"sched_g": make_scheduler(opt_g, cfg), "sched_d": make_scheduler(opt_d, cfg)},
                    callbacks=callbacks, callback_args=(G, D), run_dir=run_dir, resume=resume,
                    progress=progress, fingerprint=data_fingerprint(data))


def bagan_steps(cfg) -> dict:
    """The registry's entry: BAGAN brings its whole three-phase training."""
    return {"train": train_bagan}
