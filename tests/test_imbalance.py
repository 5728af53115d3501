"""Class imbalance (lecture 13): the cut, the plain remedies, the judge, BAGAN and the command line."""
import numpy as np
import pytest
import torch
from torch import nn

from gancourse import load, sample
from gancourse.cli import main
from gancourse.config import make_config
from gancourse.data import ImageData
from gancourse.imbalance import (class_weights, compare_remedies, format_table, make_imbalanced, remedy_data,
                                 resample, score, summarize, train_classifier)
from gancourse.models import build_models
from gancourse.models.bagan import BAGANGenerator, class_gaussians, fit_class_gaussians
from gancourse.plot import plot_history
from gancourse.train import train_gan


@pytest.fixture
def balanced() -> ImageData:
    """200 random images, 20 of each of 10 classes."""
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(10).repeat(20)
    return ImageData(torch.rand(200, 1, 28, 28, generator=gen) * 2 - 1, labels, "tiny", "train", "fixture",
                     tuple("0123456789"))


# --- the cut ---------------------------------------------------------------------------------------
def test_the_cut_keeps_a_fraction_of_one_class_and_the_rest_in_order(balanced):
    cut = make_imbalanced(balanced, minority=3, keep=0.25)
    counts = torch.bincount(cut.labels, minlength=10)
    assert counts[3] == 5 and all(counts[c] == 20 for c in range(10) if c != 3)
    others = balanced.labels != 3
    assert torch.equal(cut.images[cut.labels != 3], balanced.images[others])  # untouched, same order
    kept = cut.images[cut.labels == 3]
    assert all(any(torch.equal(k, x) for x in balanced.images[balanced.labels == 3]) for k in kept)
    assert torch.equal(make_imbalanced(balanced, 3, 0.25).images, cut.images)  # the same images every time
    assert cut.imbalance == (3, 0.25) and "cut to 5 of 20" in cut.source
    assert make_imbalanced(cut, 3, 0.25) is cut  # never cut twice
    with pytest.raises(ValueError, match="already cut"):
        make_imbalanced(cut, 3, 0.5)
    assert torch.bincount(make_imbalanced(balanced, 3, 0.01).labels)[3] == 2  # at least 2 images stay
    with pytest.raises(ValueError, match="minority must be a class"):
        make_imbalanced(balanced, 10, 0.5)
    with pytest.raises(ValueError, match="keep must be a fraction"):
        make_imbalanced(balanced, 1, 0.0)


def test_train_gan_cuts_the_class_its_config_names(balanced):
    cfg = make_config("cgan", "quick", num_steps=2, minority=3, keep=0.25, model_kwargs=dict(width=8))
    G, D = build_models("cgan", latent_dim=cfg.latent_dim, width=8)
    history = train_gan(G, D, balanced, cfg, progress=False)
    assert len(history) == 2
    with pytest.raises(ValueError, match="minority=3 is an option of cgan, acgan, bagan; dcgan"):
        train_gan(*build_models("dcgan", width=8), balanced, make_config("dcgan", "quick", minority=3), progress=False)
    with pytest.raises(ValueError, match="needs the class it cuts"):
        make_config("cgan", "quick", keep=0.5)


# --- the plain remedies ------------------------------------------------------------------------------------
def test_class_weights_make_every_class_weigh_the_same(balanced):
    cut = make_imbalanced(balanced, 3, 0.25)
    weights = class_weights(cut.labels)
    counts = torch.bincount(cut.labels).float()
    assert torch.allclose(weights * counts, torch.full((10,), len(cut.labels) / 10))
    with pytest.raises(ValueError, match="class 9 has no images"):
        class_weights(cut.labels[cut.labels != 9])


@pytest.mark.parametrize("method, minority_count, total", [("over-sampling", 20, 200), ("under-sampling", 5, 50),
                                                            ("SMOTE", 20, 200)])
def test_resampling_balances_the_classes(balanced, method, minority_count, total):
    cut = make_imbalanced(balanced, 3, 0.25)
    images, labels = resample(cut.images, cut.labels, method)
    assert images.shape == (total, 1, 28, 28) and images.dtype == torch.float32
    assert torch.bincount(labels).tolist() == [minority_count] * 10
    originals = cut.images[cut.labels == 3].flatten(1)
    new = images[labels == 3].flatten(1)
    if method == "SMOTE":  # every new minority image lies between two of the kept ones
        assert (new.min(0).values >= originals.min(0).values - 1e-6).all()
        assert sum(any(torch.equal(n, o) for o in originals) for n in new) == 5
    else:
        assert all(any(torch.equal(n, o) for o in originals) for n in new)
    with pytest.raises(ValueError, match="unknown resampling"):
        resample(cut.images, cut.labels, "ADASYN")


