"""The autograd core's fast paths give what the general paths give.

A backward that records nothing (no ``create_graph``) runs the derivative formulas on the
arrays behind the tensors (`tapegrad.formula.array_function`); with ``create_graph=True``
the same formulas run as recorded tensor ops. The two must agree bit for bit, NaN for NaN.
Also here: the cheap IEEE switch (`tapegrad.kernels.ieee`), the flat edge storage behind
``next_functions``, and what a recorded entry keeps alive.
"""

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad.kernels.ieee import quiet, restore
from tapegrad.pointwise import UNARY

# the one-input rules whose backward (without create_graph) runs the formula on arrays:
# no fused kernel and no options
ARRAY_RULES = [r.name for r in UNARY
               if r.public and r.kernel_backward is None and not r.options]


def both_ways(loss_fn, *inputs):
    """Gradients of loss_fn(*inputs) w.r.t. inputs, (recording nothing, recording)."""
    out = loss_fn(*inputs)
    seed = tg.ones_like(out)  # (no sum: a sum of inf and -inf would warn by itself)
    plain = tg.autograd.grad(out, inputs, seed, allow_unused=True)
    out = loss_fn(*inputs)
    recorded = tg.autograd.grad(out, inputs, seed, create_graph=True, allow_unused=True)
    return plain, recorded


def assert_same(a, b):
    assert (a is None) == (b is None)
    if a is not None:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), strict=True)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("name", ARRAY_RULES)
def test_unary_array_backward_equals_tensor_backward(name, dtype):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.uniform(0.1, 0.9, (3, 4)), dtype=dtype, requires_grad=True)
    g = tg.tensor(rng.standard_normal((3, 4)), dtype=dtype)
    fn = getattr(tg, name)
    (plain,), (recorded,) = both_ways(lambda x: (fn(x) * g).sum(), x)
    assert_same(plain, recorded)


SPECIALS = np.array([0.0, -0.0, 1.0, -2.5, 3.0, np.inf, -np.inf, np.nan, 1e-30, 1e30])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_binary_array_backward_equals_tensor_backward_on_special_values(op, dtype):
    """inf, nan, zeros of both signs, overflow: the same numbers both ways, and no
    RuntimeWarning from numpy on either."""
    a_np, b_np = np.meshgrid(SPECIALS, SPECIALS)
    a = tg.tensor(a_np, dtype=dtype, requires_grad=True)
    b = tg.tensor(b_np, dtype=dtype, requires_grad=True)
    fn = getattr(tg, op)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain, recorded = both_ways(fn, a, b)
    for p, r in zip(plain, recorded, strict=True):
        assert_same(p, r)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("number", [2, 0.5, 0, -1.5])
@pytest.mark.parametrize("swap", [False, True])
def test_binary_with_a_number_and_0d_tensors(op, number, swap):
    """Python numbers fold into the formula; 0-d arrays compute numpy scalars on the way,
    which come back as 0-d gradients (compared with torch in float64)."""
    fn = getattr(tg, op)
    tfn = getattr(torch, op)
    for shape in [(), (5,)]:
        base = np.linspace(0.5, 2.5, 5).reshape(shape) if shape else np.array(1.75)
        x = tg.tensor(base, dtype=tg.float64, requires_grad=True)
        xt = torch.tensor(base, dtype=torch.float64, requires_grad=True)
        targs = (number, xt) if swap else (xt, number)

        def loss(x):
            return fn(*((number, x) if swap else (x, number))).sum()

        (plain,), (recorded,) = both_ways(loss, x)
        assert_same(plain, recorded)
        (expected,) = torch.autograd.grad(tfn(*targs).sum(), xt)
        assert plain.shape == tuple(expected.shape)
        np.testing.assert_allclose(plain.numpy(), expected.numpy(), rtol=1e-15, atol=0)


def test_mixed_dtypes_take_the_tensor_path_with_torch_promotion():
    """float32 * a float64 0-d tensor is float32 (a 0-d tensor does not widen); the
    gradient of each input has the input's dtype, as torch's."""
    x = tg.tensor([1.5, -2.0, 3.25], requires_grad=True)
    s = tg.tensor(0.1, dtype=tg.float64, requires_grad=True)
    xt = torch.tensor([1.5, -2.0, 3.25], requires_grad=True)
    st = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    gx, gs = tg.autograd.grad((x * s).sum(), (x, s))
    ex, es = torch.autograd.grad((xt * st).sum(), (xt, st))
    assert gx.dtype == tg.float32 and gs.dtype == tg.float64
    np.testing.assert_array_equal(gx.numpy(), ex.numpy())
    np.testing.assert_allclose(gs.numpy(), es.numpy(), rtol=1e-7)


def test_add_passes_one_gradient_to_two_leaves_without_sharing_memory():
    """add's gradient is the incoming one itself: the two leaves must still get .grad
    arrays of their own (accumulating into one must not change the other)."""
    x = tg.ones(3, requires_grad=True)
    w = tg.ones(3, requires_grad=True)
    (x + w).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), w.grad.numpy())
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0, 1.0])


def test_inplace_change_is_still_detected_by_the_array_path():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = y * y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_quiet_silences_numpy_and_restore_keeps_the_users_settings():
    one = np.ones(2)
    with np.errstate(divide="raise"):
        token = quiet()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert np.isinf(one / 0).all()
        finally:
            restore(token)
        with pytest.raises(FloatingPointError):
            _ = one / 0  # the user's own setting is back


