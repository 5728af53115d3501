"""Mode collapse: the 2-D benchmarks, the mode-coverage metric, and the toy-gan family's cures."""
import copy
import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from gancourse.config import TrainConfig, make_config
from gancourse.device import seed_everything
from gancourse.losses import LOSSES, gradient_penalty
from gancourse.metrics import mode_coverage
from gancourse.models import build_models
from gancourse.models.toy_gan import (PackedPenalty, minibatch_stddev, pack_points, toy_gan_steps,
                                      unrolled_generator_step, unrolled_parameters)
from gancourse.runs import load, sample
from gancourse.toy import TOY_DATASETS, GaussianRing2D, toy_dataset, toy_points
from gancourse.train import family_steps, train_gan


# --- the benchmarks ---------------------------------------------------------------------------------
def test_ring8_has_eight_distinct_centres_evenly_spaced_on_a_circle_of_radius_2():
    ring = TOY_DATASETS["ring8"]
    centers = ring.centers().double()
    assert centers.shape == (8, 2) and ring.std == 0.02
    assert torch.allclose(centers.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64), atol=1e-6)
    gaps = torch.cdist(centers, centers) + torch.eye(8, dtype=torch.float64) * 99
    assert gaps.min() > 1.5  # no two centres coincide (linspace(0, 2 pi, 8) puts two on (2, 0))
    angles = torch.atan2(centers[:, 1], centers[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8, dtype=torch.float64) * math.pi / 4, atol=1e-6)


def test_grid25_centres_are_the_5x5_grid_of_even_coordinates():
    grid = TOY_DATASETS["grid25"]
    assert grid.std == 0.05 and grid.modes == 25
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in grid.centers().tolist()} == expected


@pytest.mark.parametrize("name", list(TOY_DATASETS))
def test_samples_have_the_right_modes_and_spread_and_repeat_with_a_generator(name):
    data = toy_dataset(name)
    x = data.sample(20_000, torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 2)
    offset = x[:, None, :] - data.centers()[None]  # (N, K, 2)
    nearest = offset.norm(dim=2).argmin(1)
    residual = offset[torch.arange(len(x)), nearest]  # (N, 2): the Gaussian noise around each mode
    assert residual.std(0).tolist() == pytest.approx([data.std, data.std], rel=0.03)
    share = torch.bincount(nearest, minlength=len(data.centers())).double() / len(x)
    assert share.min() > 0.7 / len(share) and share.max() < 1.3 / len(share)  # modes equally likely
    assert torch.equal(x, data.sample(20_000, torch.Generator().manual_seed(0)))
    assert torch.equal(toy_points(name, 50, seed=3), toy_points(name, 50, seed=3))
    assert not torch.equal(toy_points(name, 50, seed=3), toy_points(name, 50, seed=4))


def test_unknown_toy_dataset_is_refused_and_lecture_1s_ring_still_works():
    with pytest.raises(ValueError, match="unknown toy dataset 'grid9'; choose one of ring8, grid25"):
        toy_dataset("grid9")
    ring = GaussianRing2D(modes=8, radius=2.0, std=0.05)  # lecture 1's
    assert ring.sample(10, torch.Generator().manual_seed(0)).shape == (10, 2)
    assert ring.pdf(ring.centers()).shape == (8,)


# --- the metric -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(TOY_DATASETS))
def test_real_samples_capture_every_mode_with_high_quality_and_kl_near_zero(name):
    data = toy_dataset(name)
    result = mode_coverage(data.sample(2500, torch.Generator().manual_seed(1)), name)
    assert result.modes == result.total_modes == len(data.centers())
    # P(|noise| <= 3 std) for 2-D Gaussian noise is 1 - exp(-9/2); 2,500 samples: SE 0.002
    assert result.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.007)
    assert 0 <= result.kl < 0.02  # multinomial noise alone: about (K - 1) / (2 N)
    assert sum(result.counts) == round(result.high_quality * 2500)