def test_a_generator_remedy_adds_minority_images_up_to_the_others_mean(balanced):
    cut = make_imbalanced(balanced, 3, 0.25)
    G, _ = build_models("cgan", latent_dim=8, width=8)
    images, labels, weights = remedy_data("cGAN", cut, 3, generator=G.eval())
    assert weights is None and torch.bincount(labels)[3] == 20 and len(images) == len(cut) + 15
    assert images[len(cut):].abs().max() <= 1
    with pytest.raises(ValueError, match="unknown remedy 'magic'"):
        remedy_data("magic", cut, 3)
    images, labels, _ = remedy_data("cGAN + over-sampling", cut, 3, generator=G, real_share=0.6)
    added = images[len(cut):]
    real = cut.images[cut.labels == 3]
    repeated = [any(torch.equal(a, r) for r in real) for a in added]
    assert len(added) == 15 and sum(repeated) == 9 and all(repeated[:9])  # 60% real, drawn again
    with pytest.raises(ValueError, match="real_share must be a fraction"):
        remedy_data("x", cut, 3, generator=G, real_share=1.5)


def test_the_summary_leaves_out_undefined_precisions_and_says_so():
    rows = [{"remedy": "none", "seed": s, "minority_recall": 0.0, "minority_precision": float("nan"),
             "balanced_accuracy": 0.8, "seconds": 1.0} for s in range(2)]
    rows += [{"remedy": "w", "seed": s, "minority_recall": 0.1, "minority_precision": p,
              "balanced_accuracy": 0.8, "seconds": 1.0} for s, p in ((0, float("nan")), (1, 0.4), (2, 0.6))]
    table = summarize(rows)
    assert np.isnan(table[0]["minority_precision"]) and table[1]["minority_precision"] == pytest.approx(0.5)
    assert "n/a" in format_table(table).splitlines()[1]


def test_the_classifier_is_seeded_and_the_score_reads_per_class_recall(balanced):
    a = train_classifier(balanced.images, balanced.labels, 3, seed=5, batch_size=16)
    b = train_classifier(balanced.images, balanced.labels, 3, seed=5, batch_size=16)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))

    class Oracle(nn.Module):  # right on every class but 3, which it calls 4
        def __init__(self):
            super().__init__()
            self.unused = nn.Parameter(torch.zeros(1))  # where predict() reads the device

        def forward(self, x):
            y = x.flatten(1)[:, 0].round().long()
            return nn.functional.one_hot(torch.where(y == 3, 4, y), 10).float() * 10

    test = ImageData(torch.arange(10).repeat(5).float().view(-1, 1, 1, 1).expand(-1, 1, 28, 28).clone(),
                     torch.arange(10).repeat(5), "t", "test", "fixture", tuple("0123456789"))
    result = score(Oracle(), test, minority=3)
    assert result["minority_recall"] == 0 and np.isnan(result["minority_precision"])
    assert result["balanced_accuracy"] == pytest.approx(0.9) and result["recalls"][4] == 1


def test_compare_remedies_gives_a_row_per_remedy_and_seed_and_summarises_them(balanced):
    cut = make_imbalanced(balanced, 3, 0.25)
    rows = compare_remedies(cut, balanced, 3, remedies=("none", "over-sampling"), seeds=(0, 1), steps=2,
                            progress=False)
    assert [(r["remedy"], r["seed"]) for r in rows] == [("none", 0), ("none", 1), ("over-sampling", 0),
                                                        ("over-sampling", 1)]
    table = summarize(rows)
    assert [e["remedy"] for e in table] == ["none", "over-sampling"] and table[0]["seeds"] == 2
    text = format_table(table)
    assert text.count("\n") == 2 and "minority recall" in text and "its precision" in text
    values = torch.tensor([r["minority_recall"] for r in rows[:2]], dtype=torch.float64)
    assert table[0]["minority_recall"] == pytest.approx(values.mean().item())
    assert table[0]["minority_recall_std"] == pytest.approx(values.std().item())


