"""ParameterList and ParameterDict: parameters they hold are registered (parameters(),
state_dict keys as torch names them, optimizers see them), plain tensors become
Parameters, and list/dict operations behave like torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn as nn


class _Holder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.plist = nn.ParameterList([tapegrad.ones(2), nn.Parameter(tapegrad.zeros(3))])
        self.pdict = nn.ParameterDict({"w": tapegrad.ones(2, 2)})

    def forward(self, x):
        return (x * self.plist[0]).sum() + self.pdict["w"].sum() + self.plist[1].sum()


class _TorchHolder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.plist = torch.nn.ParameterList([torch.ones(2), torch.nn.Parameter(torch.zeros(3))])
        self.pdict = torch.nn.ParameterDict({"w": torch.ones(2, 2)})


def test_registered_like_torch():
    got = _Holder()
    assert list(got.state_dict()) == list(_TorchHolder().state_dict())
    assert all(isinstance(p, nn.Parameter) for p in got.plist)
    assert len(list(got.parameters())) == 3
    got(tapegrad.ones(2)).backward()
    np.testing.assert_array_equal(got.plist[0].grad.numpy(), np.ones(2))
    opt = tapegrad.optim.SGD(got.parameters(), lr=0.5)
    opt.step()
    np.testing.assert_array_equal(got.pdict["w"].detach().numpy(), np.full((2, 2), 0.5))


def test_list_operations():
    plist = nn.ParameterList()
    plist.append(tapegrad.ones(1))
    plist.extend([tapegrad.ones(2), tapegrad.ones(3)])
    plist += [tapegrad.ones(4)]
    assert len(plist) == 4 and [p.shape[0] for p in plist] == [1, 2, 3, 4]
    assert plist[-1].shape[0] == 4 and len(plist[1:3]) == 2
    plist[0] = tapegrad.zeros(5)
    assert isinstance(plist[0], nn.Parameter) and plist[0].shape[0] == 5
    with pytest.raises(IndexError):
        plist[4]
    with pytest.raises(TypeError, match="should be called with an iterable"):
        plist.extend(3)


def test_dict_operations():
    pdict = nn.ParameterDict([("b", tapegrad.ones(1)), ("a", tapegrad.ones(2))])
    assert list(pdict) == ["b", "a"]  # a sequence of pairs keeps its order
    assert list(nn.ParameterDict({"b": tapegrad.ones(1), "a": tapegrad.ones(1)})) == \
        list(torch.nn.ParameterDict({"b": torch.ones(1), "a": torch.ones(1)}))
    pdict["c"] = tapegrad.ones(3)
    assert "c" in pdict and len(pdict) == 3 and isinstance(pdict["c"], nn.Parameter)
    assert pdict.pop("b").shape[0] == 1 and list(pdict.keys()) == ["a", "c"]
    assert pdict.get("missing") is None
    merged = pdict | nn.ParameterDict({"d": tapegrad.ones(4)})
    assert list(merged) == ["a", "c", "d"]
    del pdict["a"]
    assert [n for n, _ in pdict.named_parameters()] == ["c"]
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        pdict.update([("x", tapegrad.ones(1), 3)])