def test_next_functions_is_the_nested_view_of_the_flat_edges():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    y = a * 2.0
    z = tg.mul(y, c)
    (first, nr), (const, const_nr) = z.grad_fn.next_functions
    assert first is y.grad_fn and nr == 0
    assert const is None and const_nr == 0
    assert y.grad_fn.next_functions[0][0] is a.grad_fn or type(
        y.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"
    node = z.grad_fn
    node.next_functions = ((y.grad_fn, 0), (None, 0))
    assert node.next_functions == ((y.grad_fn, 0), (None, 0))


def test_an_entry_does_not_keep_intermediate_tensors_alive():
    """torch frees an intermediate tensor once nobody holds it; the tape reaches it
    through the edges, so dropping it changes neither backward nor the listing."""
    x = tg.tensor([0.1, -0.2], dtype=tg.float64, requires_grad=True)
    h = x * 3.0
    ref = weakref.ref(h)
    y = (h + 0.1).tanh()
    del h
    gc.collect()
    assert ref() is None
    listing = tg.autograd.Tape.of(y).listing()
    assert "mul" in listing and "add" in listing and "tanh" in listing
    y.sum().backward()
    xt = torch.tensor([0.1, -0.2], dtype=torch.float64, requires_grad=True)
    torch.tanh(xt * 3.0 + 0.1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("exponent", [0.5, 1.5, 2, 3, -1, 0])
def test_powers_by_a_number_on_special_values(exponent):
    """x ** p: the derivative raises x to p - 1 (0.5, 2, -1 are exponents that numpy's
    ``**`` treats specially); both ways compute np.power, so they agree on -inf, -0.0..."""
    x = tg.tensor(SPECIALS, dtype=tg.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (plain,), (recorded,) = both_ways(lambda x: x ** exponent, x)
    assert_same(plain, recorded)


# ------------------------------------------------------------------ 0-d float64 with a float
SPECIAL = [0.0, -0.0, 1.0, -2.5, 1e308, -1e308, 5e-324, float("inf"), float("-inf"),
           float("nan"), 1.0001]


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_zero_dim_float64_with_a_float_matches_torch_bit_for_bit(op):
    """``x * 1.0001`` on a 0-d float64 tensor computes with Python floats (the same IEEE
    double operation); its values -- signed zeros, overflow to inf, subnormals, NaN -- and
    its dtype, shape and gradient are torch's."""
    for a in SPECIAL:
        for b in SPECIAL:
            x = tg.tensor(a, dtype=tg.float64, requires_grad=True)
            xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
            y, yt = getattr(x, op)(b), getattr(xt, op)(b)
            assert y.dtype == tg.float64 and y.shape == () and type(y._data) is np.ndarray
            assert np.array_equal(y._data, yt.detach().numpy(), equal_nan=True), (op, a, b)
            assert np.signbit(y._data) == np.signbit(yt.detach().numpy()), (op, a, b)
            y.backward()
            yt.backward()
            assert np.array_equal(x.grad._data, xt.grad.numpy(), equal_nan=True), (op, a, b)


def test_zero_dim_float_path_keeps_float32_and_reflected_ops_on_numpy():
    """Only float64 takes the Python-float path: a float32 0-d tensor rounds to float32 as
    torch does, and ``1.0001 - x`` (the number first) still subtracts in the right order."""
    x32 = tg.tensor(1.1, dtype=tg.float32)
    t32 = torch.tensor(1.1, dtype=torch.float32)
    assert (x32 * 1.0001).item() == (t32 * 1.0001).item()
    assert (x32 * 1.0001).dtype == tg.float32
    x = tg.tensor(0.25, dtype=tg.float64)
    assert (1.0001 - x).item() == (1.0001 - torch.tensor(0.25, dtype=torch.float64)).item()


def test_zero_dim_entries_share_their_metadata_tuples_and_the_table_is_bounded(monkeypatch):
    """Entries of 0-d ops (the graphs that grow to 10^5 entries) share their (shape, dtype)
    tuples, so Python's garbage collector has fewer objects to visit per entry; n-d
    entries keep their own; the table of shared tuples stays within its bound."""
    from tapegrad.autograd import function

    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    a, b = (x * 2.0).grad_fn, (x * 3.0).grad_fn
    assert a._input_meta is b._input_meta == (((), np.dtype(np.float64)), None)
    assert a._output_meta is b._output_meta == (((), np.dtype(np.float64)),)
    v = tg.ones(3, dtype=tg.float64, requires_grad=True)
    c = (v * 2.0).grad_fn
    assert c._input_meta == (((3,), np.dtype(np.float64)), None)
    assert c._output_meta == (((3,), np.dtype(np.float64)),)
    bound = len(function._SHARED) + 5
    monkeypatch.setattr(function, "_SHARED_MAX", bound)
    for n in range(1, 30):  # 29 new argument lists of 0-d tensors: more than the room left
        y = tg.stack([x] * (100 + n)).sum()
    assert len(function._SHARED) == bound
    assert y.grad_fn.next_functions[0][0]._input_meta == (((), np.dtype(np.float64)),) * 129
