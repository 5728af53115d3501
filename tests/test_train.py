"""Smoke runs of every training path, checkpoints, resume, interruption and divergence."""
import dataclasses
import json

import pytest
import torch

from gancourse.checkpoint import CheckpointError
from gancourse.config import TrainConfig, make_config
from gancourse.device import seed_everything
from gancourse.losses import generator_loss_minimax
from gancourse.models import build_models
from gancourse.runs import load, sample
from gancourse.train import TrainingDiverged, train_gan

HISTORY_KEYS = {"step", "loss_d", "d_real", "d_fake", "loss_g", "d_fake_g", "grad_norm_g", "time_s"}


def models(name="mlp-gan", seed=0, **kwargs):
    seed_everything(seed)
    return build_models(name, **kwargs)


def small_cfg(**overrides):
    return dataclasses.replace(TrainConfig(num_steps=6, batch_size=16, checkpoint_every=3), **overrides)


@pytest.mark.parametrize("name,kwargs,g_loss,k", [
    ("mlp-gan", {}, "non-saturating", 1),
    ("mlp-gan", {}, "minimax", 2),
    ("dcgan", {"width": 16}, "non-saturating", 1),
])
def test_every_training_path_runs_and_writes_a_run(tmp_path, tiny_data, name, kwargs, g_loss, k):
    G, D = models(name, **kwargs)
    cfg = small_cfg(model=name, model_kwargs=kwargs, loss=g_loss, k=k)
    history = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    assert [row["step"] for row in history] == list(range(1, 7))
    assert set(history[0]) == HISTORY_KEYS
    assert all(0 < row["d_real"] < 1 and row["grad_norm_g"] > 0 for row in history)
    assert {p.name for p in tmp_path.iterdir()} >= {"checkpoint.pt", "history.csv", "config.json"}
    assert json.loads((tmp_path / "config.json").read_text())["model"] == name
    G2, cfg2 = load(tmp_path)
    assert cfg2 == cfg
    for a, b in zip(G.state_dict().values(), G2.state_dict().values()):
        assert torch.equal(a, b)
    assert sample(G2, 3).shape == (3, 1, 28, 28)


def test_a_students_loss_plugs_in(tiny_data):
    calls = []

    def my_g_loss(fake_logits):
        calls.append(fake_logits.shape)
        return generator_loss_minimax(fake_logits)

    G, D = models()
    train_gan(G, D, tiny_data, small_cfg(num_steps=2), g_loss=my_g_loss, progress=False)
    assert calls == [torch.Size([16])] * 2


def test_the_discriminator_step_leaves_the_generator_alone(tiny_data):
    G, D = models()
    before = [p.detach().clone() for p in G.parameters()]

    def no_g_step(G, D, batch, opt_g, g_loss):
        return {"loss_g": 0.0}

    train_gan(G, D, tiny_data, small_cfg(num_steps=2), g_step=no_g_step, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


@pytest.mark.parametrize("name,kwargs", [("mlp-gan", {}), ("dcgan", {"width": 16})])
def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path, tiny_data, name, kwargs):
    cfg = small_cfg(model=name, model_kwargs=kwargs, num_steps=8, checkpoint_every=100)
    G_full, D_full = models(name, **kwargs)
    train_gan(G_full, D_full, tiny_data, cfg, run_dir=tmp_path / "full", progress=False)

    def interrupt_at_5(step, G, D, history):
        if step == 5:
            raise KeyboardInterrupt

    G, D = models(name, **kwargs)
    part = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path / "cut", callbacks=[interrupt_at_5],
                     progress=False)
    assert len(part) == 5  # interrupted, saved, returned what it had
    G, D = models(name, seed=99, **kwargs)  # different weights: they must come from the checkpoint
    history = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path / "cut", progress=False)
    assert len(history) == 8
    for (key, a), b in zip(G_full.state_dict().items(), G.state_dict().values()):
        assert torch.equal(a, b), key
    for a, b in zip(D_full.state_dict().values(), D.state_dict().values()):
        assert torch.equal(a, b)


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_weights(tmp_path, tiny_data):
    G, D = models()

    def nan_after_3(real_logits, fake_logits):
        nan_after_3.calls += 1
        loss = real_logits.mean() * 0 + 1.0
        return loss * float("nan") if nan_after_3.calls > 3 else loss

    nan_after_3.calls = 0
    with pytest.raises(TrainingDiverged, match=r"discriminator loss became nan at step 4\. Lower "
                                               r"lr_d/lr_g.*the last checkpoint, of step 2, is in"):
        train_gan(G, D, tiny_data, small_cfg(checkpoint_every=2), d_loss=nan_after_3,
                  run_dir=tmp_path, progress=False)
    assert all(torch.isfinite(p).all() for p in D.parameters())
    assert len(load(tmp_path)[0].state_dict()) > 0  # the step-2 checkpoint is intact


def test_minutes_budget_stops_the_run(tiny_data, capsys):
    G, D = models()
    history = train_gan(G, D, tiny_data, small_cfg(num_steps=10**6, minutes=0.02), progress=False)
    assert 0 < len(history) < 10**6
    assert "the 0.02-minute budget is spent" in capsys.readouterr().out


def test_a_resumed_run_keeps_its_total_budget(tmp_path, tiny_data, capsys):
    G, D = models()
    cfg = small_cfg(num_steps=10**6, minutes=0.01)
    first = train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    again = train_gan(*models(), tiny_data, cfg, run_dir=tmp_path, progress=False)
    assert len(again) == len(first)  # the budget was spent: resuming adds no steps
    assert "resuming from step" in capsys.readouterr().out


def test_resuming_other_models_or_corrupted_checkpoints_fails_clearly(tmp_path, tiny_data):
    G, D = models()
    train_gan(G, D, tiny_data, small_cfg(num_steps=2), run_dir=tmp_path, progress=False)
    G2, D2 = models("dcgan", width=16)
    with pytest.raises(CheckpointError, match="does not fit these models .*'mlp-gan'"):
        train_gan(G2, D2, tiny_data, small_cfg(num_steps=4), run_dir=tmp_path, progress=False)
    (tmp_path / "checkpoint.pt").write_bytes((tmp_path / "checkpoint.pt").read_bytes()[:500])
    with pytest.raises(CheckpointError, match="not a readable checkpoint .*truncated or corrupted"):
        load(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load(tmp_path / "elsewhere")


def test_profiles_are_data():
    assert make_config("mlp-gan", "quick").num_steps < make_config("mlp-gan", "cpu").num_steps
    assert make_config("dcgan", "gpu", seed=3).seed == 3
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        make_config("mlp-gan", "fast")
    with pytest.raises(ValueError, match="positive"):
        TrainConfig(num_steps=0)
