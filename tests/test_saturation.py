"""The visualizer's analytic gradients against torch.autograd, the extremes table, the measurement."""
import pytest
import torch

from gancourse.config import make_config
from gancourse.saturation import (generator_gradients, measure_saturation, plot_saturation,
                                  saturation_table)

D_FAKE = torch.tensor([1e-4, 0.01, 0.1, 0.5, 0.9, 0.999], dtype=torch.float64)


@pytest.mark.parametrize("name,loss_of_d", [
    ("minimax", lambda d: torch.log(1 - d)),
    ("non-saturating", lambda d: -torch.log(d)),
])
def test_analytic_gradients_match_autograd(name, loss_of_d):
    analytic = generator_gradients(D_FAKE)[name]
    d = D_FAKE.clone().requires_grad_(True)
    loss_of_d(d).sum().backward()
    torch.testing.assert_close(analytic["grad_d"], d.grad)
    logits = torch.logit(D_FAKE).requires_grad_(True)
    loss_of_d(torch.sigmoid(logits)).sum().backward()
    torch.testing.assert_close(analytic["grad_logit"], logits.grad)
    torch.testing.assert_close(analytic["loss"], loss_of_d(D_FAKE))


def test_table_says_which_gradient_vanishes():
    rows = {(r["input"], round(r["D"]), r["player"]): r for r in saturation_table()}
    assert rows[("fake G(z)", 0, "G minimax")]["vanishes"]  # the saturation problem
    assert not rows[("fake G(z)", 0, "G non-saturating")]["vanishes"]
    assert rows[("fake G(z)", 1, "G non-saturating")]["vanishes"]  # G already fools D
    assert rows[("fake G(z)", 0, "D")]["vanishes"] and rows[("real x", 1, "D")]["vanishes"]
    assert not rows[("real x", 0, "D")]["vanishes"]


def test_table_sets_the_slides_cost_view_beside_the_gradient_view():
    rows = {(r["input"], round(r["D"]), r["player"]): r for r in saturation_table()}
    saturated = rows[("fake G(z)", 0, "G minimax")]
    assert saturated["off_optimum"] and saturated["vanishes"]  # losing, and no gradient to escape
    assert rows[("fake G(z)", 0, "G non-saturating")]["off_optimum"]  # losing too, but pushed back
    disagree = [key for key, r in rows.items() if r["off_optimum"] == r["vanishes"]]
    assert sorted(disagree) == [("fake G(z)", 0, "G minimax"), ("fake G(z)", 1, "G minimax")]


def test_measurement_shows_the_minimax_stall(tiny_data):
    cfg = make_config("saturation", "quick", num_steps=3)
    results = measure_saturation(tiny_data, cfg, head_start=100, progress=False)
    mm, ns = results["minimax"], results["non-saturating"]
    assert mm["d_fake"].median() < 0.1  # the head-started D rejects the fakes
    torch.testing.assert_close(mm["grad_logit"], -mm["d_fake"])  # measured points lie on the curve
    torch.testing.assert_close(ns["grad_logit"], -(1 - ns["d_fake"]))
    assert mm["history"][0]["grad_norm_g"] * 10 < ns["history"][0]["grad_norm_g"]
    fig = plot_saturation(measured={k: (v["d_fake"], v["grad_logit"]) for k, v in results.items()})
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)


def test_explorer_falls_back_to_a_static_figure(monkeypatch, capsys):
    from gancourse import saturation

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    monkeypatch.setenv("GANCOURSE_NO_WIDGETS", "1")
    saturation.show_saturation_explorer()
    assert len(shown) == 1 and shown[0].axes[0].get_title() == "Generator losses"
    monkeypatch.delenv("GANCOURSE_NO_WIDGETS")
    monkeypatch.setitem(__import__("sys").modules, "ipywidgets", None)  # not installed
    saturation.show_saturation_explorer()
    assert len(shown) == 2 and "static figure above is the whole explorer" in capsys.readouterr().out


def test_zoo_generator_gradients_match_their_derivatives():
    from gancourse.saturation import plot_zoo_gradients, zoo_generator_gradients
    o = torch.linspace(-6, 6, 13, dtype=torch.float64)
    g = zoo_generator_gradients(o)
    assert torch.allclose(g["non-saturating"], -(1 - torch.sigmoid(o)))
    assert torch.allclose(g["minimax"], -torch.sigmoid(o))
    assert torch.allclose(g["lsgan"], 2 * (o - 1))
    assert torch.allclose(g["wgan"], -torch.ones_like(o)) and torch.allclose(g["hinge"], g["wgan"])
    plot_zoo_gradients()


def test_zoo_explorer_marks_each_gradient_and_falls_back_to_a_static_figure(monkeypatch, capsys):
    from gancourse import saturation

    fig = saturation.plot_zoo_gradients(("minimax", "lsgan"), marker=-3.0)
    dots = [line for line in fig.axes[0].lines if line.get_marker() == "o"]
    heights = [float(d.get_ydata()[0]) for d in dots]  # minimax's |-sigmoid(o)|, LSGAN's |2 (o - 1)|
    assert heights == pytest.approx([torch.sigmoid(torch.tensor(-3.0)).item(), 8.0], rel=1e-6)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    monkeypatch.setenv("GANCOURSE_NO_WIDGETS", "1")
    saturation.show_zoo_explorer()
    assert len(shown) == 1 and "How hard each generator loss pushes" in shown[0].axes[0].get_title()
    monkeypatch.delenv("GANCOURSE_NO_WIDGETS")
    monkeypatch.setitem(__import__("sys").modules, "ipywidgets", None)  # not installed
    saturation.show_zoo_explorer()
    assert len(shown) == 2 and "static figure above is the whole explorer" in capsys.readouterr().out
