"""The engine: the loss zoo as named pairs, critic steps and penalties, the family registry."""
import dataclasses
import json

import pytest
import torch
from torch import nn

from gancourse import losses
from gancourse.checkpoint import load_checkpoint, save_checkpoint
from gancourse.cli import main
from gancourse.config import LOSS_RECIPES, OPTIMIZER_NAMES, TrainConfig, config_from_dict, make_config
from gancourse.device import seed_everything
from gancourse.models import FAMILIES, build_models
from gancourse.plot import plot_history
from gancourse.run import OPTIMIZERS
from gancourse.runs import load
from gancourse.train import critic_step, discriminator_step, steps_for, train_gan


def tiny_cfg(**overrides):
    return dataclasses.replace(TrainConfig(num_steps=4, batch_size=16, checkpoint_every=2), **overrides)


@pytest.mark.parametrize("loss", list(losses.LOSSES))
@pytest.mark.parametrize("model", ["mlp-gan", "dcgan"])
def test_every_loss_trains_every_unconditional_family(tmp_path, tiny_data, loss, model):
    cfg = make_config(model, "quick", loss=loss, num_steps=3, batch_size=16)
    seed_everything(0)
    G, D = build_models(model, **cfg.model_kwargs)
    history = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    assert len(history) == 3 and all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in history)
    assert json.loads((tmp_path / "config.json").read_text())["loss"] == loss
    pair = losses.LOSSES[loss]
    assert ("d_real" in history[0]) == pair.probabilistic
    assert ("wasserstein" in history[0]) == (loss in ("wgan", "wgan-gp"))
    assert ("penalty" in history[0]) == (pair.penalty != "none")
    plot_history(history)  # whichever keys the step reported


def test_usual_recipes_come_with_the_loss():
    cfg = make_config("dcgan", "cpu", loss="wgan-gp")
    assert (cfg.k, cfg.beta1, cfg.beta2, cfg.lr_d) == (5, 0.0, 0.9, 1e-4)
    assert cfg.model_kwargs["d_norm"] == "none" and cfg.model_kwargs["width"] == 32
    assert make_config("dcgan", "cpu", loss="wgan").optimizer == "rmsprop"
    assert make_config("dcgan", "cpu", loss="wgan-gp", k=2).k == 2  # overrides still win
    assert set(OPTIMIZERS) == set(OPTIMIZER_NAMES) and set(LOSS_RECIPES) <= set(losses.LOSS_NAMES)


def test_the_zoo_formulas():
    r, f = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-0.5, 1.5, 0.0])
    assert torch.isclose(losses.lsgan_discriminator_loss(r, f), ((r - 1) ** 2).mean() + (f ** 2).mean())
    assert torch.isclose(losses.lsgan_generator_loss(f), ((f - 1) ** 2).mean())
    assert torch.isclose(losses.hinge_discriminator_loss(r, f),
                         torch.tensor([0.0, 2.0, 0.5]).mean() + torch.tensor([0.5, 2.5, 1.0]).mean())
    assert torch.isclose(losses.wasserstein_critic_loss(r, f), f.mean() - r.mean())
    assert torch.isclose(losses.wasserstein_generator_loss(f), -f.mean())


