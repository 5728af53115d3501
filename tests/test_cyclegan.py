"""CycleGAN: the image pool, the losses, unpaired data, exact resume, the CLI."""
import dataclasses

import numpy as np
import pytest
import torch

from gancourse import pix2pix
from gancourse.cli import main
from gancourse.config import make_config
from gancourse.models import build_models
from gancourse.models.cyclegan import (CycleDiscriminator, CycleGenerator, ImagePool, cycle_loss,
                                       cyclegan_discriminator_loss, cyclegan_generator_loss)
from gancourse.train import train_gan


def test_pool_passes_fakes_while_it_fills_then_swaps_about_half():
    pool = ImagePool(5, (1, 2, 2))
    first = torch.arange(3 * 4, dtype=torch.float).view(3, 1, 2, 2)
    assert torch.equal(pool(first), first) and int(pool.count) == 3
    assert torch.equal(pool.images[:3], first)
    assert torch.equal(pool(first[:2] + 50), first[:2] + 50) and int(pool.count) == 5  # full now
    torch.manual_seed(0)
    swapped = 0
    for i in range(200):
        before = pool.images.clone()
        new = torch.full((4, 1, 2, 2), 100.0 + i) + torch.arange(4.0).view(4, 1, 1, 1)
        out = pool(new)
        assert int(pool.count) == 5
        # nothing is made or lost: what comes out plus what stays in is what was in plus what came in
        key = lambda t: sorted(t.flatten(1).tolist())  # noqa: E731
        assert key(torch.cat([out, pool.images])) == key(torch.cat([before, new]))
        swapped += sum(not torch.equal(o, n) for o, n in zip(out, new))
    assert 0.4 < swapped / 800 < 0.6  # each fake is swapped with probability 1/2 (more than 30 s.d. apart)


def test_pool_of_size_zero_passes_through_and_a_pool_detaches():
    fakes = torch.randn(3, 1, 4, 4, requires_grad=True)
    for size in (0, 3):  # none, or room for all three
        out = ImagePool(size, (1, 4, 4))(fakes * 2)
        assert not out.requires_grad and torch.equal(out, (fakes * 2).detach())
    with pytest.raises(ValueError, match=r"holds images of shape \(1, 4, 4\), got \(3, 4, 4\)"):
        ImagePool(2, (1, 4, 4))(torch.randn(2, 3, 4, 4))


def test_pool_state_is_in_the_state_dict():
    pool = ImagePool(3, (1, 2, 2))
    pool(torch.randn(2, 1, 2, 2))
    other = ImagePool(3, (1, 2, 2))
    other.load_state_dict(pool.state_dict())
    assert int(other.count) == 2 and torch.equal(other.images, pool.images)


def test_losses_match_their_formulas():
    torch.manual_seed(0)
    G, F = torch.nn.Conv2d(1, 1, 3, padding=1), torch.nn.Conv2d(1, 1, 1)
    D_A, D_B = torch.nn.Conv2d(1, 1, 3), torch.nn.Conv2d(1, 1, 2)
    a, b = torch.randn(4, 1, 6, 6), torch.randn(4, 1, 6, 6)
    cyc = (F(G(a)) - a).abs().mean() + (G(F(b)) - b).abs().mean()
    assert torch.allclose(cycle_loss(G, F, a, b), cyc)
    adv = ((D_B(G(a)) - 1) ** 2).mean() + ((D_A(F(b)) - 1) ** 2).mean()
    idt = (G(b) - b).abs().mean() + (F(a) - a).abs().mean()
    assert torch.allclose(cyclegan_generator_loss(G, F, D_A, D_B, a, b, 10.0, 0.5), adv + 10 * cyc + 5 * idt)
    assert torch.allclose(cyclegan_generator_loss(G, F, D_A, D_B, a, b, 0.0, 0.5), adv)  # GAN only
    r, f = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert torch.allclose(cyclegan_discriminator_loss(r, f), 0.5 * (((r - 1) ** 2).mean() + (f ** 2).mean()))


def test_generator_translates_both_ways_and_discriminators_judge_single_images():
    G, D = build_models("cyclegan", width=8)
    assert isinstance(G, CycleGenerator) and isinstance(D, CycleDiscriminator)
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(G(x), G.ab(x)) and G.ba(x).shape == (2, 1, 32, 32)
    assert D.d_a(x).shape == D.d_b(x).shape == (2, 1, 14, 14)
    assert not any(isinstance(m, torch.nn.Dropout) for m in G.modules())  # CycleGAN has no noise
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, H, W\)"):
        D.d_a(torch.randn(2, 2, 32, 32))


def test_unpaired_domains_never_share_an_item(tmp_path):
    pairs = pix2pix.load_pairs("mnist", "test", "edges", cache_dir=tmp_path)
    u = pix2pix.load_unpaired("mnist", "test", "edges", cache_dir=tmp_path)
    assert len(u.a) == len(u.b) == len(pairs) // 2
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(0))
    first, second = set(order[:len(u.a)].tolist()), set(order[len(u.a):2 * len(u.a)].tolist())
    assert not first & second
    assert torch.equal(u.a[0], pairs.inputs[order[0]]) and torch.equal(u.b[0], pairs.targets[order[len(u.a)]])
    batches = pix2pix.UnpairedBatches(u.a, u.b, 8, seed=3)
    a, b = batches(5)
    assert torch.equal(a, batches(5)[0]) and a.shape == b.shape == (8, 1, 32, 32)


