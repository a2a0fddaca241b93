"""tapegrad.save / tapegrad.load: exact round trips, atomic writes, clear errors, torch interop."""

from __future__ import annotations

import collections
import io
import json
import math
import os
import zipfile

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad import serialization
from tapegrad.nn.parameter import Parameter

save, load = serialization.save, serialization.load


def _roundtrip(obj, tmp_path=None):
    if tmp_path is None:
        buf = io.BytesIO()
        save(obj, buf)
        buf.seek(0)
        return load(buf)
    path = tmp_path / "ckpt.tg"
    save(obj, path)
    return load(path)


def _same_tensor(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()  # bit for bit


DTYPES = [tg.bool, tg.uint8, tg.int8, tg.int16, tg.int32, tg.int64, tg.float16, tg.float32,
          tg.float64]
SHAPES = [(), (0,), (3,), (2, 0, 4), (2, 3, 4)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tensor_roundtrip_every_dtype_and_shape(dtype, shape):
    rng = np.random.default_rng(0)
    arr = np.asarray((rng.standard_normal(shape) * 50).astype(dtype.numpy))
    t = tg.from_numpy(arr)
    out = _roundtrip({"t": t})["t"]
    _same_tensor(t, out)
    assert out.is_contiguous()


def test_special_floats_bit_exact_in_tensors_and_numbers(tmp_path):
    vals = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1 / 3], dtype=np.float64)
    obj = {"t": tg.from_numpy(vals), "py": [float("nan"), -0.0, float("inf"), 0.1, 1e308]}
    out = _roundtrip(obj, tmp_path)
    assert out["t"].numpy().tobytes() == vals.tobytes()
    assert math.isnan(out["py"][0]) and math.copysign(1, out["py"][1]) == -1
    assert out["py"][2:] == [float("inf"), 0.1, 1e308]


def test_requires_grad_and_parameters_preserved_grad_not():
    w = Parameter(tg.randn(2, 3))
    frozen = Parameter(tg.randn(2), requires_grad=False)
    leaf = tg.randn(3, requires_grad=True)
    (leaf * 2).sum().backward()
    nonleaf = leaf * 3
    out = _roundtrip({"w": w, "frozen": frozen, "leaf": leaf, "nonleaf": nonleaf,
                      "plain": tg.ones(2)})
    assert type(out["w"]) is Parameter and out["w"].requires_grad
    assert type(out["frozen"]) is Parameter and not out["frozen"].requires_grad
    assert out["leaf"].requires_grad and out["leaf"].grad is None and out["leaf"].is_leaf
    assert out["nonleaf"].requires_grad and out["nonleaf"].is_leaf  # saved as a fresh leaf
    assert not out["plain"].requires_grad
    _same_tensor(w, out["w"])


def test_state_dict_key_order_and_ordered_dict_type():
    keys = ["z.weight", "a.bias", "m.running_mean", "b", "0.weight", "10.weight", "2.weight"]
    sd = collections.OrderedDict((k, tg.full((2,), float(i))) for i, k in enumerate(keys))
    out = _roundtrip(sd)
    assert type(out) is collections.OrderedDict and list(out) == keys
    plain = _roundtrip({k: 1 for k in reversed(keys)})
    assert type(plain) is dict and list(plain) == list(reversed(keys))


def test_optimizer_state_dict_int_keys_and_nesting():
    sd = {
        "state": {0: {"step": tg.tensor(3.0), "exp_avg": tg.ones(2, 2),
                      "exp_avg_sq": tg.zeros(2, 2)},
                  1: {"step": tg.tensor(3.0), "momentum_buffer": None}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "capturable": False, "params": [0, 1]}],
    }
    out = _roundtrip(sd)
    assert list(out["state"]) == [0, 1] and all(type(k) is int for k in out["state"])
    assert "0" not in out["state"]
    g = out["param_groups"][0]
    assert g == {**sd["param_groups"][0]}
    assert type(g["betas"]) is tuple and type(g["params"]) is list and g["foreach"] is None
    assert type(g["amsgrad"]) is bool and type(g["weight_decay"]) is int
    _same_tensor(sd["state"][0]["exp_avg"], out["state"][0]["exp_avg"])


def test_scalars_containers_and_key_types():
    obj = {
        1: "int key", "1": "str key", 2.5: "float key", False: "bool key", None: "none key",
        (1, "a"): "tuple key",
        "big": 2**100, "neg": -7, "c": 1 + 2j, "b": b"\x00\xff", "s": "ünïcode ✓",
        "np_scalar": np.float32(1.25), "np_int": np.int64(-3), "arr": np.arange(6).reshape(2, 3),
        "dtype": tg.float16, "size": tg.Size([2, 3]), "empty": {}, "nested": [[], ((),)],
    }
    out = _roundtrip(obj)
    assert list(out) == list(obj)
    for k in obj:
        if isinstance(obj[k], np.ndarray):
            assert out[k].dtype == obj[k].dtype
            np.testing.assert_array_equal(out[k], obj[k])
        else:
            assert out[k] == obj[k] and type(out[k]) is type(obj[k]), k
    assert type(out["np_scalar"]) is np.float32 and out["dtype"] is tg.float16
    assert [type(k) for k in list(out)[:6]] == [int, str, float, bool, type(None), tuple]


