"""pix2pix: U-Net and PatchGAN shapes, receptive fields, losses, paired data, training, CLI."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gancourse import pix2pix
from gancourse.cli import main
from gancourse.data import Batches, DataError
from gancourse.facades import load_facades
from gancourse.losses import pix2pix_discriminator_loss, pix2pix_generator_loss
from gancourse.models import build_models
from gancourse.models.pix2pix import PatchDiscriminator, UNetGenerator, conv_layers, receptive_field
from gancourse.train import train_gan
from tests.test_train import small_cfg


def test_unet_keeps_the_image_size_and_uses_its_skips():
    G = UNetGenerator(width=8)
    x = torch.randn(4, 1, 32, 32)
    assert G(x).shape == (4, 1, 32, 32) and G(x).abs().max() <= 1
    assert UNetGenerator(3, 3, width=8, depth=6)(torch.randn(2, 3, 64, 64)).shape == (2, 3, 64, 64)
    # every decoder block but the innermost sees twice its mirror's channels: the skip is concatenated
    assert [b[0].in_channels for b in G.ups] == [64, 128, 64, 32]
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, H, W\) with H and W multiples of 32"):
        G(torch.randn(2, 1, 28, 28))


def test_patch_discriminator_gives_one_logit_per_patch():
    D = PatchDiscriminator(width=8)
    logits = D(torch.randn(3, 1, 32, 32), torch.randn(3, 1, 32, 32))
    assert logits.shape == (3, 1, 14, 14)
    with pytest.raises(ValueError, match="expected input and output with 2 channels together, got 1 \\+ 3"):
        D(torch.randn(1, 1, 32, 32), torch.randn(1, 3, 32, 32))


def test_receptive_fields_match_the_paper_and_a_gradient_probe():
    assert receptive_field(conv_layers(PatchDiscriminator(n_layers=3))) == 70  # pix2pix's 70x70 PatchGAN
    D = PatchDiscriminator(width=4).eval()
    assert receptive_field(conv_layers(D)) == 16
    x = torch.zeros(1, 1, 32, 32)
    y = torch.zeros(1, 1, 32, 32, requires_grad=True)
    D(x, y)[0, 0, 7, 7].backward()  # which input pixels move one logit?
    rows, cols = y.grad[0, 0].abs().sum(1).nonzero(), y.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 <= 16 and cols.max() - cols.min() + 1 <= 16


def test_losses_match_their_formulas():
    r, f = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    expected = 0.5 * (-F.logsigmoid(r).mean() - F.logsigmoid(-f).mean())
    assert torch.allclose(pix2pix_discriminator_loss(r, f), expected, atol=1e-6)
    fake, target = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    l1 = (fake - target).abs().mean()
    assert torch.allclose(pix2pix_generator_loss(f, fake, target, 100.0), -F.logsigmoid(f).mean() + 100 * l1)
    assert torch.allclose(pix2pix_generator_loss(None, fake, target, 100.0), 100 * l1)  # L1 only


def test_pairs_are_built_once_and_cached(tmp_path):
    pairs = pix2pix.load_pairs("mnist", "test", "edges", cache_dir=tmp_path)
    assert pairs.inputs.shape[1:] == (1, 32, 32) and pairs.targets.shape == pairs.inputs.shape
    assert set(pairs.inputs.unique().tolist()) <= {-1.0, 1.0} and pairs.targets[0, 0, 0, 0] == -1
    cached = list(tmp_path.glob("pairs_mnist_edges_test_*.pt"))
    assert len(cached) == 1
    again = pix2pix.load_pairs("mnist", "test", "edges", cache_dir=tmp_path)
    assert torch.equal(again.inputs, pairs.inputs)
    low = pix2pix.load_pairs("mnist", "test", "lowres", cache_dir=tmp_path)
    assert torch.equal(low.inputs[:, :, :4, :4], low.inputs[:, :, :1, :1].expand(-1, -1, 4, 4))
    with pytest.raises(ValueError, match="unknown pix2pix task 'colour'"):
        pix2pix.load_pairs("mnist", "test", "colour", cache_dir=tmp_path)


@pytest.mark.parametrize("variant", [dict(), dict(adversarial=False), dict(lambda_l1=0.0)])
def test_every_variant_trains(variant):
    torch.manual_seed(0)
    G, D = build_models("pix2pix", width=8)
    targets = torch.rand(32, 1, 32, 32) * 2 - 1
    batches = Batches(targets, pix2pix.edges(targets), 8)  # (target, input) pairs
    before = [p.clone() for p in G.parameters()]
    history = train_gan(G, D, batches, small_cfg(num_steps=3), progress=False, **pix2pix.make_steps(**variant))
    assert len(history) == 3 and all(np.isfinite(r["l1"]) for r in history)
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
    scores = pix2pix.image_scores(pix2pix.translate(G, pix2pix.edges(targets[:4])), targets[:4])
    assert set(scores) == {"l1", "psnr", "ssim"} and 0 <= scores["l1"] <= 2


def test_translate_switches_dropout_off_unless_asked():
    torch.manual_seed(0)
    G = UNetGenerator(width=8).train()
    G(torch.randn(16, 1, 32, 32))  # BatchNorm running statistics away from their start
    x = torch.randn(6, 1, 32, 32)
    fixed = pix2pix.translate(G, x)
    assert torch.equal(fixed, pix2pix.translate(G, x, batch_size=4)) and G.training  # mode restored
    drawn = pix2pix.translate(G, x, dropout=True, seed=1)
    assert torch.equal(drawn, pix2pix.translate(G, x, dropout=True, seed=1))  # a seed repeats a draw
    assert not torch.equal(drawn, pix2pix.translate(G, x, dropout=True, seed=2))
    assert not torch.equal(drawn, fixed)
    state = torch.random.get_rng_state()
    pix2pix.translate(G, x, dropout=True, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())  # a seeded draw leaves the global state alone
    unseeded = pix2pix.translate(G, x, dropout=True), pix2pix.translate(G, x, dropout=True)
    assert not torch.equal(*unseeded)  # without a seed, each call draws anew
    # BatchNorm stays on its running statistics: one input alone gives the batch's output for it
    assert torch.allclose(pix2pix.translate(G, x[:1])[0], fixed[0], atol=1e-6)


def test_config_summary_lists_what_pix2pix_reads():
    summary = pix2pix.config_summary(small_cfg(model="pix2pix", lambda_l1=0.0))
    assert "lambda_l1=0.0" in summary and "adversarial=True" in summary and "task='edges'" in summary
    assert "latent_dim" not in summary and "penalty" not in summary and "loss=" not in summary


def test_image_scores_of_identical_images():
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    scores = pix2pix.image_scores(x, x)
    assert scores["l1"] == 0 and scores["ssim"] == pytest.approx(1.0, abs=1e-4) and scores["psnr"] > 60


def test_facades_offline_explains_what_to_do(tmp_path):
    with pytest.raises(DataError, match="facades dataset is not in .*offline.*efrosgans.*load_pairs"):
        load_facades("train", root=tmp_path)
    with pytest.raises(DataError, match="unknown facades split 'dev'"):
        load_facades("dev", root=tmp_path)
    (tmp_path / "facades" / "val").mkdir(parents=True)
    with pytest.raises(DataError, match="has 0 images, expected 100"):
        load_facades("val", root=tmp_path)


def test_facades_split_into_label_maps_and_photos(tmp_path):
    folder = tmp_path / "facades" / "val"
    folder.mkdir(parents=True)
    pixels = np.zeros((256, 512, 3), np.uint8)
    pixels[:, 256:] = 255  # label map (right half) white, photo (left) black
    for i in range(1, 101):
        Image.fromarray(pixels).save(folder / f"{i}.jpg")
    pairs = load_facades("val", root=tmp_path, size=64)
    assert pairs.inputs.shape == pairs.targets.shape == (100, 3, 64, 64) and pairs.name == "facades val"
    assert pairs.inputs.mean() > 0.9 and pairs.targets.mean() < -0.9  # inputs: label maps; targets: photos
    Image.fromarray(pixels[:, :300]).save(folder / "100.jpg")
    with pytest.raises(DataError, match="100.jpg is 300x256 pixels, expected 512x256"):
        load_facades("val", root=tmp_path)


def test_cli_train_pix2pix_then_translate(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "pix2pix", "--dataset", "mnist", "--task", "lowres", "--profile", "quick",
                 "--steps", "3", "--out", str(run)]) == 0
    assert (run / "samples.png").is_file() and (run / "checkpoint.pt").is_file()
    np.savez(tmp_path / "in.npz", images=np.zeros((5, 28, 28), np.uint8))
    assert main(["translate", str(run), "--input", str(tmp_path / "in.npz"), "--out", str(tmp_path / "o.npz")]) == 0
    with np.load(tmp_path / "o.npz") as f:
        assert f["images"].shape == (5, 28, 28) and f["images"].dtype == np.uint8
        fixed = f["images"]
    assert "dropout off" in capsys.readouterr().out
    draws = []
    for seed in ("1", "1", "2"):
        assert main(["translate", str(run), "--input", str(tmp_path / "in.npz"), "--out", str(tmp_path / "d.npz"),
                     "--dropout", "--seed", seed]) == 0
        with np.load(tmp_path / "d.npz") as f:
            draws.append(f["images"])
    assert "dropout on (seed 2)" in capsys.readouterr().out
    assert np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
    assert not np.array_equal(draws[0], fixed)
    np.savez(tmp_path / "bad.npz", images=np.zeros((5, 20, 20), np.uint8))
    assert main(["translate", str(run), "--input", str(tmp_path / "bad.npz"), "--out", "x.npz"]) == 2
    assert "expected uint8 images of shape (N, 28, 28) or (N, 32, 32)" in capsys.readouterr().err
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "s.npz")]) == 2
    assert "use translate" in capsys.readouterr().err
    for out, message in ((tmp_path / "in.npz" / "o.npz", "is an existing file"), (tmp_path, "is a directory"),
                         (tmp_path / "in.npz", "is this command's input")):
        assert main(["translate", str(run), "--input", str(tmp_path / "in.npz"), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err, err
