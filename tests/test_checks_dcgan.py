"""Lecture 3's self-checks: the transposed-conv block, the DCGAN discriminator, the initialisation."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from gancourse.models.dcgan import init_dcgan_weights
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- the transposed-conv block ------------------------------------------------------------
def up(kernel=4, stride=2, padding=1, output_padding=0, bn=True, act=nn.ReLU, out=None, order="cba"):
    def make(c_in, c_out):
        c = out(c_in, c_out) if callable(out) else c_out
        parts = {"c": nn.ConvTranspose2d(c_in, c, kernel, stride, padding, output_padding),
                 "b": nn.BatchNorm2d(c) if bn else None, "a": act() if act else None}
        return nn.Sequential(*(parts[k] for k in order if parts[k] is not None))
    return make


class CustomUp(nn.Module):
    """A correct answer as a custom module with functional calls, or a wrong variant."""

    def __init__(self, c_in, c_out, call_bn=True, detach=False):
        super().__init__()
        self.conv, self.bn = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out)
        self.call_bn, self.detach = call_bn, detach

    def forward(self, x):
        h = self.conv(x)
        return F.relu(self.bn(h) if self.call_bn else h)


class ModeSwitch(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.net = up()(c_in, c_out)

    def forward(self, x):
        self.eval()
        return self.net(x)


UP_WRONG = {
    "kernel 3 without output_padding": Wrong(up(kernel=3), "choose them so that the terms after 2H cancel", "shapes"),
    "stride 1": Wrong(up(stride=1), "with stride 2", "shapes"),
    "no padding": Wrong(up(padding=0), "with stride 2", "shapes"),
    "padding 2": Wrong(up(padding=2), "with stride 2", "shapes"),
    "kernel 4 with output_padding": Wrong(up(output_padding=1), "with stride 2", "shapes"),
    "fixed 3 channels": Wrong(up(out=lambda i, o: 3), "from c_in to c_out channels", "shapes"),
    "c_in // 2 channels": Wrong(up(out=lambda i, o: i // 2), "from c_in to c_out channels", "shapes"),
    "no BatchNorm": Wrong(up(bn=False), "BatchNorm2d(c_out) right after", "trace"),
    "BatchNorm defined, never called": Wrong(lambda i, o: CustomUp(i, o, call_bn=False), "counts only if forward runs it", "trace"),
    "activation before BatchNorm": Wrong(up(order="cab"), "BatchNorm2d(c_out) right after", "trace"),
    "no activation": Wrong(up(act=None), "end the block with a ReLU", "trace"),
    "tanh activation": Wrong(up(act=nn.Tanh), "end the block with a ReLU", "trace"),
    "upsample + conv instead": Wrong(lambda c_in, c_out: nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1),
                                                                       nn.BatchNorm2d(c_out), nn.ReLU()), "ConvTranspose2d", "trace"),
    "switches itself to eval": Wrong(ModeSwitch, "left in eval mode", "state"),
    "shares one block for every size": Wrong(lambda i, o, _cache={}: _cache.setdefault("b", up()(128, 64)), "input", "shapes"),
    "changes the input in place": Wrong(lambda i, o: nn.Sequential(nn.ReLU(inplace=True), *up()(i, o)), "changed its input in place", "state"),
    "returns a list of layers": Wrong(lambda i, o: [nn.ConvTranspose2d(i, o, 4, 2, 1)], "return an nn.Module", "crash"),
    "returns the class": Wrong(lambda i, o: nn.Sequential, "return an nn.Module", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
    "LeakyReLU (the discriminator's)": Wrong(up(act=lambda: nn.LeakyReLU(0.2)), "DCGAN's generator uses ReLU", "trace"),
    "BatchNorm eps 0.8": Wrong(lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o, 0.8), nn.ReLU()),
                               "sets eps, not momentum", "trace"),
    "BatchNorm without affine": Wrong(lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1),
                                                                 nn.BatchNorm2d(o, affine=False), nn.ReLU()), "affine=False", "trace"),
}
UP_RIGHT = {"k4 s2 p1": up(), "k3 s2 p1 op1": up(kernel=3, output_padding=1), "custom module, F.relu": CustomUp,
            "k2 s2 p0": up(kernel=2, padding=0),
            "k6 s2 p2": up(kernel=6, padding=2), "in-place ReLU": up(act=lambda: nn.ReLU(inplace=True))}


@pytest.mark.parametrize("case", list(UP_RIGHT))
def test_upsample_block_accepts(case, capsys):
    assert_passes(checks.check_upsample_block, UP_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(UP_WRONG))
def test_upsample_block_rejects(case, capsys):
    assert_rejects(checks.check_upsample_block, UP_WRONG[case], capsys)


# --- the DCGAN discriminator -----------------------------------------------------------------
def disc(flat=lambda s: 128 * (s // 4) ** 2, kernel=4, padding=1, bn_first=False, bn=True, final=None, slope=0.2,
         channels=(64, 128), squeeze=True):
    def make(image_size):
        c1, c2 = channels
        layers = [nn.Conv2d(1, c1, kernel, 2, padding)] + ([nn.BatchNorm2d(c1)] if bn_first else [])
        layers += [nn.LeakyReLU(slope), nn.Conv2d(c1, c2, kernel, 2, padding)] + ([nn.BatchNorm2d(c2)] if bn else [])
        layers += [nn.LeakyReLU(slope), nn.Flatten(), nn.Linear(flat(image_size), 1)] + ([final()] if final else [])
        layers += [nn.Flatten(0)] if squeeze else []
        return nn.Sequential(*layers)
    return make


class FunctionalD(nn.Module):
    def __init__(self, image_size):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1, bias=False)
        self.bn, self.fc = nn.BatchNorm2d(128), nn.Linear(128 * (image_size // 4) ** 2, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), 0.2)
        h = F.leaky_relu(self.bn(self.c2(h)), 0.2)
        return self.fc(h.flatten(1)).squeeze(1)


class EvalD(FunctionalD):
    def forward(self, x):
        self.eval()
        return super().forward(x)


DISC_WRONG = {
    "flat size for 28 only": Wrong(disc(flat=lambda s: 128 * 7 * 7), "work out the flattened size", "shapes"),
    "flat size forgets channels": Wrong(disc(flat=lambda s: (s // 4) ** 2), "work out the flattened size", "shapes"),
    "flat size squares the wrong thing": Wrong(disc(flat=lambda s: 128 * s // 4), "work out the flattened size", "shapes"),
    "sigmoid output": Wrong(disc(final=nn.Sigmoid), "return logits", "trace"),
    "BatchNorm on the first layer": Wrong(disc(bn_first=True), "no BatchNorm on the first layer", "trace"),
    "no BatchNorm": Wrong(disc(bn=False), "expected conv", "trace"),
    "ReLU slope 0.01": Wrong(disc(slope=0.01), "slope is not 0.2", "trace"),
    "channels 32 -> 64": Wrong(disc(channels=(32, 64), flat=lambda s: 64 * (s // 4) ** 2), "1 -> 64 -> 128", "shapes"),
    "(B, 1) is fine but (B, 1, 1) is not": Wrong(lambda s: nn.Sequential(disc(squeeze=False)(s), nn.Unflatten(1, (1, 1))),
                                                 "one logit per image", "shapes"),
    "switches itself to eval": Wrong(lambda s: EvalD(s), "left in eval mode", "state"),
    "ReLU in place on the input": Wrong(lambda s: nn.Sequential(nn.LeakyReLU(0.2, inplace=True), *disc()(s)), "changed the images in place",
                                        "state"),
    "returns an int": Wrong(lambda s: 128 * (s // 4) ** 2, "return an nn.Module", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
DISC_RIGHT = {"Sequential": disc(), "functional": FunctionalD, "(B, 1) logits": disc(squeeze=False),
              "flat size by formula (s - 4 + 2) // 2 + 1": disc(flat=lambda s: 128 * (((s - 2) // 2 + 1 - 2) // 2 + 1) ** 2)}


@pytest.mark.parametrize("case", list(DISC_RIGHT))
def test_dcgan_discriminator_accepts(case, capsys):
    assert_passes(checks.check_dcgan_discriminator, DISC_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(DISC_WRONG))
def test_dcgan_discriminator_rejects(case, capsys):
    assert_rejects(checks.check_dcgan_discriminator, DISC_WRONG[case], capsys)


# --- DCGAN initialisation ---------------------------------------------------------------------
CONVS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def init(kinds=CONVS, std=0.02, bn_mean=1.0, zero_bias=True, draw="normal", norms=NORMS):
    def init_weights(m):
        if isinstance(m, kinds):
            if draw == "normal":
                nn.init.normal_(m.weight, 0.0, std)
            else:
                nn.init.uniform_(m.weight, -std * 3 ** 0.5, std * 3 ** 0.5)
            if zero_bias and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, norms):
            nn.init.normal_(m.weight, bn_mean, 0.02)
            nn.init.zeros_(m.bias)
    return init_weights


def init_no_bias_check(m):
    if isinstance(m, CONVS):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)


def init_new_parameter(m):
    if isinstance(m, CONVS):
        m.weight = nn.Parameter(torch.randn_like(m.weight) * 0.02)


def init_data_float32(m):
    if isinstance(m, CONVS + NORMS):
        m.weight.data = torch.randn(m.weight.shape) * 0.02 + (1.0 if isinstance(m, NORMS) else 0.0)
        if m.bias is not None:
            m.bias.data = torch.zeros(m.bias.shape)


def init_with_data(m):
    """A correct answer through .data on the weights' own dtype."""
    if isinstance(m, CONVS):
        m.weight.data.normal_(0.0, 0.02)
        if m.bias is not None:
            m.bias.data.fill_(0)
    elif isinstance(m, NORMS):
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


