"""Students' self-checks: fixed tensors, stand-in networks, no training; each runs in milliseconds.

Every ``check_*`` prints ``[PASS] ...`` or ``[FAIL] <what is wrong> - hint: ...`` and returns a bool;
code still raising its exercise's ``NotImplementedError`` fails and re-raises it, so running an
untouched exercise notebook stops at the first exercise.
Where a wrong answer is a common one (sign flipped, labels swapped, sum instead of mean, ...), the
message names it. tests/test_checks.py feeds each check its catalogue of wrong answers.
"""
from gancourse.checks.conditional import (check_acgan_losses, check_cgan_discriminator_loss,
                                         check_mismatched_labels, check_upsample_block)
from gancourse.checks.gan import (check_discriminator_loss, check_discriminator_step,
                                 check_generator_loss_nonsaturating, check_mlp_generator,
                                 check_saturation_gradients)
from gancourse.checks.gain import check_gain_discriminator_loss, check_gain_generator_loss, check_gain_hint
from gancourse.checks.metrics import check_frechet_distance, check_parzen_log_likelihood
from gancourse.checks.pix2pix import check_pix2pix_generator_loss, check_receptive_field, check_unet_skip_block

__all__ = ["check_acgan_losses", "check_cgan_discriminator_loss", "check_discriminator_loss",
           "check_discriminator_step", "check_frechet_distance", "check_gain_discriminator_loss",
           "check_gain_generator_loss", "check_gain_hint", "check_generator_loss_nonsaturating",
           "check_mismatched_labels", "check_mlp_generator", "check_parzen_log_likelihood",
           "check_pix2pix_generator_loss", "check_receptive_field", "check_saturation_gradients",
           "check_unet_skip_block", "check_upsample_block"]