def test_samples_of_three_modes_capture_three_with_kl_log_25_over_3():
    grid = TOY_DATASETS["grid25"]
    gen = torch.Generator().manual_seed(2)
    picked = grid.centers()[[0, 7, 19]]
    x = picked.repeat(400, 1) + grid.std * torch.randn(1200, 2, generator=gen).clamp(-2, 2)
    result = mode_coverage(x, "grid25")
    assert result.modes == 3 and result.high_quality == 1.0
    assert result.kl == pytest.approx(math.log(25 / 3), abs=1e-9)
    assert [i for i, c in enumerate(result.counts) if c] == [0, 7, 19]


def test_kl_is_of_the_high_quality_histogram_against_uniform():
    ring = TOY_DATASETS["ring8"]
    centers = ring.centers()
    counts = [50, 30, 20]
    x = torch.cat([centers[i].repeat(n, 1) for i, n in enumerate(counts)])
    far = torch.full((100, 2), 0.0)  # the ring's centre: 2 from every mode, never high quality
    result = mode_coverage(torch.cat([x, far]), ring)
    p = torch.tensor(counts, dtype=torch.float64) / 100
    assert result.kl == pytest.approx((p * (p * 8).log()).sum().item(), abs=1e-9)  # KL(p || uniform)
    assert result.high_quality == pytest.approx(0.5) and result.modes == 3


def test_the_threshold_is_three_std_of_euclidean_distance():
    grid = TOY_DATASETS["grid25"]
    direction = torch.tensor([0.6, 0.8])  # unit length, not along an axis
    inside = grid.centers()[12] + 2.95 * grid.std * direction
    outside = grid.centers()[12] + 3.05 * grid.std * direction
    assert mode_coverage(inside[None], grid).modes == 1
    assert mode_coverage(outside[None], grid).modes == 0


def test_points_far_from_every_mode_capture_none_and_kl_is_infinite():
    result = mode_coverage(np.full((2500, 2), 50.0), "grid25")  # arrays work too
    assert result.modes == 0 and result.high_quality == 0.0 and result.kl == math.inf


@pytest.mark.parametrize("points,dataset,message", [
    (torch.zeros(10, 3), "grid25", r"expected points of shape \(N, 2\) with N >= 1, got \(10, 3\)"),
    (torch.zeros(10), "grid25", r"expected points of shape \(N, 2\) with N >= 1, got \(10,\)"),
    (torch.zeros(0, 2), "grid25", r"got \(0, 2\)"),
    (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), "ring8", "1 of 2 points are NaN or infinite"),
    (torch.zeros(10, 2), "mnist", "unknown toy dataset 'mnist'"),
    (torch.zeros(10, 2), 42, "expected a toy dataset name or an object with centers"),
])
def test_bad_metric_input_gets_a_clear_message(points, dataset, message):
    with pytest.raises(ValueError, match=message):
        mode_coverage(points, dataset)


# --- the networks -----------------------------------------------------------------------------------
def toy_models(seed=0, **kwargs):
    seed_everything(seed)
    return build_models("toy-gan", latent_dim=3, **{"hidden": 16, **kwargs})


def test_shapes_and_packing():
    G, D = toy_models(pack=4)
    x = G(torch.randn(12, 3))
    assert x.shape == (12, 2)
    assert D(x).shape == (3,)  # one logit per pack of 4
    assert torch.equal(pack_points(torch.arange(8.0).view(4, 2), 2), torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7]]))
    with pytest.raises(ValueError, match="a batch of 10 samples cannot be packed in groups of 4"):
        D(torch.randn(10, 2))
    with pytest.raises(ValueError, match=r"expected points of shape \(B, 2\), got \(4, 3\)"):
        D(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"expected noise of shape \(B, 3\), got \(4, 2\)"):
        G(torch.randn(4, 2))
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match=f"pack must be a whole number of samples >= 1, got {bad}"):
            build_models("toy-gan", pack=bad)
    with pytest.raises(ValueError, match="pack must be a whole number of samples >= 1, got '2'"):
        toy_gan_steps(make_config("toy-gan", "quick", pack="2"))
    with pytest.raises(ValueError, match="minibatch_std must be True or False, got 'yes'"):
        build_models("toy-gan", minibatch_std="yes")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        build_models("toy-gan", activation="gelu")