# --- BAGAN ----------------------------------------------------------------------------------------------
def test_bagan_s_generator_draws_each_class_from_its_gaussian():
    G = BAGANGenerator(latent_dim=3, num_classes=2, width=8)
    means = torch.tensor([[0.0, 0.0, 0.0], [5.0, -5.0, 1.0]])
    cov = torch.stack([torch.eye(3), torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.5]])])
    G.set_class_gaussians(means, cov)
    codes = G.codes(torch.randn(20000, 3, generator=torch.Generator().manual_seed(0)), torch.ones(20000, dtype=torch.long))
    assert torch.allclose(codes.mean(0), means[1], atol=0.05)
    assert torch.allclose(torch.cov(codes.T), cov[1], atol=0.06)
    assert bool(G.fitted) and "scales" in G.state_dict()


def test_class_gaussians_need_two_codes_a_class():
    with pytest.raises(ValueError, match="class 1 has 1 images"):
        class_gaussians(torch.randn(5, 2), torch.tensor([0, 0, 0, 1, 2]), 3)


def test_fitting_leaves_d_s_mode_alone(balanced):
    G, D = build_models("bagan", latent_dim=16, width=8, d_width=8)
    D.train()
    fit_class_gaussians(G, D, balanced.images, balanced.labels)
    assert D.training and bool(G.fitted) and not torch.equal(G.means, torch.zeros_like(G.means))


def test_bagan_trains_in_three_phases_and_resumes_exactly(tmp_path, balanced):
    def run(steps, run_dir=None):
        cfg = make_config("bagan", "quick", num_steps=steps, ae_steps=4, checkpoint_every=3, minority=3, keep=0.25)
        torch.manual_seed(0)
        G, D = build_models("bagan", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
        return G, train_gan(G, D, balanced, cfg, run_dir=run_dir, progress=False)

    G, history = run(9)
    assert all("mse" in row and "loss_d" not in row for row in history[:4])
    assert all({"loss_d", "loss_g", "acc_real"} <= set(row) for row in history[4:])
    plot_history(history)  # two phases, one figure
    run(5, tmp_path)  # stops right after the autoencoder phase
    resumed, _ = run(9, tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), G.state_dict().values()))
    loaded, cfg = load(tmp_path)
    assert cfg.minority == 3 and bool(loaded.fitted)
    assert sample(loaded, 4, labels=torch.tensor([3, 3, 0, 1])).shape == (4, 1, 28, 28)


def test_bagan_refuses_what_it_cannot_use(balanced):
    cfg = make_config("bagan", "quick", num_steps=4, ae_steps=4)
    G, D = build_models("bagan", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    with pytest.raises(ValueError, match="ends inside the autoencoder phase"):
        train_gan(G, D, balanced, cfg, progress=False)
    with pytest.raises(TypeError, match="train it on an ImageData"):
        train_gan(G, D, balanced.images, make_config("bagan", "quick"), progress=False)
    with pytest.raises(ValueError, match="trains with its own losses"):
        train_gan(G, D, balanced, make_config("bagan", "quick", loss="hinge"), progress=False)


# --- the command line ------------------------------------------------------------------------------------
def test_cli_trains_bagan_on_a_cut_class_and_samples_it(tmp_path, capsys):
    run = tmp_path / "bagan"
    assert main(["train", "bagan", "--dataset", "mnist", "--minority", "3", "--keep", "0.05", "--profile", "quick",
                 "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "class 3 (3) cut to" in out and (run / "losses.png").is_file()
    cfg = load(run)[1]
    assert (cfg.minority, cfg.keep) == (3, 0.05)
    assert main(["sample", str(run), "--n", "6", "--labels", "3", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (6, 28, 28) and (f["labels"] == 3).all()


@pytest.mark.parametrize("argv, message", [
    (["train", "dcgan", "--minority", "3"], "minority=3 is an option of cgan, acgan, bagan"),
    (["train", "cgan", "--keep", "0.1"], "--keep 0.1 cuts one class: name it with --minority C"),
    (["train", "cgan", "--minority", "3", "--keep", "0"], "expected a fraction in (0, 1]"),
    (["train", "cgan", "--minority", "3", "--keep", "nan"], "expected a fraction in (0, 1]"),
    (["train", "acgan", "--minority", "12"], "expected a class number (0-9)"),
    (["train", "bagan", "--minority", "x"], "expected a class number (0-9)"),
])
def test_cli_refuses_a_bad_cut_in_one_line(tmp_path, capsys, argv, message):
    assert main([*argv, "--dataset", "mnist", "--profile", "quick", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gancourse: error:") and message in err and err.count("\n") == 1
