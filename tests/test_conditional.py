"""Conditional GANs: shapes, label checks, the losses' closed forms, smoke runs, CLI labels."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse.cli import main
from gancourse.conditional import TRAINING, mismatched_labels
from gancourse.config import TrainConfig
from gancourse.device import seed_everything
from gancourse.losses import acgan_discriminator_loss, acgan_generator_loss, cgan_discriminator_loss
from gancourse.models import build_models
from gancourse.runs import load, sample
from gancourse.train import train_gan


@pytest.mark.parametrize("name", ["cgan", "acgan"])
def test_shapes_and_label_validation(name):
    G, D = build_models(name, width=16)
    z, y = torch.randn(6, 100), torch.tensor([0, 1, 2, 3, 8, 9])
    x = G(z, y)
    assert x.shape == (6, 1, 28, 28) and G.num_classes == 10
    out = D(x, y) if name == "cgan" else D(x)
    assert (out.shape == (6,)) if name == "cgan" else (out[0].shape == (6,) and out[1].shape == (6, 10))
    with pytest.raises(ValueError, match=r"labels must be in 0..9, got 0..10"):
        G(z, torch.tensor([0, 1, 2, 3, 8, 10]))
    with pytest.raises(ValueError, match=r"expected 6 integer labels of shape \(6,\)"):
        G(z, torch.zeros(6))


@torch.no_grad()
def _label_and_noise_effects(G) -> tuple[float, float]:
    """Mean squared change of G's images when the labels change, and when the noise does."""
    z, y = torch.randn(200, 100), torch.arange(200) % 10
    x = G(z, y)
    return (G(z, (y + 1) % 10) - x).pow(2).mean().item(), (G(torch.randn(200, 100), y) - x).pow(2).mean().item()


def test_label_embedding_starts_small_so_the_noise_is_heard():
    torch.manual_seed(0)
    G, _ = build_models("cgan", width=16)
    norms = G.embed.weight.norm(dim=1)
    assert 0.6 < norms.mean().item() < 1.4  # about a one-hot label's length; z's is about 10
    label_effect, noise_effect = _label_and_noise_effects(G)
    assert noise_effect > 10 * label_effect
    torch.manual_seed(0)  # PyTorch's default N(0, 1) embedding: the label is loud from the start
    loud, _ = build_models("acgan", width=16, embed_std=1.0)
    assert 5 < loud.embed.weight.norm(dim=1).mean().item() < 9
    label_effect, noise_effect = _label_and_noise_effects(loud)
    assert noise_effect < 10 * label_effect


def test_mismatched_labels_always_differ():
    labels = torch.arange(10).repeat(100)
    wrong = mismatched_labels(labels, 10)
    assert (wrong != labels).all() and wrong.min() >= 0 and wrong.max() <= 9
    assert len(wrong[labels == 3].unique()) == 9


def test_conditional_losses_closed_forms():
    r, f, m = torch.tensor([1.0, -2.0]), torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.0])
    log_sig, log_one_minus = F.logsigmoid, lambda l: F.logsigmoid(-l)
    expected = -log_sig(r).mean() - (log_one_minus(f).mean() + log_one_minus(m).mean()) / 2
    assert cgan_discriminator_loss(r, f, m).item() == pytest.approx(expected.item(), rel=1e-6)
    rc, fc, y = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.5, 0.5], [3.0, -1.0]]), torch.tensor([0, 1])
    nll = lambda logits, labels: -torch.log_softmax(logits, 1)[torch.arange(2), labels].mean()
    d_expected = -log_sig(r).mean() - log_one_minus(f).mean() + nll(rc, y) + nll(fc, y)
    assert acgan_discriminator_loss(r, rc, f, fc, y, y).item() == pytest.approx(d_expected.item(), rel=1e-6)
    g_expected = -log_sig(f).mean() + nll(fc, y)
    assert acgan_generator_loss(f, fc, y).item() == pytest.approx(g_expected.item(), rel=1e-6)


@pytest.mark.parametrize("name", ["cgan", "acgan"])
def test_conditional_training_runs_and_samples_requested_labels(tmp_path, tiny_data, name):
    seed_everything(0)
    G, D = build_models(name, width=16)
    cfg = TrainConfig(model=name, num_steps=4, batch_size=16, checkpoint_every=2, model_kwargs={"width": 16})
    history = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False, **TRAINING[name])
    assert len(history) == 4 and all(0 < row["d_real"] < 1 for row in history)
    extra = {"cgan": "d_mismatched", "acgan": "acc_real"}[name]
    assert extra in history[0]
    G2, _ = load(tmp_path)
    images = sample(G2, 5, labels=torch.tensor([7] * 5))
    assert images.shape == (5, 1, 28, 28)


def test_cli_samples_requested_labels(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cgan", "--dataset", "mnist", "--profile", "quick", "--steps", "3", "--out", str(run)]) == 0
    assert (run / "samples.png").is_file() and (run / "progress.gif").is_file()
    assert main(["sample", str(run), "--n", "5", "--labels", "3", "7", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["labels"].tolist() == [3, 7, 3, 7, 3] and f["images"].shape == (5, 28, 28)
    assert main(["sample", str(run), "--n", "2", "--labels", "12", "--out", str(tmp_path / "t.npz")]) == 2
    assert "labels must be in 0..9, got [12]" in capsys.readouterr().err