def test_a_pack_is_judged_on_its_own_samples_only():
    _, D = toy_models(pack=2)
    x = torch.randn(6, 2)
    y = x.clone()
    y[1] += 1.0  # a sample of the first pack
    before, after = D(x), D(y)
    assert before[0] != after[0]
    assert torch.equal(before[1:], after[1:])


def test_minibatch_std_lets_each_logit_depend_on_the_rest_of_the_batch():
    h = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    expected = (torch.tensor(8 / 3).sqrt() + 0.0) / 2  # per-feature std over the batch, averaged
    assert minibatch_stddev(h) == pytest.approx(torch.full((3, 1), expected.item()), abs=1e-4)
    for flag in (False, True):
        _, D = toy_models(minibatch_std=flag)
        x = torch.randn(8, 2)
        y = x.clone()
        y[5:] *= 3  # other samples change, sample 0 does not
        assert torch.equal(D(x)[0], D(y)[0]) is not flag


# --- options, recorded and refused ------------------------------------------------------------------
def test_options_are_recorded_and_kept_with_the_profiles_network():
    cfg = make_config("toy-gan", "quick", dataset="ring8", pack=2, minibatch_std=True, unroll=3)
    profile = make_config("toy-gan", "quick").model_kwargs
    assert cfg.model_kwargs == {**profile, "pack": 2, "minibatch_std": True} and cfg.unroll == 3
    assert json.loads(json.dumps(dataclasses.asdict(cfg)))["model_kwargs"]["pack"] == 2


@pytest.mark.parametrize("make,message", [
    (lambda: make_config("cgan", "quick", pack=2), "cgan does not take pack; pack is an argument of dcgan, toy-gan"),
    (lambda: make_config("toy-gan", "quick", pakc=2), "toy-gan does not take pakc; TrainConfig has no such"),
    (lambda: family_steps(make_config("dcgan", "quick", unroll=5)), "unroll=5 is an option of toy-gan"),
    (lambda: family_steps(make_config("toy-gan", "quick", pack=3)),
     "batch_size 256 is not divisible by pack=3"),
    (lambda: family_steps(make_config("toy-gan", "quick", dataset="mnist")),
     r"toy-gan trains on points: dataset must be a toy dataset \(ring8, grid25\), got 'mnist'"),
    (lambda: family_steps(make_config("dcgan", "quick", dataset="grid25")),
     "dcgan trains on images: dataset must be an image dataset"),
    (lambda: family_steps(make_config("toy-gan", "quick", loss="wgan-gp", unroll=2)),
     "unroll=2 needs a loss without a penalty or clipping"),
    (lambda: family_steps(make_config("toy-gan", "quick", loss="wgan", unroll=2)), "clip=0.01"),
    (lambda: TrainConfig(unroll=-1), "unroll must be a whole number of D steps >= 0, got -1"),
])
def test_options_that_make_no_sense_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- the steps --------------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_unrolled_parameters_are_those_of_k_real_optimizer_steps(optimizer):
    _, D = toy_models(pack=2, minibatch_std=True)
    gen = torch.Generator().manual_seed(5)
    x_real, x_fake = torch.randn(16, 2, generator=gen), torch.randn(16, 2, generator=gen)
    cfg = TrainConfig(optimizer=optimizer, lr_d=1e-2, beta1=0.5, beta2=0.9)
    d_loss = LOSSES["non-saturating"].d
    params = unrolled_parameters(D, x_real, x_fake, d_loss, 3, optimizer=optimizer, lr=cfg.lr_d,
                                 beta1=cfg.beta1, beta2=cfg.beta2)
    before = copy.deepcopy(D.state_dict())
    twin = copy.deepcopy(D)
    from gancourse.run import OPTIMIZERS
    opt = OPTIMIZERS[optimizer](twin.parameters(), cfg.lr_d, cfg)
    for _ in range(3):
        opt.zero_grad()
        d_loss(twin(x_real), twin(x_fake)).backward()
        opt.step()
    for name, p in twin.named_parameters():
        assert torch.allclose(params[name], p, atol=1e-6), name
        assert not torch.equal(p, before[name])  # the steps moved it
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in before.items())  # D itself unchanged


