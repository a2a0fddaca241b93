"""Factories and conversions: dtypes inferred as torch infers them, leaves, seeding."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import tapegrad as tg


@pytest.mark.parametrize("data", [1.5, 2, True, [1.0, 2.0], [[1, 2], [3, 4]], [True, False],
                                  np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32),
                                  np.array([1.0], dtype=np.float32)])
def test_tensor_infers_dtype_like_torch(data):
    t, tt = tg.tensor(data), torch.tensor(data)
    assert t.dtype.name == str(tt.dtype).replace("torch.", "")
    assert t.shape == tuple(tt.shape)
    np.testing.assert_array_equal(t.numpy(), tt.numpy())


def test_tensor_copies_but_from_numpy_and_as_tensor_share():
    arr = np.zeros(3, dtype=np.float32)
    copied, shared, as_t = tg.tensor(arr), tg.from_numpy(arr), tg.as_tensor(arr)
    arr[0] = 7.0
    assert copied[0].item() == 0.0 if hasattr(copied, "__getitem__") else True
    assert copied.numpy()[0] == 0.0 and shared.numpy()[0] == 7.0 and as_t.numpy()[0] == 7.0


def test_from_numpy_rejects_unsupported_dtype():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        tg.from_numpy(np.array(["a"]))


@pytest.mark.parametrize("name,args", [("zeros", (2, 3)), ("ones", ((2, 3),)), ("empty", (4,))])
def test_shape_factories(name, args):
    t, tt = getattr(tg, name)(*args), getattr(torch, name)(*args)
    assert t.shape == tuple(tt.shape) and t.dtype == tg.float32 and t.is_leaf


def test_factory_options():
    assert tg.full((2,), 7).dtype == tg.int64  # torch infers the fill value's dtype
    assert tg.full((2,), 7.0).dtype == tg.float32
    z = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    assert z.requires_grad and z.dtype == tg.float64
    like = tg.ones_like(z)
    assert like.dtype == tg.float64 and not like.requires_grad
    with pytest.raises(RuntimeError, match="negative dimension"):
        tg.zeros(-1)


def test_arange_linspace_eye_match_torch():
    for args in ((5,), (1, 7, 2), (0.0, 1.0, 0.25), (5, 0, -1)):
        t, tt = tg.arange(*args), torch.arange(*args)
        assert t.dtype.name == str(tt.dtype).replace("torch.", "")
        np.testing.assert_allclose(t.numpy(), tt.numpy())
    np.testing.assert_allclose(tg.linspace(0, 1, 5).numpy(), torch.linspace(0, 1, 5).numpy())
    np.testing.assert_array_equal(tg.eye(3, 2).numpy(), torch.eye(3, 2).numpy())


def test_manual_seed_makes_random_factories_reproducible():
    tg.manual_seed(123)
    a = (tg.rand(3), tg.randn(2, 2), tg.randint(0, 10, (4,)), tg.randperm(5))
    tg.manual_seed(123)
    b = (tg.rand(3), tg.randn(2, 2), tg.randint(0, 10, (4,)), tg.randperm(5))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    r = tg.rand(1000)
    assert 0.0 <= r.numpy().min() and r.numpy().max() < 1.0
    ints = tg.randint(3, 6, (1000,))
    assert ints.dtype == tg.int64 and set(np.unique(ints.numpy())) == {3, 4, 5}
    gen = tg.Generator().manual_seed(5)
    np.testing.assert_array_equal(tg.rand(3, generator=gen).numpy(),
                                  tg.rand(3, generator=tg.Generator().manual_seed(5)).numpy())


def test_conversions():
    t = tg.tensor([[1.5, 2.5]])
    assert t.tolist() == [[1.5, 2.5]] and t.numel() == 2 and t.size(1) == 2 and t.dim() == 2
    assert tg.tensor([3.5]).item() == 3.5 and float(tg.tensor(2.0)) == 2.0
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        t.item()
    assert t.double().dtype == tg.float64 and t.long().dtype == tg.int64
    assert t.to(tg.float64).dtype == tg.float64 and t.to(tg.float32) is t
    assert t.size() == (1, 2) and repr(t.size()) == "tapegrad.Size([1, 2])"
    c = t.clone()
    c.add_(1.0)
    assert t.tolist() == [[1.5, 2.5]]


def test_cast_is_differentiable_and_grad_keeps_input_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert type(y.grad_fn.next_functions[0][0]).__name__ == "ToCopyBackward0"
    y.backward(tg.ones(2, dtype=tg.float64))
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [3.0, 3.0]


def test_devices():
    assert tg.tensor([1.0]).device == tg.device("cpu")
    assert str(tg.device("cuda:0")) == "cuda:0"
    assert tg.zeros(2, device="cuda").device == tg.device("cuda", 0)  # the simulator


def test_without_a_gpu_or_the_simulator_cuda_is_unavailable_with_a_clear_error():
    """A fresh process with NUMBA_ENABLE_CUDASIM=0 on a machine whose numba finds no GPU:
    the device-agnostic line picks the CPU, and asking for CUDA says why it cannot."""
    code = (
        "import tapegrad as tg, numba.cuda as c\n"
        "if c.is_available(): print('has a GPU'); raise SystemExit\n"
        "assert not tg.cuda.is_available() and tg.cuda.device_count() == 0\n"
        "dev = tg.device('cuda:0' if tg.cuda.is_available() else 'cpu')\n"
        "assert tg.ones(2).to(dev).device == tg.device('cpu')\n"
        "try:\n    tg.zeros(2, device='cuda')\n"
        "except RuntimeError as e:\n    print(e)\n"
    )
    out = _run_python(code, NUMBA_ENABLE_CUDASIM="0")
    if out.strip() != "has a GPU":
        assert "Torch not compiled with CUDA enabled" in out
        assert "no CUDA GPU or driver was found" in out and "NUMBA_ENABLE_CUDASIM=1" in out


def test_without_numba_cuda_cuda_is_unavailable_even_in_the_simulator():
    code = (
        "import sys; sys.modules['numba_cuda'] = None  # as if the extra were missing\n"
        "import tapegrad as tg\n"
        "assert not tg.cuda.is_available() and tg.cuda.device_count() == 0\n"
        "try:\n    tg.ones(2).cuda()\n"
        "except RuntimeError as e:\n    print(e)\n"
    )
    out = _run_python(code, NUMBA_ENABLE_CUDASIM="1")
    assert "numba-cuda is not installed (pip install 'tapegrad[cuda]')" in out


def _run_python(code: str, **env: str) -> str:
    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                          capture_output=True, text=True, check=True).stdout


def test_numpy_scalars_inside_lists_keep_their_dtype_like_torch():
    for data in ([np.float64(1.0), 2.0], [1.0, np.float64(2.0)], [np.float32(1.0)],
                 [np.int32(1)]):
        assert tg.tensor(data).dtype.name == str(torch.tensor(data).dtype).replace("torch.", "")




def test_integer_fill_overflow_follows_torch():
    """An unsigned fill takes negatives down to -max, wrapping them (as C and torch do);
    anything else out of range is torch's RuntimeError."""
    import torch

    for lib in (tg, torch):
        np.testing.assert_array_equal(
            lib.full_like(lib.zeros(2, dtype=lib.uint8), -9).numpy(), [247, 247])
        np.testing.assert_array_equal(lib.full((1,), -128, dtype=lib.int8).numpy(), [-128])
        with pytest.raises(RuntimeError, match="without overflow"):
            lib.full((2,), 300, dtype=lib.int8)
        np.testing.assert_array_equal(lib.full((1,), -129, dtype=lib.uint8).numpy(), [127])
        with pytest.raises(RuntimeError, match="without overflow"):
            lib.full((2,), -1000, dtype=lib.uint8)
        with pytest.raises(RuntimeError, match="int without overflow"):
            lib.full((2,), 2**40, dtype=lib.int32)


