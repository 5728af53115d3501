"""Wrong answers from a third, independent tester, and the correct one that the checks used to refuse.

Each wrong answer here passed a check before: a BatchNorm computed and thrown away, an operation slipped
in between the layers, BatchNorm without running statistics, a step that ignores its loss or switches D
to eval mode, tensors made on the CPU, a one-sided or non-random gradient penalty, class targets sized
by the labels that happen to be in the batch, an initialisation that also rewrites BatchNorm's buffers.
"""
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from tests.check_answers import Wrong, assert_passes, assert_rejects

bce = F.binary_cross_entropy_with_logits


class _MLP(nn.Module):
    """The lecture's MLP generator with explicit layers; ``forward`` is what each variant changes."""

    def __init__(self, latent_dim=100):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1, self.fc2, self.fc3, self.fc4 = (nn.Linear(latent_dim, 128), nn.Linear(128, 256),
                                                  nn.Linear(256, 512), nn.Linear(512, 1024))
        self.bn2, self.bn3, self.bn4 = nn.BatchNorm1d(256), nn.BatchNorm1d(512), nn.BatchNorm1d(1024)
        self.out = nn.Linear(1024, 784)

    def body(self, z, act=lambda h: F.leaky_relu(h, 0.2), first=lambda h: h, discard=False):
        h = first(act(self.fc1(z)))
        pre = self.fc2(h)
        kept = self.bn2(pre)
        h = act(pre if discard else kept)
        h = act(self.bn3(self.fc3(h)))
        h = act(self.bn4(self.fc4(h)))
        return torch.tanh(self.out(h)).view(-1, 1, 28, 28)

    def forward(self, z):
        return self.body(z)


class HandLeaky(_MLP):
    def forward(self, z):
        return self.body(z, act=lambda h: torch.where(h > 0, h, 0.2 * h))


class DiscardBN(_MLP):
    def forward(self, z):
        return self.body(z, discard=True)


class NormalisedZ(_MLP):
    def forward(self, z):
        return self.body(F.normalize(z, dim=1))


class ExtraNoise(_MLP):
    def forward(self, z):
        return self.body(z, first=lambda h: h + 0.5 * torch.randn_like(h))


class Abs(_MLP):
    def forward(self, z):
        return self.body(z, first=lambda h: h.abs())


class FixedLatent(_MLP):
    def __init__(self, latent_dim=100):
        super().__init__(latent_dim)
        self.latent_dim = 100


class NoRunningStats(_MLP):
    def __init__(self, latent_dim=100):
        super().__init__(latent_dim)
        self.bn2, self.bn3, self.bn4 = (nn.BatchNorm1d(n, track_running_stats=False) for n in (256, 512, 1024))


class TrainsItself(_MLP):
    """Calls self.train() in forward: sampling in eval mode would use each batch's own statistics."""

    def forward(self, z):
        self.train()
        return self.body(z)


def test_a_hand_written_leaky_relu_is_a_correct_generator(capsys):
    assert_passes(checks.check_mlp_generator, HandLeaky(), capsys)


def test_mlp_generators_that_compute_something_else_are_refused(capsys):
    for G, message, kind in ((DiscardBN(), "not what its own layers give", "trace"),
                             (NormalisedZ(), "not what its own layers give", "trace"),
                             (ExtraNoise(), "not what its own layers give", "trace"),
                             (Abs(), "not what its own layers give", "trace"),
                             (FixedLatent(), "latent_dim=64).latent_dim is 100", "shapes"),
                             (NoRunningStats(), "no running statistics", "state"),
                             (TrainsItself(), "out of eval mode", "state")):
        assert_rejects(checks.check_mlp_generator, Wrong(G, message, kind), capsys)


class _Up(nn.Module):
    def __init__(self, c_in, c_out, discard=False, by_hand=False):
        super().__init__()
        self.conv, self.bn = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out)
        self.discard, self.by_hand = discard, by_hand

    def forward(self, x):
        h = self.conv(x)
        y = self.bn(h)
        out = h if self.discard else y
        return out.clamp(min=0) if self.by_hand else F.relu(out)


def test_upsample_blocks(capsys):
    assert_passes(checks.check_upsample_block, lambda i, o: _Up(i, o, by_hand=True), capsys)
    assert_rejects(checks.check_upsample_block, Wrong(lambda i, o: _Up(i, o, discard=True),
                                                      "not ReLU(BatchNorm(conv(x)))", "trace"), capsys)
    no_stats = lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o, track_running_stats=False),
                                          nn.ReLU())
    assert_rejects(checks.check_upsample_block, Wrong(no_stats, "no running statistics", "state"), capsys)


class _D(nn.Module):
    def __init__(self, s, discard=False, no_stats=False):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1)
        self.bn = nn.BatchNorm2d(128, track_running_stats=not no_stats)
        self.fc = nn.Linear(128 * (s // 4) ** 2, 1)
        self.discard = discard

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), 0.2)
        h = self.c2(h)
        y = self.bn(h)
        h = F.leaky_relu(h if self.discard else y, 0.2)
        return self.fc(torch.flatten(h, 1)).view(-1)


