"""nn.Module against torch: registration, iteration, state_dict, modes, hooks, repr."""

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad import nn


def build(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = lib.nn.Linear(4, 8)
            self.act = lib.nn.ReLU()
            self.body = lib.nn.Sequential(lib.nn.Linear(8, 8), lib.nn.Tanh())
            self.head = lib.nn.Linear(8, 3, bias=False)
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.head(self.body(self.act(self.fc1(x)))) * self.scale

    return Net()


def copy_from_torch(tg_model, torch_model):
    state = {k: tg.tensor(v.detach().numpy()) for k, v in torch_model.state_dict().items()}
    tg_model.load_state_dict(state)


def test_registration_names_and_state_dict_order_match_torch():
    a, b = build(tg), build(torch)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert list(a.state_dict()) == list(b.state_dict())
    assert [n for n, _ in a.named_buffers()] == [n for n, _ in b.named_buffers()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in b.named_modules()]
    assert [n for n, _ in a.named_children()] == [n for n, _ in b.named_children()]


def test_repr_matches_torch():
    assert repr(build(tg)) == repr(build(torch))
    assert repr(nn.Linear(784, 64)) == "Linear(in_features=784, out_features=64, bias=True)"


def test_forward_and_gradients_match_torch_after_loading_weights():
    a, b = build(tg), build(torch)
    copy_from_torch(a, b)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    xa, xb = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = a(xa), b(xb)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-5, atol=1e-6)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_allclose(pa.grad.numpy(), pb.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_shared_parameters_are_deduplicated_and_grads_sum():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    tshared = torch.nn.Linear(3, 3)
    tmodel = torch.nn.Sequential(tshared, torch.nn.ReLU(), tshared)
    copy_from_torch(model, tmodel)
    x = np.ones((2, 3), dtype=np.float32)
    model(tg.tensor(x)).sum().backward()
    tmodel(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(shared.weight.grad.numpy(), tshared.weight.grad.numpy(), rtol=1e-5)


def test_load_state_dict_errors_and_leaves_module_unchanged():
    model = build(tg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bad = OrderedDict((k, v + 1) for k, v in model.state_dict().items())
    bad["fc1.weight"] = tg.zeros(3, 3)
    del bad["head.weight"]
    bad["extra"] = tg.zeros(1)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(bad)
    msg = str(err.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "head.weight"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    assert ("size mismatch for fc1.weight: copying a param with shape tapegrad.Size([3, 3]) "
            "from checkpoint, the shape in current model is tapegrad.Size([8, 4]).") in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy())  # nothing changed


def test_load_state_dict_non_strict_reports_keys():
    model = build(tg)
    sd = model.state_dict()
    del sd["head.weight"]
    sd["extra"] = tg.zeros(1)
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["extra"]


def test_load_state_dict_copies_into_the_same_parameter_objects():
    model = nn.Linear(2, 2)
    weight = model.weight
    model.load_state_dict({"weight": tg.ones(2, 2, dtype=tg.float64), "bias": tg.zeros(2)})
    assert model.weight is weight and weight.dtype == tg.float32
    assert weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_train_eval_zero_grad_requires_grad():
    model = build(tg)
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(tg.ones(1, 4)).sum().backward()
    assert model.fc1.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert model.fc1.weight.grad.abs().sum().item() == 0.0
    model.zero_grad()
    assert model.fc1.weight.grad is None
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_attribute_rules():
    model = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter"):
        lin = nn.Linear(1, 1)
        lin.weight = 3
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(tg.zeros(1))
        Bad()
    model.layer = nn.Linear(1, 1)
    del model.layer
    assert list(model.children()) == []
    with pytest.raises(AttributeError, match="object has no attribute 'missing'"):
        _ = model.missing
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        model(tg.ones(1))


def test_forward_hooks_order_and_replacement():
    model = nn.Linear(2, 2)
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    handle = model.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    out = model(tg.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), model.bias.detach().numpy()[None] + 1)
    assert calls == ["pre", "post"]
    handle.remove()
    model(tg.ones(1, 2))
    assert calls == ["pre", "post", "pre"]


def test_full_backward_hooks_match_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    records = {}
    for lib in (torch, tg):
        model = lib.nn.Linear(4, 2).double()
        if lib is tg:
            copy_from_torch(model, records["torch_model"])
        else:
            records["torch_model"] = model
        seen = []
        model.register_full_backward_pre_hook(
            lambda m, gout, seen=seen: seen.append(("pre", gout)))
        model.register_full_backward_hook(
            lambda m, gin, gout, seen=seen: seen.append(("hook", gin, gout)))
        xi = lib.tensor(x, requires_grad=True)
        (model(xi) * 2).sum().backward()
        records[lib.__name__] = (seen, xi.grad.numpy())
    ours, theirs = records["tapegrad"], records["torch"]
    assert [s[0] for s in ours[0]] == [s[0] for s in theirs[0]] == ["pre", "hook"]
    np.testing.assert_allclose(ours[0][1][1][0].numpy(), theirs[0][1][1][0].numpy())
    np.testing.assert_allclose(ours[0][1][2][0].numpy(), theirs[0][1][2][0].numpy())
    np.testing.assert_allclose(ours[1], theirs[1])


def test_module_call_records_qualified_paths_on_the_tape():
    model = nn.Sequential(OrderedDict(enc=nn.Sequential(nn.Linear(2, 2), nn.ReLU()),
                                      head=nn.Linear(2, 1)))
    out = model(tg.ones(1, 2))
    paths = [e.module_path for e in tg.autograd.Tape.of(out)]
    assert "enc.0" in paths and "enc.1" in paths and "head" in paths


def test_containers():
    seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    assert isinstance(seq[0:2], nn.Sequential) and len(seq[0:2]) == 2
    assert isinstance(seq[-1], nn.Linear)
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    named = nn.Sequential(OrderedDict(first=nn.Linear(1, 1)))
    assert list(named.state_dict()) == ["first.weight", "first.bias"]
    mlist = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(list(mlist.parameters())) == 6 and len(mlist) == 3
    mdict = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(mdict.keys()) == ["a", "b"] and "a" in mdict
    assert repr(mdict) == repr(torch.nn.ModuleDict({"a": torch.nn.Linear(1, 1),
                                                    "b": torch.nn.ReLU()}))


def test_to_dtype_keeps_parameter_objects_and_deepcopy_is_independent():
    model = build(tg)
    weight = model.fc1.weight
    model.double()
    assert model.fc1.weight is weight and weight.dtype == tg.float64
    assert model(tg.ones(1, 4, dtype=tg.float64)).dtype == tg.float64
    clone = copy.deepcopy(model)
    assert isinstance(clone.fc1.weight, nn.Parameter)
    with tg.no_grad():
        clone.fc1.weight.add_(1.0)
    assert not np.allclose(clone.fc1.weight.numpy(force=True), weight.numpy(force=True))


def test_parameter_basics():
    p = nn.Parameter(tg.zeros(2))
    assert p.requires_grad and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    with tg.no_grad():
        assert nn.Parameter(tg.zeros(1)).requires_grad
    assert type(p.detach()) is tg.Tensor and type(p * 2) is tg.Tensor


def test_module_list_repr_groups_repeated_layers_like_torch():
    ours = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2),
                                  torch.nn.ReLU(), torch.nn.Linear(2, 2)])
    assert repr(ours) == repr(theirs)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), num_layers=2,
                                enable_nested_tensor=False)
    tenc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), num_layers=2,
                                       enable_nested_tensor=False)
    assert repr(enc) == repr(tenc)