class Linear(nn.Module):
    """D(x) = w . x: its input gradient is w everywhere, so every penalty has a closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_penalties_match_their_closed_forms_and_train_d():
    w = torch.tensor([3.0, 4.0])  # |w| = 5
    D, x, y = Linear(w.clone()), torch.randn(6, 2), torch.randn(6, 2)
    assert torch.isclose(losses.gradient_penalty(D, x, y), torch.tensor(16.0))
    assert torch.isclose(losses.dragan_penalty(D, x, y), torch.tensor(16.0))
    assert torch.isclose(losses.r1_penalty(D, x, y), torch.tensor(12.5))
    losses.gradient_penalty(D, x, y).backward()  # connected to D's weights: d/dw (|w| - 1)^2
    assert torch.allclose(D.w.grad, 2 * (5 - 1) * w / 5)


def test_critic_step_clips_and_reports_the_wasserstein_estimate(tiny_data):
    seed_everything(0)
    G, D = build_models("mlp-gan")
    opt = torch.optim.RMSprop(D.parameters(), lr=0.1)
    batch = (tiny_data.images[:16], tiny_data.labels[:16])
    row = critic_step(G, D, batch, opt, losses.wasserstein_critic_loss, clip=0.01)
    assert all(p.abs().max() <= 0.01 for p in D.parameters())
    assert row["wasserstein"] == pytest.approx(row["score_real"] - row["score_fake"])
    assert steps_for(tiny_cfg()) ["d_step"] is discriminator_step  # the plain step lecture 1 prints


def test_a_gradient_penalty_refuses_a_batchnorm_critic(tiny_data):
    seed_everything(0)
    G, D = build_models("dcgan", width=16)  # D with BatchNorm
    with pytest.raises(ValueError, match="BatchNorm mixes the samples"):
        train_gan(G, D, tiny_data, tiny_cfg(model="dcgan", loss="wgan-gp"), progress=False)


def test_families_with_their_own_losses_refuse_another(tmp_path, capsys, tiny_data):
    seed_everything(0)
    G, D = build_models("cgan", width=16)
    with pytest.raises(ValueError, match="cgan trains with its own losses .*'minimax' would be recorded"):
        train_gan(G, D, tiny_data, tiny_cfg(model="cgan", loss="minimax"), progress=False)
    assert main(["train", "pix2pix", "--dataset", "mnist", "--profile", "quick", "--loss", "hinge",
                 "--out", str(tmp_path)]) == 2
    assert "pix2pix trains with its own losses" in capsys.readouterr().err
    assert not (tmp_path / "config.json").exists()


def test_a_family_trains_with_its_own_steps_when_none_are_given(tiny_data):
    seed_everything(0)
    G, D = build_models("acgan", width=16)
    history = train_gan(G, D, tiny_data, tiny_cfg(model="acgan", num_steps=2), progress=False)
    assert "acc_real" in history[0]  # the AC-GAN step ran, not the plain one


def test_pix2pix_settings_live_in_the_config_and_its_g_step_uses_its_loss(tiny_data):
    calls = []
    steps = FAMILIES["pix2pix"].steps(tiny_cfg(model="pix2pix", lambda_l1=0.0))

    def spy(fake_logits, fake, target, lambda_l1):
        calls.append(lambda_l1)
        return steps["g_loss"](fake_logits, fake, target, lambda_l1)

    G, D = build_models("pix2pix", width=8)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    steps["g_step"](G, D, (x, x), torch.optim.Adam(G.parameters()), spy)
    assert calls == [0.0]


def test_old_runs_still_load(tmp_path, tiny_data):
    seed_everything(0)
    G, D = build_models("mlp-gan")
    train_gan(G, D, tiny_data, tiny_cfg(num_steps=2), run_dir=tmp_path, progress=False)
    state = load_checkpoint(tmp_path)
    old = dict(state["cfg"])
    old["g_loss"] = old.pop("loss")
    for key in ("penalty", "penalty_weight", "clip", "lr_schedule", "lambda_l1", "adversarial"):
        old.pop(key)
    state["cfg"] = old
    state.pop("callbacks")
    save_checkpoint(tmp_path / "checkpoint.pt", **state)
    assert config_from_dict(old).loss == "non-saturating"
    assert load(tmp_path)[1].loss == "non-saturating"
    history = train_gan(*build_models("mlp-gan"), tiny_data, tiny_cfg(num_steps=3), run_dir=tmp_path,
                        progress=False)  # resumes: the old config means the same run
    assert len(history) == 3


def test_a_learning_rate_schedule_decays_and_resumes_exactly(tmp_path, tiny_data):
    cfg = tiny_cfg(num_steps=8, lr_schedule="linear-decay", checkpoint_every=100)
    seed_everything(0)
    G_full, D_full = build_models("mlp-gan")
    train_gan(G_full, D_full, tiny_data, cfg, run_dir=tmp_path / "full", progress=False)
    state = load_checkpoint(tmp_path / "full")
    assert state["sched_g"]["last_epoch"] == 8 and state["opt_g"]["param_groups"][0]["lr"] == 0.0

    def stop_at_5(step, G, D, history):
        if step == 5:
            raise KeyboardInterrupt

    seed_everything(0)
    train_gan(*build_models("mlp-gan"), tiny_data, cfg, run_dir=tmp_path / "cut", callbacks=[stop_at_5],
              progress=False)
    seed_everything(1)
    G, D = build_models("mlp-gan")
    train_gan(G, D, tiny_data, cfg, run_dir=tmp_path / "cut", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(G_full.state_dict().values(), G.state_dict().values()))


def test_cli_trains_a_loss_of_the_zoo_and_samples_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--dataset", "mnist", "--profile", "quick", "--loss", "wgan-gp",
                 "--steps", "2", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "wasserstein=" in out and (run / "losses.png").is_file()
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "s.npz")]) == 0


def test_ns_with_r1_on_a_spectrally_normalised_critic(tiny_data):
    cfg = make_config("dcgan", "quick", penalty="r1", num_steps=2, batch_size=16,
                      model_kwargs=dict(width=16, d_norm="spectral", d_dropout=0.0))
    seed_everything(0)
    G, D = build_models("dcgan", **cfg.model_kwargs)
    history = train_gan(G, D, tiny_data, cfg, progress=False)
    assert "penalty" in history[0] and "d_real" in history[0]  # probabilistic loss, with R1
    with torch.no_grad():  # a few more power iterations, then every conv has largest singular value 1
        for _ in range(30):
            D(tiny_data.images[:4])
    for conv in (D.net[0], D.net[2]):
        assert torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2) == pytest.approx(1, abs=0.02)


def test_began_balances_k_in_a_buffer_that_resumes(tmp_path, tiny_data, capsys):
    cfg = make_config("began", "quick", num_steps=6, batch_size=16, checkpoint_every=3)
    seed_everything(0)
    G, D = build_models("began", **cfg.model_kwargs)
    history = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    assert {"k", "convergence", "err_real", "err_fake"} <= set(history[0])
    ks = [row["k"] for row in history]
    assert 0 <= min(ks) and max(ks) <= 1 and ks[-1] == D.k.item() and len(set(ks)) > 1
    assert torch.equal(load_checkpoint(tmp_path)["D"]["k"], D.k)  # saved with D, so resumed with it
    plot_history(history)
    with pytest.raises(ValueError, match="needs a discriminator of its own: train the began model"):
        train_gan(*build_models("dcgan", width=16), tiny_data, tiny_cfg(model="dcgan", loss="began"))
    assert main(["train", "dcgan", "--dataset", "mnist", "--profile", "quick", "--loss", "began",
                 "--out", str(tmp_path / "x")]) == 2
    assert "train the began model" in capsys.readouterr().err
    run = tmp_path / "cli"
    assert main(["train", "began", "--dataset", "mnist", "--profile", "quick", "--out", str(run)]) == 0
    assert "k=" in capsys.readouterr().out
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "s.npz")]) == 0


def test_the_zoo_runner_and_its_grid(capsys):
    from gancourse.zoo import run_grid, run_zoo, spread_against_gap, summarize_zoo
    rows = run_zoo(["NS", "WGAN-GP"], [0, 1], 2, "quick", n_fid=200)
    summary = summarize_zoo(rows)
    assert [s["name"] for s in summary] == ["NS", "WGAN-GP"] and all(s["runs"] == 2 for s in summary)
    assert all(s["best"] <= s["median"] <= s["worst"] for s in summary)
    verdict = spread_against_gap(summary)
    assert verdict["largest_spread"] >= 0 and verdict["gap_between_medians"] >= 0
    grid = run_grid(["NS"], dict(lr=(1e-4, 1e-3), beta1=(0.0,)), 1, "quick", n_fid=200)
    assert [(r["lr"], r["beta1"]) for r in grid] == [(1e-4, 0.0), (1e-3, 0.0)]
    assert rows[0]["samples"].shape == (32, 1, 28, 28)
