"""Lecture 10's library: the autoencoder and VAE families, the sharpness measure, and the
discriminator alone (gradient ascent on D, the energy model with Langevin sampling)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from gancourse.checkpoint import CheckpointError
from gancourse.cli import main
from gancourse.config import make_config
from gancourse.energy import ReplayBuffer, ascent_step, climb, langevin, sample_energy, train_energy
from gancourse.metrics import laplacian_variance, sharpness
from gancourse.models import build_models
from gancourse.models.vae import VariationalEncoder, reparameterize, vae_loss, vae_terms
from gancourse.runs import load, sample
from gancourse.train import train_gan


# --- the VAE's loss ---------------------------------------------------------------------------------
def test_kl_is_zero_at_the_prior_and_half_the_squared_mean_off_it():
    x = torch.zeros(4, 1, 28, 28)
    mu, logvar = torch.zeros(4, 10), torch.zeros(4, 10)
    recon, kl = vae_terms(x, x, mu, logvar, sigma=0.3)
    assert recon.item() == 0 and kl.item() == pytest.approx(0.0, abs=1e-7)
    mu = torch.full((4, 10), 2.0)
    assert vae_terms(x, x, mu, logvar, 0.3)[1].item() == pytest.approx(10 * 0.5 * 4.0)
    # a narrower posterior than the prior: 1/2 (e^lv - 1 - lv) per dimension
    lv = torch.full((4, 10), -2.0)
    assert vae_terms(x, x, torch.zeros(4, 10), lv, 0.3)[1].item() == pytest.approx(10 * 0.5 * (math.exp(-2) - 1 + 2))


def test_reconstruction_is_the_gaussian_log_likelihood_summed_over_pixels_and_averaged_over_images():
    x = torch.zeros(3, 1, 28, 28)
    x_hat = torch.full_like(x, 0.1)
    x_hat[0] = 0.0  # one image reconstructed exactly
    recon, _ = vae_terms(x, x_hat, torch.zeros(3, 2), torch.zeros(3, 2), sigma=0.2)
    per_image = 784 * 0.01 / (2 * 0.04)
    assert recon.item() == pytest.approx(2 * per_image / 3, rel=1e-5)
    assert vae_loss(x, x_hat, torch.ones(3, 2), torch.zeros(3, 2), 0.2).item() == pytest.approx(recon.item() + 1.0, rel=1e-5)


def test_reparameterize_samples_the_posterior_and_lets_gradients_through():
    torch.manual_seed(0)
    mu = torch.full((20000, 1), 1.5, requires_grad=True)
    logvar = torch.full((20000, 1), math.log(0.25), requires_grad=True)
    z = reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(1.5, abs=0.02) and z.std().item() == pytest.approx(0.5, abs=0.02)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))
    eps = (z.detach() - 1.5) / 0.5
    assert torch.allclose(logvar.grad, 0.5 * 0.5 * eps, atol=1e-5)


def test_the_variational_encoder_gives_a_mean_and_a_log_variance_per_code_dimension():
    E = VariationalEncoder(latent_dim=7, width=16)
    mu, logvar = E(torch.randn(5, 1, 28, 28))
    assert mu.shape == logvar.shape == (5, 7)
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\)"):
        E(torch.randn(5, 28, 28))


# --- training through the engine --------------------------------------------------------------------
@pytest.mark.parametrize("model", ["vae", "autoencoder"])
def test_a_family_without_an_adversary_trains_through_train_gan_and_resumes_exactly(tmp_path, tiny_data, model):
    def run(steps, run_dir=None):
        cfg = make_config(model, "quick", num_steps=steps, checkpoint_every=4)
        torch.manual_seed(0)
        G, E = build_models(model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
        return G, E, train_gan(G, E, tiny_data, cfg, run_dir=run_dir, progress=False)

    G, _, history = run(12)
    assert len(history) == 12 and {"loss", "mse"} <= set(history[-1])
    assert ({"recon", "kl"} <= set(history[-1])) == (model == "vae")
    run(6, tmp_path)
    resumed, E, _ = run(12, tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), G.state_dict().values()))
    loaded, cfg = load(tmp_path)
    assert cfg.model == model and sample(loaded, 3).shape == (3, 1, 28, 28)


def test_reconstruction_training_lowers_the_error():
    gen = torch.Generator().manual_seed(0)
    prototypes = (torch.rand(4, 1, 28, 28, generator=gen) > 0.7).float() * 2 - 1  # four patterns to learn
    images = prototypes.repeat(24, 1, 1, 1)
    cfg = make_config("vae", "quick", num_steps=60, batch_size=32)
    torch.manual_seed(0)
    G, E = build_models("vae", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    mse = [row["mse"] for row in train_gan(G, E, images, cfg, progress=False)]
    assert np.mean(mse[-10:]) < 0.8 * np.mean(mse[:5])


def test_a_vae_refuses_gan_steps_and_other_losses(tiny_data):
    cfg = make_config("vae", "quick")
    G, E = build_models("vae", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    with pytest.raises(ValueError, match="trained by reconstruction"):
        train_gan(G, E, tiny_data, cfg, d_step=lambda *a: {}, progress=False)
    with pytest.raises(ValueError, match="trains with its own losses"):
        train_gan(G, E, tiny_data, make_config("vae", "quick", loss="hinge"), progress=False)
    with pytest.raises(ValueError, match="sigma=0.3 is an option of vae"):
        train_gan(*build_models("dcgan", width=16), tiny_data, make_config("dcgan", "quick", sigma=0.3), progress=False)
    with pytest.raises(ValueError, match="sigma must be a positive"):
        make_config("vae", "quick", sigma=0.0)


def test_cli_trains_a_vae_with_its_sigma_then_samples_and_refuses_sigma_elsewhere(tmp_path, capsys):
    run = tmp_path / "vae"
    assert main(["train", "vae", "--dataset", "mnist", "--profile", "quick", "--steps", "4", "--sigma", "0.3",
                 "--out", str(run)]) == 0
    assert load(run)[1].sigma == 0.3 and (run / "losses.png").is_file()
    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (5, 28, 28) and f["images"].dtype == np.uint8
    capsys.readouterr()
    assert main(["train", "dcgan", "--dataset", "mnist", "--profile", "quick", "--sigma", "0.3",
                 "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gancourse: error: sigma=0.3 is an option of vae") and err.count("\n") == 1


# --- sharpness -----------------------------------------------------------------------------------------
def test_laplacian_variance_of_flat_striped_and_blurred_images():
    flat = torch.full((2, 1, 6, 6), 0.3)
    assert torch.equal(laplacian_variance(flat), torch.zeros(2))
    stripes = torch.tensor([1.0, -1.0] * 3).repeat(6, 1).view(1, 1, 6, 6)  # columns +1, -1, +1, ...
    lap = laplacian_variance(stripes)  # inside: +-4 alternating over 4 x 4 positions
    assert lap.item() == pytest.approx(torch.tensor([-4.0, 4.0] * 8).var().item())
    blurred = torch.nn.functional.avg_pool2d(torch.randn(4, 1, 30, 30), 3, stride=1)
    assert (laplacian_variance(blurred) < laplacian_variance(torch.randn(4, 1, 28, 28))).all()
    real = torch.rand(10, 1, 28, 28) * 2 - 1
    assert sharpness(real, real) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        laplacian_variance(torch.zeros(3, 28, 28))


# --- the discriminator alone -------------------------------------------------------------------------
class Linear(nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_an_ascent_step_follows_d_s_gradient_per_image_and_touches_nothing_else():
    w = torch.randn(784) * 0.01
    D = Linear(w.clone())
    x = torch.rand(3, 1, 28, 28) * 0.5 - 0.25
    before = x.clone()
    out = ascent_step(D, x, 2.0)
    assert torch.allclose(out, (x + 2.0 * w.view(1, 28, 28)).clamp(-1, 1))
    assert torch.equal(x, before) and D.w.grad is None and not out.requires_grad
    assert ascent_step(D, x, 1e4).abs().max() == 1  # kept in the image range
    _, scores = climb(D, x, 5, 1.0)
    assert len(scores) == 6 and all(b > a for a, b in zip(scores, scores[1:]))


def test_langevin_adds_noise_and_stays_in_range():
    D = Linear(torch.zeros(784))  # no gradient: only the noise moves x
    torch.manual_seed(0)
    x = torch.zeros(200, 1, 28, 28)
    out = langevin(D, x, steps=4, step_size=1.0, noise=0.05)
    assert out.std().item() == pytest.approx(0.05 * 2, rel=0.05)  # 4 steps of N(0, 0.05^2)
    assert out.abs().max() <= 1


def test_the_replay_buffer_draws_stored_negatives_and_restarts_a_share_from_noise():
    torch.manual_seed(0)
    buffer = ReplayBuffer(size=100, shape=(1, 2, 2))
    index = torch.arange(100)
    buffer.store(index, torch.full((100, 1, 2, 2), 7.0))
    _, x = buffer.draw(4000, reinit=0.25)
    fresh = (x != 7.0).flatten(1).all(1)
    assert fresh.float().mean().item() == pytest.approx(0.25, abs=0.03)
    assert x[fresh].abs().max() <= 1 and (x[~fresh] == 7.0).all()
    assert "images" in buffer.state_dict()


def test_the_energy_model_trains_resumes_exactly_and_samples(tmp_path, tiny_data):
    D, buffer, history = train_energy(tiny_data, "quick", progress=False, num_steps=6)
    assert len(history) == 6 and {"loss", "score_real", "score_fake"} <= set(history[-1])
    train_energy(tiny_data, "quick", progress=False, run_dir=tmp_path, num_steps=3)
    again, buffer2, _ = train_energy(tiny_data, "quick", progress=False, run_dir=tmp_path, num_steps=6)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), D.state_dict().values()))
    assert torch.equal(buffer.images, buffer2.images)
    x = sample_energy(D, 4, steps=3)
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    with pytest.raises(CheckpointError, match="without a generator"):
        load(tmp_path)


def test_training_curves_of_models_without_a_generator_say_so(tiny_data):
    from gancourse.plot import plot_history

    _, _, history = train_energy(tiny_data, "quick", progress=False, num_steps=3)
    fig = plot_history(history, title="Energy model")
    labels = [line.get_label() for line in fig.axes[1].get_lines()]
    assert fig.axes[0].get_xlabel() == "training step" and any("negatives" in label for label in labels)
    cfg = make_config("vae", "quick", num_steps=3)
    G, E = build_models("vae", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    fig = plot_history(train_gan(G, E, tiny_data, cfg, progress=False))
    assert fig.axes[1].get_title().endswith("reconstruction error")
