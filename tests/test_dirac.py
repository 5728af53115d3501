"""Dirac-GAN: unregularised losses circle the equilibrium, R1 and instance noise reach it."""
import pytest

from gancourse.dirac import dirac_gan, distance


@pytest.mark.parametrize("alternating", [False, True])
def test_r1_converges_where_the_plain_loss_circles(alternating):
    plain = dirac_gan("non-saturating", steps=300, alternating=alternating)
    r1 = dirac_gan("non-saturating", penalty="r1", weight=0.3, steps=300, alternating=alternating)
    assert plain.shape == (301, 2) and tuple(plain[0].tolist()) == (1.0, 1.0)
    assert distance(plain) > 0.3 and distance(r1) < 0.05


def test_clipping_bounds_the_critic_and_noise_helps():
    path = dirac_gan("wgan", clip=0.5, steps=100)
    assert path[1:, 1].abs().max() <= 0.5 + 1e-12  # from the first update on (it starts at 1)
    assert distance(dirac_gan("non-saturating", instance_noise=0.7, steps=300)) < distance(
        dirac_gan("non-saturating", steps=300))