def test_shared_tensor_object_stays_shared_distinct_stay_distinct():
    w = tg.randn(3)
    out = _roundtrip({"enc.weight": w, "dec.weight": w, "other": tg.randn(3)})
    assert out["enc.weight"] is out["dec.weight"]
    assert out["other"] is not out["enc.weight"]
    out["enc.weight"].numpy()[0] = 42.0  # loaded tensors are writeable, independent of w
    assert w.numpy()[0] != 42.0


def test_views_and_non_contiguous_tensors_saved_by_value():
    base = tg.arange(12.0).reshape(3, 4)
    out = _roundtrip({"t": base.t(), "row": base[1]})
    np.testing.assert_array_equal(out["t"].numpy(), base.numpy().T)
    np.testing.assert_array_equal(out["row"].numpy(), base.numpy()[1])


@pytest.mark.parametrize("bad, where", [
    ({"a": {1, 2}}, "root['a']"), ([object()], "root[0]"),
    ({"x": np.array([None], dtype=object)}, "root['x']"), (lambda: 0, "root")])
def test_unsupported_values_raise_type_error_naming_where(bad, where):
    with pytest.raises(TypeError) as info:
        save(bad, io.BytesIO())
    assert where in str(info.value)


def test_tensor_keys_and_whole_modules_are_refused():
    with pytest.raises(TypeError, match="dict key"):
        save({tg.ones(1): 1}, io.BytesIO())

    class Model:
        def state_dict(self):
            return {}

    with pytest.raises(TypeError, match=r"save module.state_dict\(\) instead"):
        save(Model(), io.BytesIO())


def test_paths_str_pathlike_and_file_objects(tmp_path):
    obj = {"w": tg.ones(2)}
    save(obj, str(tmp_path / "a.tg"))
    save(obj, tmp_path / "b.tg")
    with open(tmp_path / "c.tg", "wb") as fh:
        save(obj, fh)
    for name in "abc":
        _same_tensor(load(tmp_path / f"{name}.tg")["w"], obj["w"])
    with open(tmp_path / "c.tg", "rb") as fh:
        _same_tensor(load(fh)["w"], obj["w"])

    class Stream(io.RawIOBase):  # not seekable: load must buffer it
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, n=-1):
            return self.inner.read(n)

    _same_tensor(load(Stream((tmp_path / "a.tg").read_bytes()))["w"], obj["w"])


def test_saved_file_has_normal_permissions_and_no_leftovers(tmp_path):
    path = tmp_path / "m.tg"
    save({"a": 1}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tg"]


def test_failed_write_leaves_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.tg"
    save({"w": tg.ones(3)}, path)
    before = path.read_bytes()
    real = serialization._write_array
    calls = []

    def failing(fh, arr):
        calls.append(1)
        if len(calls) == 2:  # the second array: the archive is half written
            fh.write(b"\x93NUMPY partial")
            raise OSError("disk full (simulated)")
        real(fh, arr)

    monkeypatch.setattr(serialization, "_write_array", failing)
    with pytest.raises(OSError, match="disk full"):
        save({"w": tg.zeros(3), "b": tg.zeros(100), "c": tg.zeros(1)}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load(path)["w"].numpy(), np.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tg"]  # temp file removed
    calls.clear()
    with pytest.raises(OSError):
        save({"w": tg.zeros(3), "b": tg.zeros(1)}, tmp_path / "new.tg")
    assert not (tmp_path / "new.tg").exists()


def test_unsupported_object_fails_before_touching_the_file(tmp_path):
    path = tmp_path / "keep.tg"
    save({"ok": 1}, path)
    with pytest.raises(TypeError):
        save({"bad": object()}, path)
    assert load(path) == {"ok": 1}


# ---------------------------------------------------------------------- bad files
def _good_bytes():
    buf = io.BytesIO()
    save({"w": tg.arange(100.0), "n": 3}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 400, -30, -1])
def test_truncated_files_raise_runtime_error_naming_the_file(tmp_path, cut):
    data = _good_bytes()
    path = tmp_path / "trunc.tg"
    path.write_bytes(data[:cut] if cut > 0 else data[:len(data) + cut] if cut else b"")
    with pytest.raises(RuntimeError, match="trunc.tg"):
        load(path)


def test_corrupted_array_bytes_are_detected(tmp_path):
    data = bytearray(_good_bytes())
    pos = data.index(b"\x93NUMPY") + 200  # inside the float data of arrays/0.npy
    data[pos] ^= 0xFF
    path = tmp_path / "flip.tg"
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=r"flip.tg.*corrupted"):
        load(path)


