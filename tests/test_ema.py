"""The moving average of G's weights: its arithmetic, its place in train_gan, checkpoint and load."""
import dataclasses

import pytest
import torch
from torch import nn

from gancourse.config import TrainConfig, make_config
from gancourse.device import seed_everything
from gancourse.ema import averaged_copy, update_average, warmed_decay
from gancourse.models import build_models
from gancourse.runs import load, sample
from gancourse.train import train_gan


def models(name="mlp-gan", seed=0, **kwargs):
    seed_everything(seed)
    return build_models(name, **kwargs)


def small_cfg(**overrides):
    return dataclasses.replace(TrainConfig(num_steps=6, batch_size=16, checkpoint_every=3, ema=0.9), **overrides)


def test_the_average_is_the_recurrence_written_out():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    G_ema = averaged_copy(G)
    assert all(not p.requires_grad for p in G_ema.parameters())
    expected = [p.detach().clone() for p in G.parameters()]
    for step in range(30):
        with torch.no_grad():
            for p in G.parameters():
                p.add_(torch.randn_like(p))
        G(torch.randn(8, 3))  # moves BatchNorm's running statistics and its counter
        update_average(G_ema, G, 0.95, step)
        d = min(0.95, (1 + step) / (10 + step))
        expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, G.parameters())]
    for e, a in zip(expected, G_ema.parameters()):
        torch.testing.assert_close(a, e)
    assert G_ema[1].num_batches_tracked == G[1].num_batches_tracked == 30
    assert not torch.equal(G_ema[1].running_mean, G[1].running_mean)  # averaged, not copied


def test_warm_up_follows_g_early_and_reaches_the_decay():
    assert warmed_decay(0.999, 0) == pytest.approx(0.1)
    assert warmed_decay(0.999, 10**6) == 0.999
    assert warmed_decay(0.5, 0) == 0.1 and warmed_decay(0.5, 100) == 0.5


def test_train_gan_keeps_an_average_that_callbacks_and_load_sample(tmp_path, tiny_data):
    seen = []
    G, D = models()
    history = train_gan(G, D, tiny_data, small_cfg(), run_dir=tmp_path, progress=False,
                        callbacks=[lambda step, G_cb, D_cb, h: seen.append(G_cb)])
    assert history.G_ema is not None and history.G_ema is not G
    assert all(g is history.G_ema for g in seen)  # the grids show the average
    differs = [not torch.equal(a, b) for a, b in zip(history.G_ema.parameters(), G.parameters())]
    assert all(differs)
    G_loaded, cfg = load(tmp_path)
    G_last, _ = load(tmp_path, averaged=False)
    assert cfg.ema == 0.9
    for a, b, c, d in zip(G_loaded.parameters(), history.G_ema.parameters(), G_last.parameters(), G.parameters()):
        assert torch.equal(a, b) and torch.equal(c, d)
    assert sample(G_loaded, 4).shape == (4, 1, 28, 28)


def test_without_ema_there_is_no_average(tmp_path, tiny_data):
    history = train_gan(*models(), tiny_data, small_cfg(ema=None), run_dir=tmp_path, progress=False)
    assert history.G_ema is None
    assert "G_ema" not in torch.load(tmp_path / "checkpoint.pt", weights_only=False)


@pytest.mark.parametrize("name,kwargs", [("mlp-gan", {}), ("dcgan", {"width": 16})])
def test_a_resumed_run_continues_the_average_exactly(tmp_path, tiny_data, name, kwargs):
    cfg = small_cfg(model=name, model_kwargs=kwargs, num_steps=8, checkpoint_every=100)
    full = train_gan(*models(name, **kwargs), tiny_data, cfg, run_dir=tmp_path / "full", progress=False)

    def interrupt_at_5(step, G, D, history):
        if step == 5:
            raise KeyboardInterrupt

    part = train_gan(*models(name, **kwargs), tiny_data, cfg, run_dir=tmp_path / "cut",
                     callbacks=[interrupt_at_5], progress=False)
    assert len(part) == 5
    again = train_gan(*models(name, seed=99, **kwargs), tiny_data, cfg, run_dir=tmp_path / "cut", progress=False)
    for (key, a), b in zip(full.G_ema.state_dict().items(), again.G_ema.state_dict().values()):
        assert torch.equal(a, b), key


def test_a_bad_decay_or_a_model_that_would_ignore_it_is_refused(tiny_data):
    for bad in (0, 1, 1.5, -0.1, float("nan"), "0.9"):
        with pytest.raises(ValueError, match="ema must be a decay in"):
            TrainConfig(ema=bad)
    cfg = make_config("vae", "quick", ema=0.99)
    G, E = build_models("vae", **cfg.model_kwargs)
    with pytest.raises(ValueError, match="would record it but not use it"):
        train_gan(G, E, tiny_data, cfg, progress=False)


def test_the_lectures_helpers_return_the_average_they_trained():
    from gancourse.modes import train_toy_gan

    G, history, cfg = train_toy_gan("ring8", "quick", ema=0.9, progress=False)
    assert cfg.ema == 0.9 and G is history.G_ema
    G, history, _ = train_toy_gan("ring8", "quick", progress=False)
    assert history.G_ema is None and G is not None