@pytest.mark.parametrize("call", [
    lambda lib: lib.empty_strided((2, 3), (1, 2), dtype=lib.float64).zero_(),
    lambda lib: lib.empty_permuted((2, 3, 4), (0, 2, 1)).zero_(),
    lambda lib: lib.ones(2).new_empty_strided((3, 2), (2, 1)).zero_(),
])
def test_strided_and_permuted_empties_have_torchs_shape_and_dtype(call):
    got, want = call(tg), call(torch)
    assert tuple(got.shape) == tuple(want.shape) and str(got.dtype)[9:] == str(want.dtype)[6:]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize(("call", "match"), [
    (lambda lib: lib.empty_strided((2, 3), (1,)), "must match dimensionality of strides"),
    (lambda lib: lib.empty_permuted((2,), (0, 1)), "does not match the length"),
    (lambda lib: lib.empty_permuted((2,), (3,)), "Dimension out of range"),
    (lambda lib: lib.empty_permuted((2, 3), (0, 0)), "Duplicate dim"),
])
def test_strided_and_permuted_empties_errors(call, match):
    for lib in (tg, torch):
        with pytest.raises(RuntimeError, match=match):
            call(lib)


@pytest.mark.parametrize(("value", "kwargs"), [
    (3.5, {}), (2, {}), (True, {}), (7, {"dtype": "int64"}), (1.5, {"dtype": "float64"})])
def test_scalar_tensor(value, kwargs):
    got = tg.scalar_tensor(value, **{k: getattr(tg, v) for k, v in kwargs.items()})
    want = torch.scalar_tensor(value, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert got.shape == () and str(got.dtype)[9:] == str(want.dtype)[6:]
    assert got.item() == want.item()