def _zip_with(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


@pytest.mark.parametrize("manifest", [
    {"format": "tapegrad-checkpoint", "version": 1, "arrays": [],
     "root": {"t": "tensor", "a": 0, "cls": "Tensor", "requires_grad": False}},
    {"format": "tapegrad-checkpoint", "version": 1, "arrays": [], "root": {"t": "pickle"}},
    {"format": "tapegrad-checkpoint", "version": 1, "arrays": [], "root": {"t": "int", "v": "7"}},
    {"format": "something-else", "version": 1, "arrays": [], "root": {"t": "none"}},
    {"format": "tapegrad-checkpoint", "version": 1, "arrays": []},
])
def test_malformed_manifests_raise_runtime_error(manifest):
    data = _zip_with({"tapegrad.json": json.dumps(manifest)})
    with pytest.raises(RuntimeError, match="corrupted tapegrad checkpoint"):
        load(io.BytesIO(data))


def test_future_version_and_manifest_array_mismatch(tmp_path):
    future = {"format": "tapegrad-checkpoint", "version": 99, "arrays": [],
              "root": {"t": "none"}}
    with pytest.raises(RuntimeError, match="version 99 is not supported"):
        load(io.BytesIO(_zip_with({"tapegrad.json": json.dumps(future)})))
    arr = io.BytesIO()
    np.save(arr, np.zeros(3, np.float32))
    lying = {"format": "tapegrad-checkpoint", "version": 1,
             "arrays": [{"dtype": "<f8", "shape": [3]}],
             "root": {"t": "tensor", "a": 0, "cls": "Tensor", "requires_grad": False}}
    data = _zip_with({"arrays/0.npy": arr.getvalue(), "tapegrad.json": json.dumps(lying)})
    with pytest.raises(RuntimeError, match="manifest says"):
        load(io.BytesIO(data))


def test_foreign_files_are_refused(tmp_path):
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(RuntimeError, match="random.bin.*not a tapegrad checkpoint"):
        load(rnd)
    pt = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, pt)
    with pytest.raises(RuntimeError, match="looks like a PyTorch checkpoint"):
        load(pt)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.ones(2))
    with pytest.raises(RuntimeError, match="no tapegrad.json inside"):
        load(npz)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.tg")


def test_loading_never_unpickles(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("pickle used")

    import pickle

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    assert load(io.BytesIO(_good_bytes()))["n"] == 3


def test_torch_compat_arguments_accepted():
    out = load(io.BytesIO(_good_bytes()), map_location="cpu", weights_only=True)
    assert out["n"] == 3


# ---------------------------------------------------------------------- PyTorch interop
def test_state_dict_round_trip_tapegrad_torch_tapegrad(tmp_path):
    """The recipe in the module docstring: tensors travel through numpy."""
    sd = collections.OrderedDict([
        ("fc1.weight", tg.randn(4, 3)), ("fc1.bias", tg.randn(4)),
        ("bn.running_mean", tg.zeros(4, dtype=tg.float64)),
        ("bn.num_batches_tracked", tg.tensor(7)),
    ])
    save(sd, tmp_path / "tg.ckpt")
    loaded = load(tmp_path / "tg.ckpt")
    torch_sd = {k: torch.from_numpy(v.numpy()) for k, v in loaded.items()}
    torch.save(torch_sd, tmp_path / "torch.pt")
    back_torch = torch.load(tmp_path / "torch.pt", weights_only=True)
    back = {k: tg.from_numpy(t.numpy()) for k, t in back_torch.items()}
    assert list(back) == list(sd)
    for k in sd:
        assert str(back_torch[k].dtype).split(".")[-1] == sd[k].dtype.name
        _same_tensor(sd[k], back[k])
    # and a torch module accepts the converted weights
    lin = torch.nn.Linear(3, 4)
    lin.load_state_dict({"weight": torch_sd["fc1.weight"], "bias": torch_sd["fc1.bias"]})
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    expect = x @ sd["fc1.weight"].numpy().T + sd["fc1.bias"].numpy()
    np.testing.assert_allclose(lin(torch.from_numpy(x)).detach().numpy(), expect, rtol=1e-5)


def test_module_and_optimizer_checkpoint_resume(tmp_path):
    from tapegrad import nn, optim

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(tg.ones(2, 3)).sum().backward()
    opt.step()
    save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ck")
    ck = load(tmp_path / "ck")
    clone = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    clone.load_state_dict(ck["model"])
    opt2 = optim.Adam(clone.parameters(), lr=0.5)
    opt2.load_state_dict(ck["opt"])
    assert ck["epoch"] == 3 and opt2.param_groups[0]["lr"] == 0.01
    x = tg.randn(5, 3)
    np.testing.assert_array_equal(clone(x).detach().numpy(), model(x).detach().numpy())