def test_gradients_flow_through_the_unrolled_updates_into_g():
    G, D = toy_models()
    x_real = torch.randn(32, 2)
    z = torch.randn(32, 3)
    d_loss, g_loss = LOSSES["non-saturating"].d, LOSSES["non-saturating"].g

    def g_grad(detach_in_unroll: bool):
        G.zero_grad()
        x_fake = G(z)
        params = unrolled_parameters(D, x_real, x_fake.detach() if detach_in_unroll else x_fake, d_loss, 3, lr=0.05)
        g_loss(functional_call(D, params, (x_fake,))).backward()
        return torch.cat([p.grad.flatten() for p in G.parameters()])

    full, surrogate = g_grad(False), g_grad(True)
    assert not torch.allclose(full, surrogate, rtol=1e-3)  # the second-order term is there


def test_the_unrolled_g_step_trains_g_and_leaves_d_alone():
    G, D = toy_models()
    d_before = copy.deepcopy(D.state_dict())
    g_before = [p.detach().clone() for p in G.parameters()]
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2)
    row = unrolled_generator_step(G, D, (torch.randn(32, 2), None), opt_g, LOSSES["non-saturating"].g,
                                  d_loss=LOSSES["non-saturating"].d, k=2)
    assert set(row) == {"loss_g", "d_fake_g", "grad_norm_g"} and row["grad_norm_g"] > 0
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in d_before.items())
    assert all(p.grad is None for p in D.parameters())
    assert not any(torch.equal(a, b) for a, b in zip(g_before, G.parameters()))


def test_a_packed_penalty_is_taken_per_pack():
    _, D = toy_models(pack=2)
    x_real, x_fake = torch.randn(8, 2), torch.randn(8, 2)
    torch.manual_seed(0)
    packed = PackedPenalty("gp")(D, x_real, x_fake)
    torch.manual_seed(0)
    expected = gradient_penalty(D.forward_packed, pack_points(x_real, 2), pack_points(x_fake, 2))
    assert packed.item() == pytest.approx(expected.item())
    steps = toy_gan_steps(make_config("toy-gan", "quick", loss="wgan-gp", pack=2))
    assert steps["d_step"].keywords["penalty"] == PackedPenalty("gp")


# --- training ---------------------------------------------------------------------------------------
def tiny_cfg(**overrides):
    return make_config("toy-gan", "quick", **{"num_steps": 6, "batch_size": 32, "checkpoint_every": 3,
                                              "model_kwargs": dict(hidden=16), **overrides})