def init_by_class_name(m):
    """A correct answer in the style of PyTorch's DCGAN example."""
    name = m.__class__.__name__
    if "Conv" in name or "Linear" in name:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias.data, 0)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def init_freezing(m):
    init()(m)
    for p in m.parameters(recurse=False):
        p.requires_grad_(False)


INIT_WRONG = {
    "std 0.2": Wrong(init(std=0.2), "standard deviation", "distribution"),
    "variance 0.02": Wrong(init(std=0.02 ** 0.5), "0.02 is the standard deviation", "distribution"),
    "uniform": Wrong(init(draw="uniform"), "not a uniform one", "distribution"),
    "BatchNorm centred on 0": Wrong(init(bn_mean=0.0), "centred on 1", "distribution"),
    "only Conv2d": Wrong(init(kinds=nn.Conv2d), "left as PyTorch made them", "value"),
    "BatchNorm2d only": Wrong(init(norms=nn.BatchNorm2d), "left as PyTorch made them", "value"),
    "biases kept": Wrong(init(zero_bias=False), "biases are not zero", "value"),
    "crashes on bias=False": Wrong(init_no_bias_check, "raised AttributeError", "crash"),
    "new Parameter objects": Wrong(init_new_parameter, "new Parameter objects", "state"),
    "float32 data": Wrong(init_data_float32, "float32 weights", "device"),
    "torch.normal into .data": Wrong(lambda m: init_data_float32(m) if isinstance(m, NORMS) else init()(m), "float32 weights", "device"),
    "freezes the weights": Wrong(init_freezing, "requires_grad", "state"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
INIT_RIGHT = {"the package's": init_dcgan_weights, "nn.init": init(), "via .data": init_with_data,
              "by class name": init_by_class_name}


@pytest.mark.parametrize("case", [c for c in INIT_RIGHT if c != "the package's"])
def test_dcgan_init_accepts(case, capsys):
    assert_passes(checks.check_dcgan_init, INIT_RIGHT[case], capsys)


def test_dcgan_init_package_covers_batchnorm2d_only(capsys):
    assert not checks.check_dcgan_init(init_dcgan_weights)  # it leaves BatchNorm1d alone: no 1d layers in DCGAN
    assert "BatchNorm1d" in capsys.readouterr().out


@pytest.mark.parametrize("case", list(INIT_WRONG))
def test_dcgan_init_rejects(case, capsys):
    assert_rejects(checks.check_dcgan_init, INIT_WRONG[case], capsys)


@pytest.mark.parametrize("seed", range(20))
def test_dcgan_init_distribution_test_is_reliable(seed):
    """A correct initialisation passes the 5-sigma bounds whatever the seed."""
    from gancourse.checks.dcgan import _init_probe_net, _normal_problem
    torch.manual_seed(seed)
    net = _init_probe_net().apply(init())
    for m in net:
        if isinstance(m, CONVS + NORMS):
            assert _normal_problem(m.weight, 1.0 if isinstance(m, NORMS) else 0.0, 0.02) is None