def test_dcgan_discriminators(capsys):
    assert_rejects(checks.check_dcgan_discriminator, Wrong(lambda s: _D(s, discard=True),
                                                           "not what its own layers give", "trace"), capsys)
    assert_rejects(checks.check_dcgan_discriminator, Wrong(lambda s: _D(s, no_stats=True),
                                                           "no running statistics", "state"), capsys)


class _Skip(nn.Module):
    def __init__(self, c_in, c_out, discard=False):
        super().__init__()
        self.conv, self.bn = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out)
        self.discard = discard

    def forward(self, x, skip):
        h = self.conv(x)
        y = self.bn(h)
        return torch.cat([F.relu(h if self.discard else y), skip], 1)


def test_unet_skip_block_that_drops_its_batchnorm_is_refused(capsys):
    assert_passes(checks.check_unet_skip_block, lambda i, o: _Skip(i, o), capsys)
    assert_rejects(checks.check_unet_skip_block, Wrong(lambda i, o: _Skip(i, o, discard=True),
                                                       "not ReLU(BatchNorm(transposed conv(x)))", "trace"), capsys)


def _step(z_device=True, loss=None, eval_d=False):
    def d_step(G, D, batch, opt_d, d_loss):
        x_real, _ = batch
        if eval_d:
            D.eval()
        z = torch.randn(len(x_real), G.latent_dim, **({"device": x_real.device} if z_device else {}))
        x_fake = G(z).detach()
        rl, fl = D(x_real), D(x_fake)
        value = (loss or d_loss)(rl, fl)
        opt_d.zero_grad()
        value.backward()
        opt_d.step()
        D.train()
        return {"loss_d": value.item(), "d_real": torch.sigmoid(rl).mean().item(),
                "d_fake": torch.sigmoid(fl).mean().item()}
    return d_step


def test_discriminator_steps(capsys):
    assert_passes(checks.check_discriminator_step, _step(), capsys)
    hard_coded = lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
    for answer, message, kind in ((_step(z_device=False), "created on the CPU", "device"),
                                  (_step(loss=hard_coded), "trained D with BCE although", "value"),
                                  (_step(eval_d=True), "differs from the reference step", "state")):
        assert_rejects(checks.check_discriminator_step, Wrong(answer, message, kind), capsys)


def _gp(eps=lambda x: torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype), one_sided=False):
    def penalty(D, x_real, x_fake):
        e = eps(x_real)
        x_hat = (e * x_real + (1 - e) * x_fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        gap = grad.flatten(1).norm(dim=1) - 1
        return ((F.relu(gap) if one_sided else gap) ** 2).mean()
    return penalty


def test_gradient_penalties(capsys):
    assert_passes(checks.check_gradient_penalty, _gp(), capsys)
    grid = lambda x: torch.linspace(0, 1, len(x), device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)
    for answer, message, kind in (
            (_gp(eps=lambda x: torch.rand(len(x), 1, 1, 1)), "created on the CPU", "device"),
            (_gp(one_sided=True), "below 1 as well as above", "value"),
            (_gp(eps=grid), "used the same eps", "distribution"),
            (_gp(eps=lambda x: torch.rand(len(x), 1, 1, 1, device=x.device).round()), "not spread like U[0, 1]",
             "distribution")):
        assert_rejects(checks.check_gradient_penalty, Wrong(answer, message, kind), capsys)


def test_class_targets_sized_by_the_batch_are_refused(capsys):
    def d_loss(r, rc, f, fc, y, yf):
        return (bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
                + F.cross_entropy(rc, F.one_hot(y).to(rc.dtype)) + F.cross_entropy(fc, F.one_hot(yf).to(fc.dtype)))

    def g_loss(f, fc, yf):
        return bce(f, torch.ones_like(f)) + F.cross_entropy(fc, yf)
    assert_rejects(checks.check_acgan_losses, Wrong((d_loss, g_loss), "D's loss raised RuntimeError", "shapes"), capsys)


def test_an_initialisation_that_rewrites_batchnorm_buffers_is_refused(capsys):
    def init(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
            m.running_var.zero_()
            m.eps = 0.8
    assert_rejects(checks.check_dcgan_init, Wrong(init, "running_var, eps changed", "state"), capsys)


def test_a_verdict_does_not_depend_on_the_callers_random_state(capsys):
    def coin_flip(D, x_real, x_fake):  # right or wrong by the toss of the caller's random state
        return _gp()(D, x_real, x_fake) * (1.0 if torch.rand(()) < 0.5 else 1.5)
    verdicts = set()
    for seed in range(20):
        torch.manual_seed(seed)
        checks.check_gradient_penalty(coin_flip)
        verdicts.add(capsys.readouterr().out)
    assert len(verdicts) == 1, verdicts