@pytest.mark.parametrize("overrides", [
    {}, dict(pack=2), dict(minibatch_std=True), dict(unroll=2), dict(loss="wgan-gp", pack=2),
    dict(loss="hinge", minibatch_std=True, unroll=1), dict(loss="lsgan", penalty="r1", pack=4, dataset="ring8"),
])
def test_every_option_trains_writes_a_run_and_loads(tmp_path, overrides):
    cfg = tiny_cfg(**overrides)
    seed_everything(0)
    G, D = build_models("toy-gan", latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    history = train_gan(G, D, toy_points(cfg.dataset, 2000, seed=cfg.seed), cfg, run_dir=tmp_path,
                        progress=False)
    assert len(history) == 6 and all(math.isfinite(v) for row in history for v in row.values())
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_kwargs"] == cfg.model_kwargs and saved["unroll"] == cfg.unroll
    G2, cfg2 = load(tmp_path)
    assert cfg2 == cfg and sample(G2, 5).shape == (5, 2)
    if "penalty" in overrides:  # R1 keeps no Wasserstein estimate, packed or not
        assert "wasserstein" not in history[-1]


def test_resume_matches_an_uninterrupted_run(tmp_path):
    cfg = tiny_cfg(num_steps=8, checkpoint_every=100, pack=2, minibatch_std=True, unroll=2)
    data = toy_points(cfg.dataset, 2000, seed=cfg.seed)

    def models(seed):
        seed_everything(seed)
        return build_models("toy-gan", latent_dim=cfg.latent_dim, **cfg.model_kwargs)

    G_full, _ = full = models(0)
    train_gan(*full, data, cfg, run_dir=tmp_path / "full", progress=False)

    def interrupt_at_5(step, G, D, history):
        if step == 5:
            raise KeyboardInterrupt

    assert len(train_gan(*models(0), data, cfg, run_dir=tmp_path / "cut", callbacks=[interrupt_at_5],
                         progress=False)) == 5
    G, D = models(99)
    assert len(train_gan(G, D, data, cfg, run_dir=tmp_path / "cut", progress=False)) == 8
    for a, b in zip(G_full.state_dict().values(), G.state_dict().values()):
        assert torch.equal(a, b)


# --- gancourse.modes: training, scoring and watching the toys ------------------------------------------
def test_train_toy_gan_repeats_with_a_seed_and_score_uses_fixed_noise():
    from gancourse.modes import score, train_toy_gan

    G1, history, cfg = train_toy_gan("ring8", "quick", seed=3, progress=False, num_steps=20)
    G2, _, _ = train_toy_gan("ring8", "quick", seed=3, progress=False, num_steps=20)
    assert len(history) == cfg.num_steps == 20 and cfg.seed == 3 and cfg.dataset == "ring8"
    assert all(torch.equal(a, b) for a, b in zip(G1.state_dict().values(), G2.state_dict().values()))
    first, again = score(G1, "ring8", seed=3), score(G1, "ring8", seed=3)
    assert first == again and sum(first.counts) == round(first.high_quality * 2500)
    G3, _, _ = train_toy_gan("ring8", "quick", seed=4, progress=False, num_steps=20)
    assert not torch.equal(G1.net[0].weight, G3.net[0].weight)


def test_snapshots_and_the_mode_history_count_each_modes_high_quality_share(tmp_path):
    from gancourse.modes import PointSnapshots, mode_history, save_points_gif, show_mode_history

    centers = toy_dataset("grid25").centers()
    snapshots = PointSnapshots(latent_dim=2, every=5, n=100)

    class OnMode(torch.nn.Module):  # a stand-in G: every sample on mode (step // 5) of the grid
        latent_dim = 2

        def __init__(self, mode):
            super().__init__()
            self.mode, self.unused = mode, torch.nn.Parameter(torch.zeros(1))  # sample() reads its device

        def forward(self, z):
            return centers[self.mode].expand(len(z), 2) + 0 * z

    for step in range(1, 16):
        snapshots(step, OnMode(step // 5), None, [])
    steps, shares = mode_history(snapshots.frames, "grid25")
    assert steps == [5, 10, 15] and shares.shape == (25, 3)
    assert torch.equal(shares[[1, 2, 3], [0, 1, 2]], torch.ones(3, dtype=shares.dtype)) and shares.sum() == 3
    fig = show_mode_history(snapshots.frames, "grid25")
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel() and fig.axes[0].get_title()
    gif = save_points_gif(snapshots.frames, "grid25", tmp_path / "sub" / "modes.gif")
    from PIL import Image
    with Image.open(gif) as image:
        assert image.n_frames == 3 and image.size == (360, 360)
    with pytest.raises(ValueError, match="no snapshots"):
        mode_history([], "grid25")
    with pytest.raises(ValueError, match="no snapshots"):
        save_points_gif([], "grid25", tmp_path / "none.gif")
