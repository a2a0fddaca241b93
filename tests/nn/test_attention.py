"""scaled_dot_product_attention, MultiheadAttention and the transformer encoder vs torch.

Weights come from torch's state_dict; outputs, attention weights and the gradients of the
inputs and of every parameter are compared in float64 (rtol 1e-10) and float32 (rtol 1e-4,
atol 1e-5). Dropout is 0 (or the module is in eval) so both are deterministic.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.nn.functional.attention import scaled_dot_product_attention
from tapegrad.nn.modules.activation import GELU
from tapegrad.nn.modules.attention import MultiheadAttention
from tapegrad.nn.modules.normalization import LayerNorm
from tapegrad.nn.modules.transformer import TransformerEncoder, TransformerEncoderLayer

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
NP = {"float64": np.float64, "float32": np.float32}


def copy_weights(tg, th):
    tg.load_state_dict({k: tapegrad.tensor(v.detach().numpy()) for k, v in
                        th.state_dict().items()})


def close(got, want, dtype, msg=""):
    if want is None:
        assert got is None, msg
        return
    got, want = got.detach().numpy(), want.detach().numpy()
    assert got.shape == want.shape, f"{msg}: {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, msg
    np.testing.assert_allclose(got, want, err_msg=msg, equal_nan=True, **TOL[dtype])


def both(a, requires_grad=False):
    """The same array as a tapegrad and a torch tensor (None stays None)."""
    if a is None:
        return None, None
    return (tapegrad.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def backward_both(rng, outs, touts, dtype):
    loss, tloss = 0, 0
    for o, ot in zip(outs, touts, strict=True):
        if o is None or not o.requires_grad:
            continue
        seed = rng.standard_normal(tuple(ot.shape)).astype(NP[dtype])
        loss = loss + (o * tapegrad.tensor(seed)).sum()
        tloss = tloss + (ot * torch.tensor(seed)).sum()
    loss.backward()
    tloss.backward()


def compare_params(tg, th, dtype):
    tparams = dict(th.named_parameters())
    assert [n for n, _ in tg.named_parameters()] == list(tparams)
    for name, p in tg.named_parameters():
        close(p.grad, tparams[name].grad, dtype, f"grad of {name}")


# ------------------------------------------------------------------ SDPA
SDPA_CASES = [
    {},
    {"is_causal": True},
    {"scale": 0.3},
    {"mask": "bool"},
    {"mask": "float"},
    {"mask": "bool_broadcast"},
    {"mask": "dead_row"},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", SDPA_CASES, ids=lambda c: ",".join(map(str, c.values()))
                         or "plain")
def test_scaled_dot_product_attention(rng, dtype, case):
    shape_q, shape_k, shape_v = (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)
    arrays = [rng.standard_normal(s).astype(NP[dtype]) for s in (shape_q, shape_k, shape_v)]
    (q, qt), (k, kt), (v, vt) = (both(a, True) for a in arrays)
    mask = None
    kind = case.get("mask")
    if kind == "bool":
        mask = rng.random((2, 3, 4, 6)) > 0.3
        mask[..., 0] = True
    elif kind == "float":
        mask = rng.standard_normal((4, 6)).astype(NP[dtype])
        mask[1, 2] = -np.inf
    elif kind == "bool_broadcast":
        mask = rng.random((1, 1, 4, 6)) > 0.5
        mask[..., 1] = True
    elif kind == "dead_row":  # query 2 may see no key: torch gives it 0 output, 0 grad
        mask = np.ones((4, 6), bool)
        mask[2] = False
    m, mt = both(mask)
    out = scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=case.get("is_causal",
                                                                                False),
                                       scale=case.get("scale"))
    tout = torch.nn.functional.scaled_dot_product_attention(
        qt, kt, vt, attn_mask=mt, is_causal=case.get("is_causal", False),
        scale=case.get("scale"))
    close(out, tout, dtype, "output")
    backward_both(rng, [out], [tout], dtype)
    for a, b, name in ((q, qt, "q"), (k, kt, "k"), (v, vt, "v")):
        close(a.grad, b.grad, dtype, f"grad of {name}")
    if kind == "dead_row":
        assert np.all(out.detach().numpy()[..., 2, :] == 0)
        assert np.all(q.grad.numpy()[..., 2, :] == 0)


def test_sdpa_errors_and_dropout():
    q = tapegrad.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when "
                       "is_causal=True"):
        scaled_dot_product_attention(q, q, q, attn_mask=tapegrad.ones(3, 3), is_causal=True)
    tapegrad.manual_seed(0)
    a = scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    b = scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert not np.allclose(a.numpy(), b.numpy())


# ------------------------------------------------------------------ MultiheadAttention
MHA_CONFIGS = [
    {},
    {"batch_first": True},
    {"bias": False},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"kdim": 3, "vdim": 5},
    {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True, "kdim": 3, "vdim": 5},
]
MASKS = ["none", "bool_attn", "float_attn3d", "kpm_bool", "kpm_float_and_attn", "causal"]


def make_masks(rng, kind, n, heads, length, source, dtype):
    attn, kpm, causal = None, None, False
    if kind == "bool_attn":
        attn = rng.random((length, source)) > 0.7  # True = masked out
        attn[:, 0] = False
    elif kind == "float_attn3d":
        attn = rng.standard_normal((n * heads, length, source)).astype(NP[dtype])
    elif kind == "kpm_bool":
        kpm = np.zeros((n, source), bool)
        kpm[0, -2:] = True
    elif kind == "kpm_float_and_attn":
        kpm = np.zeros((n, source), NP[dtype])
        kpm[1, -1] = -np.inf
        attn = rng.standard_normal((length, source)).astype(NP[dtype])
    elif kind == "causal":
        attn = np.triu(np.full((length, source), -np.inf), 1).astype(NP[dtype])
        causal = True
    return attn, kpm, causal


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", MHA_CONFIGS,
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("mask_kind", MASKS)
def test_multihead_attention_matches_torch(rng, dtype, config, mask_kind):
    heads, e, n, length = 2, 8, 3, 4
    source = length if mask_kind == "causal" else 5
    th = torch.nn.MultiheadAttention(e, heads, **config).to(getattr(torch, dtype))
    tg = MultiheadAttention(e, heads, **config).to(getattr(tapegrad, dtype))
    copy_weights(tg, th)
    bf = config.get("batch_first", False)

    def arr(seq, dim):
        return rng.standard_normal((n, seq, dim) if bf else (seq, n, dim)).astype(NP[dtype])

    (q, qt) = both(arr(length, e), True)
    (k, kt) = both(arr(source, config.get("kdim", e)), True)
    (v, vt) = both(arr(source, config.get("vdim", e)), True)
    attn, kpm, causal = make_masks(rng, mask_kind, n, heads, length, source, dtype)
    (m, mt), (p, pt) = both(attn), both(kpm)
    for need_weights, average in ((True, True), (True, False), (False, True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about mixed mask types too
            out, w = tg(q, k, v, key_padding_mask=p, need_weights=need_weights, attn_mask=m,
                        average_attn_weights=average, is_causal=causal)
            tout, tw = th(qt, kt, vt, key_padding_mask=pt, need_weights=need_weights,
                          attn_mask=mt, average_attn_weights=average, is_causal=causal)
        close(out, tout, dtype, "output")
        close(w, tw, dtype, "weights")
        backward_both(rng, [out, w], [tout, tw], dtype)
        for a, b, name in ((q, qt, "query"), (k, kt, "key"), (v, vt, "value")):
            close(a.grad, b.grad, dtype, f"grad of {name}")
            a.grad, b.grad = None, None
        compare_params(tg, th, dtype)
        tg.zero_grad()
        th.zero_grad()


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_unbatched_and_dead_rows(rng, need_weights):
    th = torch.nn.MultiheadAttention(6, 3).double()
    tg = MultiheadAttention(6, 3).double()
    copy_weights(tg, th)
    x, xt = both(rng.standard_normal((4, 6)), True)
    kpm = np.array([True, True, True, True])  # every key padded: NaN / 0 like torch
    for mask in (None, kpm):
        (p, pt) = both(mask)
        out, w = tg(x, x, x, key_padding_mask=p, need_weights=need_weights)
        tout, tw = th(xt, xt, xt, key_padding_mask=pt, need_weights=need_weights)
        close(out, tout, "float64")
        close(w, tw, "float64")
    if not need_weights:
        backward_both(rng, [out], [tout], "float64")
        close(x.grad, xt.grad, "float64")


def test_mha_parameters_init_and_repr():
    for kwargs in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True, "bias": False}):
        tg, th = MultiheadAttention(8, 2, **kwargs), torch.nn.MultiheadAttention(8, 2, **kwargs)
        assert repr(tg) == repr(th)
        assert list(tg.state_dict()) == list(th.state_dict())
        assert {n: tuple(p.shape) for n, p in tg.named_parameters()} == \
            {n: tuple(p.shape) for n, p in th.named_parameters()}
    mha = MultiheadAttention(8, 2)
    assert np.all(mha.in_proj_bias.detach().numpy() == 0)
    assert np.all(mha.out_proj.bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform on (3E, E)
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 4


def test_mha_errors():
    mha = MultiheadAttention(4, 2)
    x = tapegrad.randn(3, 2, 4)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        MultiheadAttention(0, 2)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is "
                       r"tapegrad.Size\(\[2, 2\]\), but should be \(3, 3\)."):
        mha(x, x, x, attn_mask=tapegrad.zeros(2, 2))
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        mha(x, tapegrad.randn(3, 4), x)
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask"):
        mha(x, x, x, key_padding_mask=tapegrad.zeros(2, 3, dtype=tapegrad.int64))
    with pytest.raises(AssertionError, match=r"Expected key_padded_mask.shape\[1\] to be 3, but "
                       "got 4"):
        mha(x, x, x, key_padding_mask=tapegrad.zeros(2, 4, dtype=tapegrad.bool))


# ------------------------------------------------------------------ transformer encoder
LAYER_CONFIGS = [
    {},
    {"norm_first": True},
    {"activation": "gelu", "batch_first": True},
    {"activation": "gelu_module", "bias": False},
    {"activation": "callable", "layer_norm_eps": 1e-3},
]


def _activation(name, lib):
    if name == "gelu_module":
        return GELU() if lib is tapegrad else torch.nn.GELU()
    if name == "callable":
        return lambda x: x.tanh() * 2
    return name


def make_layers(config, dtype, **extra):
    kwargs = dict(config)
    act = kwargs.pop("activation", "relu")
    th = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0,
                                          activation=_activation(act, torch), **kwargs, **extra)
    tg = TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=_activation(act, tapegrad),
                                 **kwargs, **extra)
    th, tg = th.to(getattr(torch, dtype)), tg.to(getattr(tapegrad, dtype))
    copy_weights(tg, th)
    return tg, th


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", LAYER_CONFIGS,
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("masks", ["none", "src_mask_bool", "causal", "padding"])
def test_encoder_layer_matches_torch(rng, dtype, config, masks):
    tg, th = make_layers(config, dtype)
    assert repr(tg) == repr(th)
    assert list(tg.state_dict()) == list(th.state_dict())
    bf = config.get("batch_first", False)
    n, length = 3, 5
    x, xt = both(rng.standard_normal((n, length, 8) if bf else (length, n, 8))
                 .astype(NP[dtype]), True)
    src_mask = kpm = None
    causal = False
    if masks == "src_mask_bool":
        src_mask = rng.random((length, length)) > 0.7
        np.fill_diagonal(src_mask, False)
    elif masks == "causal":
        src_mask = np.triu(np.full((length, length), -np.inf), 1).astype(NP[dtype])
        causal = True
    elif masks == "padding":
        kpm = np.zeros((n, length), bool)
        kpm[1, 3:] = True
    (m, mt), (p, pt) = both(src_mask), both(kpm)
    for mode in ("train", "eval"):
        getattr(tg, mode)()
        getattr(th, mode)()
        out = tg(x, src_mask=m, src_key_padding_mask=p, is_causal=causal)
        tout = th(xt, src_mask=mt, src_key_padding_mask=pt, is_causal=causal)
        close(out, tout, dtype, f"{mode} output")
        backward_both(rng, [out], [tout], dtype)
        close(x.grad, xt.grad, dtype, f"{mode} input grad")
        compare_params(tg, th, dtype)
        x.grad = xt.grad = None
        tg.zero_grad()
        th.zero_grad()


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_stack_matches_torch(rng, batch_first):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tg_layer, th_layer = make_layers({"batch_first": batch_first}, "float64")
        th = torch.nn.TransformerEncoder(th_layer, 2, norm=torch.nn.LayerNorm(8)).double()
        tg = TransformerEncoder(tg_layer, 2, norm=LayerNorm(8)).double()
    ours = [str(w.message) for w in caught if w.filename.endswith("test_attention.py")]
    expected_warning = ("enable_nested_tensor is True, but self.use_nested_tensor is False "
                        "because encoder_layer.self_attn.batch_first was not True(use "
                        "batch_first for better inference performance)")
    assert ours == ([] if batch_first else [expected_warning] * 2)
    copy_weights(tg, th)
    assert list(tg.state_dict()) == list(th.state_dict())
    assert repr(tg.layers[1]) == repr(th.layers[1])
    # deep copies: equal values, independent parameters
    w0, w1 = tg.layers[0].linear1.weight, tg.layers[1].linear1.weight
    assert w0 is not w1 and w0 is not tg_layer.linear1.weight
    x_np = rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8))
    kpm = np.zeros((3, 5), bool)
    kpm[0, 3:] = True
    x, xt = both(x_np, True)
    for mask in (None, kpm):
        (p, pt) = both(mask)
        out, tout = tg(x, src_key_padding_mask=p), th(xt, src_key_padding_mask=pt)
        close(out, tout, "float64")
        backward_both(rng, [out], [tout], "float64")
        close(x.grad, xt.grad, "float64")
        compare_params(tg, th, "float64")
        x.grad = xt.grad = None
        tg.zero_grad()
        th.zero_grad()
    # inference: torch runs batch-first encoders on nested tensors, so padded positions
    # come out as exactly 0 (before the final norm); tapegrad reproduces that
    tg.eval()
    th.eval()
    tg.norm = th.norm = None
    (p, pt) = both(kpm)
    with tapegrad.no_grad(), torch.no_grad():
        out = tg(tapegrad.tensor(x_np), src_key_padding_mask=p)
        tout = th(torch.tensor(x_np), src_key_padding_mask=pt)
    close(out, tout, "float64")
    padded_is_zero = np.all(out.numpy()[0, 3:] == 0) if batch_first else False
    assert padded_is_zero == batch_first


def test_encoder_causal_detection_and_errors(rng):
    tg_layer, th_layer = make_layers({}, "float64")
    tg = TransformerEncoder(tg_layer, 1, enable_nested_tensor=False)
    th = torch.nn.TransformerEncoder(th_layer, 1, enable_nested_tensor=False)
    copy_weights(tg, th)
    x, xt = both(rng.standard_normal((4, 2, 8)))
    causal = np.triu(np.full((4, 4), -np.inf), 1)
    (m, mt) = both(causal)
    close(tg(x, mask=m), th(xt, mask=mt), "float64")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        TransformerEncoderLayer(8, 2, activation="tanh")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_encoder_layer_inference_matches_torch_fast_path(rng, dtype):
    """In eval under no_grad torch runs a fused kernel (its 'fast path'); same numbers."""
    tg, th = make_layers({"batch_first": True}, dtype)
    tg.eval()
    th.eval()
    x = rng.standard_normal((3, 5, 8)).astype(NP[dtype])
    kpm = np.zeros((3, 5), bool)
    kpm[0, 3:] = True
    for mask in (None, kpm):
        (p, pt) = both(mask)
        with tapegrad.no_grad(), torch.no_grad():
            out = tg(tapegrad.tensor(x), src_key_padding_mask=p)
            tout = th(torch.tensor(x), src_key_padding_mask=pt)
        close(out, tout, dtype)