def test_thick_task_pairs_a_digit_with_its_thickened_strokes(tmp_path):
    pairs = pix2pix.load_pairs("mnist", "test", "thick", cache_dir=tmp_path)
    x, y = pairs.inputs[:20], pairs.targets[:20]
    assert (y >= x).all() and ((y > 0).sum() > (x > 0).sum() * 1.3)  # ink only added, and plenty of it
    assert x.min() == -1 and y.shape == (20, 1, 32, 32)


def _cfg(**overrides):
    return dataclasses.replace(make_config("cyclegan", "quick"), **overrides)


def test_training_resumes_exactly_with_its_pools(tmp_path):
    a, b = torch.rand(40, 1, 32, 32) * 2 - 1, torch.rand(40, 1, 32, 32) * 2 - 1
    states = []
    for parts in ((8,), (3, 8)):
        run = tmp_path / f"run{len(parts)}"
        for steps in parts:
            torch.manual_seed(0)
            G, D = build_models("cyclegan", width=4, pool_size=6)
            cfg = _cfg(num_steps=steps, batch_size=4, checkpoint_every=3, model_kwargs=dict(width=4, pool_size=6))
            history = train_gan(G, D, pix2pix.UnpairedBatches(a, b, 4, 0), cfg, run_dir=run, progress=False)
        states.append((G.state_dict(), D.state_dict(), [r["loss_g"] for r in history]))
    (g1, d1, h1), (g2, d2, h2) = states
    assert int(d1["pool_a.count"]) == 6  # the pool filled and then swapped
    assert all(torch.equal(d1[k], d2[k]) for k in d1) and all(torch.equal(g1[k], g2[k]) for k in g1)
    assert h1 == h2


def test_ablations_report_their_terms(tmp_path):
    a, b = torch.rand(16, 1, 32, 32) * 2 - 1, torch.rand(16, 1, 32, 32) * 2 - 1
    for change, keys in ((dict(lambda_cycle=0.0, lambda_identity=0.0), {"adversarial", "cycle"}),
                         (dict(lambda_identity=0.0), {"cycle"}), ({}, {"cycle", "identity"})):
        torch.manual_seed(0)
        G, D = build_models("cyclegan", width=4)
        history = train_gan(G, D, pix2pix.UnpairedBatches(a, b, 4, 0), _cfg(num_steps=2, batch_size=4, **change),
                            progress=False)
        assert keys <= set(history[-1]) and ("identity" in history[-1]) == ("identity" in keys)


def test_cyclegan_refuses_what_it_would_not_use():
    with pytest.raises(ValueError, match="cyclegan trains with its own losses \\(lsgan\\)"):
        train_gan(*build_models("cyclegan", width=4), lambda t: None, _cfg(loss="non-saturating"), progress=False)
    with pytest.raises(ValueError, match="lambda_cycle=1.0 is an option of cyclegan; dcgan would record it"):
        train_gan(*build_models("dcgan", width=8), torch.zeros(4, 1, 28, 28),
                  make_config("dcgan", "quick", lambda_cycle=1.0), progress=False)
    with pytest.raises(ValueError, match="lambda_identity must be a finite weight >= 0"):
        _cfg(lambda_identity=-1.0)


def test_cli_train_cyclegan_then_translate_both_ways(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cyclegan", "--dataset", "mnist", "--task", "thick", "--profile", "quick",
                 "--steps", "3", "--lambda-identity", "0", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "unpaired" in out and "lambda_identity=0.0" in out and "held-out pairs" in out
    assert (run / "samples.png").is_file() and (run / "checkpoint.pt").is_file()
    np.savez(tmp_path / "in.npz", images=np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8))
    outputs = {}
    for direction in ("ab", "ba"):
        assert main(["translate", str(run), "--input", str(tmp_path / "in.npz"), "--out",
                     str(tmp_path / f"{direction}.npz"), "--direction", direction]) == 0
        assert f"direction {direction}" in capsys.readouterr().out
        with np.load(tmp_path / f"{direction}.npz") as f:
            assert f["images"].shape == (5, 28, 28) and f["images"].dtype == np.uint8
            outputs[direction] = f["images"]
    assert not np.array_equal(outputs["ab"], outputs["ba"])  # two different generators
    for argv, message in (
            (["translate", str(run), "--input", str(tmp_path / "in.npz"), "--out", "x.npz", "--dropout"],
             "cyclegan's generators have no dropout"),
            (["train", "cyclegan", "--dataset", "mnist", "--loss", "hinge", "--out", str(tmp_path / "h")],
             "cyclegan trains with its own losses (lsgan)"),
            (["train", "dcgan", "--dataset", "mnist", "--lambda-cycle", "3", "--out", str(tmp_path / "d")],
             "lambda_cycle=3.0 is an option of cyclegan"),
            (["train", "cyclegan", "--dataset", "mnist", "--lambda-cycle", "-1", "--out", str(tmp_path / "d")],
             "expected a number >= 0, got '-1'"),
            (["train", "cyclegan", "--dataset", "mnist", "--lambda-cycle", "nan", "--out", str(tmp_path / "d")],
             "expected a number >= 0, got 'nan'")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err


def test_cli_translate_ba_needs_cyclegan(tmp_path, capsys):
    run = tmp_path / "p2p"
    assert main(["train", "pix2pix", "--dataset", "mnist", "--task", "thick", "--profile", "quick",
                 "--steps", "2", "--out", str(run)]) == 0
    np.savez(tmp_path / "in.npz", images=np.zeros((2, 32, 32), np.uint8))
    assert main(["translate", str(run), "--input", str(tmp_path / "in.npz"), "--out", str(tmp_path / "o"),
                 "--direction", "ba"]) == 2
    assert "translates one way only (ab)" in capsys.readouterr().err
