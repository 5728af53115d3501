"""Losses against their closed forms (float64, no logits tricks) and torch.autograd."""
import pytest
import torch

from gancourse.losses import (discriminator_loss, generator_loss_minimax,
                              generator_loss_nonsaturating, get_g_loss)

LOGITS = torch.tensor([-6.0, -2.0, -0.5, 0.0, 0.7, 3.0], dtype=torch.float64)


def test_discriminator_loss_is_the_negated_value_function():
    real, fake = LOGITS, LOGITS.flip(0) * 0.5
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-12)


def test_generator_losses_closed_forms():
    d_fake = torch.sigmoid(LOGITS)
    assert generator_loss_minimax(LOGITS).item() == pytest.approx(torch.log(1 - d_fake).mean().item())
    assert generator_loss_nonsaturating(LOGITS).item() == pytest.approx(-torch.log(d_fake).mean().item())


def test_generator_gradients_against_autograd():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l);  d/dl -log sigmoid(l) = -(1 - sigmoid(l))
    n, s = len(LOGITS), torch.sigmoid(LOGITS)
    for loss, expected in ((generator_loss_minimax, -s / n), (generator_loss_nonsaturating, -(1 - s) / n)):
        logits = LOGITS.clone().requires_grad_(True)
        loss(logits).backward()
        torch.testing.assert_close(logits.grad, expected)


def test_saturation_minimax_gradient_vanishes_where_nonsaturating_does_not():
    confident_reject = torch.tensor([-10.0], requires_grad=True)  # D(G(z)) = 4.5e-5
    generator_loss_minimax(confident_reject).backward()
    minimax_grad = confident_reject.grad.abs().item()
    confident_reject.grad = None
    generator_loss_nonsaturating(confident_reject).backward()
    assert minimax_grad < 1e-4 < 0.99 < confident_reject.grad.abs().item()


def test_extreme_logits_stay_finite():
    extreme = torch.tensor([-200.0, 200.0])
    for value in (discriminator_loss(extreme, extreme), generator_loss_minimax(extreme),
                  generator_loss_nonsaturating(extreme)):
        assert torch.isfinite(value)


def test_get_g_loss():
    assert get_g_loss("minimax") is generator_loss_minimax
    with pytest.raises(ValueError, match="unknown loss .*; choose one of non-saturating, minimax, lsgan"):
        get_g_loss("wasserstein")
