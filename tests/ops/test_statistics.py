"""statistics.py against torch: weighted cov and its gradients, torch.gradient with sample
coordinates and second-order edges, weighted/density histograms, diff with prepend."""

from __future__ import annotations

import numpy as np
import pytest
from torch_check import check

RNG = np.random.default_rng(3)


def test_cov_with_frequency_and_observation_weights():
    x = RNG.standard_normal((3, 6))
    fw = np.array([1, 2, 0, 3, 1, 1])
    aw = RNG.random(6)
    check(lambda m, a, f, w: m.cov(a, correction=1, fweights=f, aweights=w), x, fw, aw)
    check(lambda m, a, w: m.cov(a, correction=0, aweights=w), x, aw)
    check(lambda m, a: m.corrcoef(a), x)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_with_coordinates(edge_order):
    f = RNG.standard_normal((5, 4))
    xs = np.array([0.0, 0.5, 1.5, 1.7, 3.0])
    ys = np.array([-1.0, 0.0, 2.0, 2.5])
    check(lambda m, a, cx, cy: m.gradient(a, spacing=[cx, cy], edge_order=edge_order),
          f, xs, ys)
    check(lambda m, a: m.gradient(a, spacing=0.3, dim=1, edge_order=edge_order), f)


def test_histogram_with_weights_and_density():
    x = RNG.standard_normal(50)
    w = RNG.random(50)
    check(lambda m, a, ww: m.histogram(a.detach(), 7, range=(-1.0, 1.5), weight=ww.detach(),
                                         density=True),
          x, w)
    check(lambda m, a: m.histc(a.detach(), bins=6, min=-1, max=1), x)
    check(lambda m, a: (lambda r: (r.hist, *r.bin_edges))(m.histogramdd(a.detach(), [3, 4])),
          RNG.standard_normal((20, 2)))


def test_diff_with_prepend_append_and_order_two():
    x = RNG.standard_normal((3, 5))
    p = RNG.standard_normal((3, 2))
    check(lambda m, a, b: m.diff(a, n=2, dim=1, prepend=b, append=b), x, p)
    check(lambda m, a: m.diff(a, dim=0), np.array([[True, False], [True, True]]))


def test_trapezoid_with_sample_points():
    y = RNG.standard_normal((4, 6))
    x = np.sort(RNG.random(6))
    check(lambda m, a, b: m.trapezoid(a, b), y, x)
    check(lambda m, a, b: m.cumulative_trapezoid(a, b, dim=-1), y, x)
    check(lambda m, a: m.trapezoid(a, dx=0.25, dim=0), y)
