"""Stacked MNIST: its batches, its mode count, and the DCGAN family in 3 channels with PacGAN's packs."""
import math

import pytest
import torch
from torch import nn

from gancourse.config import make_config
from gancourse.models import build_models
from gancourse.models.dcgan import DCGANDiscriminator
from gancourse.models.packing import PackedPenalty, pack_samples
from gancourse.runs import sample
from gancourse.stacked import (N_MODES, StackedBatches, count_modes, mode_histogram, mode_ids, read_modes,
                               stack_digits, train_stacked)
from gancourse.train import family_steps


def coded_digits(n: int = 50):
    """Images whose every pixel holds the image's own index (so a stack tells which it took)."""
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 28, 28).clone()
    return images, torch.arange(n) % 10


def test_a_batch_stacks_three_training_digits_and_names_their_mode():
    images, labels = coded_digits()
    x, modes = StackedBatches(images, labels, batch_size=16, seed=3)(7)
    assert x.shape == (16, 3, 28, 28) and modes.shape == (16,)
    picked = x[:, :, 0, 0].long()  # (16, 3): which image each channel came from
    assert torch.equal(x, images[picked].flatten(1, 2))
    assert torch.equal(modes, labels[picked[:, 0]] * 100 + labels[picked[:, 1]] * 10 + labels[picked[:, 2]])


def test_batches_are_a_pure_function_of_the_step_and_the_seed():
    images, labels = coded_digits()
    a, b = StackedBatches(images, labels, 32, seed=1), StackedBatches(images, labels, 32, seed=1)
    first = a(5)[0]
    a(6)
    assert torch.equal(first, b(5)[0]) and torch.equal(first, a(5)[0])
    assert not torch.equal(first, a(6)[0]) and not torch.equal(first, StackedBatches(images, labels, 32, seed=2)(5)[0])


def test_batches_refuse_colour_images_and_missing_labels():
    with pytest.raises(ValueError, match=r"single-channel images \(N, 1, H, W\)"):
        StackedBatches(torch.zeros(4, 3, 28, 28), torch.zeros(4))
    with pytest.raises(ValueError, match="one label per image"):
        StackedBatches(torch.zeros(4, 1, 28, 28), torch.zeros(3))


def test_mode_numbers_put_the_red_digit_first():
    assert mode_ids(torch.tensor([[1, 2, 3], [0, 0, 7], [9, 9, 9]])).tolist() == [123, 7, 999]
    on_meta = mode_ids(torch.zeros(4, 3, dtype=torch.long, device="meta"))  # any device, as on a GPU
    assert on_meta.device.type == "meta" and on_meta.shape == (4,)


def test_the_histogram_counts_modes_and_measures_kl_from_uniform():
    every = mode_histogram(torch.arange(N_MODES).repeat(3))
    assert every.modes == 1000 and every.kl == pytest.approx(0.0, abs=1e-12)
    one = mode_histogram(torch.full((500,), 42))
    assert one.modes == 1 and one.kl == pytest.approx(math.log(1000))
    half = mode_histogram(torch.arange(0, N_MODES, 2))  # 500 modes, each once
    assert half.modes == 500 and half.kl == pytest.approx(math.log(2))
    skew = mode_histogram(torch.tensor([0, 0, 0, 1]))
    assert skew.kl == pytest.approx(0.75 * math.log(750) + 0.25 * math.log(250))
    assert str(half) == "500 of 1000 modes, KL 0.69" and int(half.counts.sum()) == 500


class LevelReader(nn.Module):
    """A stand-in MNIST classifier: reads digit d from an image filled with the value d / 10."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        level = x.mean((1, 2, 3)) * 10  # (B,)
        return -(level[:, None] - torch.arange(10.0)) ** 2 + self.dummy


def test_count_modes_reads_each_channel_in_order():
    digits = torch.tensor([[1, 2, 3], [1, 2, 3], [3, 2, 1], [0, 0, 0]])
    images = (digits.float() / 10).view(4, 3, 1, 1).expand(4, 3, 28, 28)
    found = count_modes(LevelReader(), images)
    assert found.modes == 3 and found.counts[123] == 2 and found.counts[321] == 1 and found.counts[0] == 1
    assert read_modes(LevelReader(), images).tolist() == [123, 123, 321, 0]
    with pytest.raises(ValueError, match=r"stacked images \(N, 3, 28, 28\)"):
        count_modes(LevelReader(), torch.zeros(4, 1, 28, 28))


def test_stack_digits_returns_a_fixed_set_with_its_modes():
    images, labels = coded_digits()
    x, modes = stack_digits(images, labels, 40, seed=0)
    assert x.shape == (40, 3, 28, 28) and torch.equal(x, stack_digits(images, labels, 40, seed=0)[0])
    assert torch.equal(modes, mode_ids(labels[x[:, :, 0, 0].long()]))


# --- the DCGAN family in colour, packed ---------------------------------------------------------------
def test_dcgan_makes_and_judges_three_channel_images():
    G, D = build_models("dcgan", latent_dim=8, width=16, channels=3, d_width=16)
    x = G(torch.randn(6, 8))
    assert x.shape == (6, 3, 28, 28) and D(x).shape == (6,)
    with pytest.raises(ValueError, match=r"\(B, 3, 28, 28\)"):
        D(torch.zeros(6, 1, 28, 28))


def test_dcgan_d_still_takes_in_channels_the_name_lecture_4_uses():
    D = DCGANDiscriminator(16, in_channels=2)
    assert D.image_shape == (2, 28, 28) and D(torch.zeros(4, 2, 28, 28)).shape == (4,)


def test_a_packed_dcgan_d_gives_one_logit_per_pack_of_consecutive_images():
    torch.manual_seed(0)
    D = DCGANDiscriminator(width=16, channels=3, pack=2, dropout=0.0).eval()
    x = torch.randn(6, 3, 28, 28)
    assert D(x).shape == (3,)
    together = torch.cat([x[0::2], x[1::2]], dim=1)  # (3, 6, 28, 28): images 0+1, 2+3, 4+5
    assert torch.equal(pack_samples(x, 2), together)
    assert torch.allclose(D(x), D.forward_packed(together))
    swapped = x[[1, 0, 2, 3, 4, 5]]  # the order inside a pack matters to D; other packs are unchanged
    assert torch.allclose(D(swapped)[1:], D(x)[1:]) and not torch.allclose(D(swapped)[0], D(x)[0])
    with pytest.raises(ValueError, match="divisible by pack"):
        D(torch.randn(5, 3, 28, 28))
    with pytest.raises(ValueError, match="cannot also classify"):
        DCGANDiscriminator(width=16, outputs=11, pack=2)


def test_a_packed_dcgan_takes_its_penalty_per_pack_and_refuses_a_batch_it_cannot_pack():
    steps = family_steps(make_config("dcgan", "quick", loss="wgan-gp", pack=2))
    assert steps["d_step"].keywords["penalty"] == PackedPenalty("gp")
    with pytest.raises(ValueError, match="batch_size 32 is not divisible by pack=3"):
        family_steps(make_config("dcgan", "quick", pack=3))


def test_the_quick_recipe_trains_a_packed_three_channel_gan_and_resumes(tmp_path):
    G, history, cfg = train_stacked("quick", seed=0, pack=2, progress=False, run_dir=tmp_path)
    assert cfg.model_kwargs["channels"] == 3 and cfg.model_kwargs["pack"] == 2 and len(history) == cfg.num_steps
    assert all(math.isfinite(v) for row in history for v in row.values())
    images = sample(G, 8)
    assert images.shape == (8, 3, 28, 28) and images.abs().max() <= 1
    assert (tmp_path / "checkpoint.pt").is_file()
    again, _, _ = train_stacked("quick", seed=0, pack=2, progress=False, run_dir=tmp_path, num_steps=12)
    fresh, _, _ = train_stacked("quick", seed=0, pack=2, progress=False, num_steps=12)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), fresh.state_dict().values()))
