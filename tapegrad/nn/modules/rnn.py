"""Recurrent layers over whole sequences: `RNN`, `LSTM`, `GRU`.

Each layer runs a cell over the time steps of its input, carrying a hidden state (and the
LSTM's cell state) from step to step; stacked layers (``num_layers``) feed each layer's
output sequence to the next, and ``bidirectional`` adds a second pass from the end of the
sequence backwards whose outputs are concatenated to the forward pass's.

Shapes (D = 2 if bidirectional else 1, H_out = proj_size or hidden_size):

* input (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched (L, H_in);
* output (L, N, D * H_out) (batch-first likewise);
* h_n (D * num_layers, N, H_out); the LSTM's c_n (D * num_layers, N, hidden_size).

Parameters carry torch's names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) with the
gates packed in torch's order (LSTM i, f, g, o; GRU r, z, n), so a torch state_dict loads
as is. All start uniform in +-1/sqrt(hidden_size). The computation is in
`tapegrad.nn.functional.rnn`: one matrix product for the whole input sequence, then the loop
over time steps, which for the LSTM and GRU runs inside one fused tape entry per layer and
direction (the plain RNN records two ops per step).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from tapegrad import creation
from tapegrad.nn import init
from tapegrad.nn.functional.rnn import rnn_forward
from tapegrad.nn.module import Module
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _check_hidden_size(hx: Tensor, expected: tuple, msg: str = "Expected hidden size {}, got {}"
                       ) -> None:
    if tuple(hx.shape) != expected:
        raise RuntimeError(msg.format(expected, list(hx.shape)))


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, checks, the batch_first/unbatched plumbing."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_options(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                       proj_size)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(dirs):
                layer_input = input_size if layer == 0 else real_hidden * dirs
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    setattr(self, base + suffix,
                            Parameter(creation.empty(*shape, dtype=dtype)))
                    names.append(base + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list[Tensor | None]:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op (torch packs weights for cuDNN here)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    # ------------------------------------------------------------ checks (torch's names)
    def check_input(self, input: Tensor, batch_sizes: Any = None) -> None:
        w_dtype = self._flat_weights[0].dtype
        if input.dtype != w_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({w_dtype}). "
                f"Convert input: input.to({w_dtype}), or convert model: model.to({input.dtype})"
            )
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.shape[-1]}"
            )

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Any = None
                                 ) -> tuple[int, int, int]:
        batch = input.shape[0] if self.batch_first else input.shape[1]
        dirs = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * dirs, batch, real_hidden)

    def check_forward_args(self, input: Tensor, hidden: Tensor,
                           batch_sizes: Any = None) -> None:
        self.check_input(input, batch_sizes)
        _check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------ forward
    def _zeros(self, input: Tensor, size: int) -> Tensor:
        dirs = 2 if self.bidirectional else 1
        batch = input.shape[0] if self.batch_first else input.shape[1]
        return creation.zeros(self.num_layers * dirs, batch, size, dtype=input.dtype,
                              device=input.device)

    def _weights_by_direction(self) -> list[list]:
        """[w_ih, w_hh, b_ih, b_hh, w_hr] per (layer, direction), None where absent."""
        out = []
        for names in self._all_weights:
            ws = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append([ws["weight_ih"], ws["weight_hh"], ws.get("bias_ih"), ws.get("bias_hh"),
                        ws.get("weight_hr")])
        return out

    def _run(self, input: Tensor, hx: Tensor, cx: Tensor | None
             ) -> tuple[Tensor, Tensor, Tensor | None]:
        """input batched (batch_first respected), states (D * layers, N, H)."""
        x = input.transpose(0, 1) if self.batch_first else input
        if x.shape[0] == 0:  # no steps: there is no output to stack (torch's message)
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        out, h_n, c_n = rnn_forward(self.mode, x, hx, cx, self._weights_by_direction(),
                                    self.num_layers, self.dropout, self.training,
                                    self.bidirectional)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, h_n, c_n

    def _batched(self, input: Tensor) -> bool:
        if input.dim() not in (2, 3):
            name = "RNN" if self.mode.startswith("RNN") else self.mode
            tensor = " tensor" if self.mode.startswith("RNN") else ""
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead"
            )
        return input.dim() == 3


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        return _single_state_forward(self, input, hx)


class GRU(RNNBase):
    """Gated recurrent unit, gates packed (r, z, n)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)     z = (the same with W_iz, W_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  h' = (1 - z) * n + z * h
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input: Tensor, hx: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        return _single_state_forward(self, input, hx)


def _single_state_forward(module: RNNBase, input: Tensor, hx: Tensor | None
                          ) -> tuple[Tensor, Tensor]:
    """RNN / GRU forward: one state tensor."""
    batched = module._batched(input)
    batch_dim = 0 if module.batch_first else 1
    if not batched:
        input = input.unsqueeze(batch_dim)
        if hx is not None:
            if hx.dim() != 2:
                raise RuntimeError(
                    f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor"
                )
            hx = hx.unsqueeze(1)
    elif hx is not None and hx.dim() != 3:
        raise RuntimeError(
            f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor"
        )
    if hx is None:
        hx = module._zeros(input, module.hidden_size)
    module.check_forward_args(input, hx)
    out, h_n, _ = module._run(input, hx, None)
    if not batched:
        out, h_n = out.squeeze(batch_dim), h_n.squeeze(1)
    return out, h_n


class LSTM(RNNBase):
    """Long short-term memory, gates packed (i, f, g, o)::

        i, f, o = sigmoid(W_i* x + b_i* + W_h* h + b_h*)   g = tanh(...)
        c' = f * c + i * g                                h' = o * tanh(c')

    ``proj_size > 0`` projects h' to ``proj_size`` features (``weight_hr_l{k}``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Any = None
                               ) -> tuple[int, int, int]:
        batch = input.shape[0] if self.batch_first else input.shape[1]
        dirs = 2 if self.bidirectional else 1
        return (self.num_layers * dirs, batch, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: tuple,
                           batch_sizes: Any = None) -> None:
        self.check_input(input, batch_sizes)
        _check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                           "Expected hidden[0] size {}, got {}")
        _check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                           "Expected hidden[1] size {}, got {}")

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        batched = self._batched(input)
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zeros(input, real_hidden), self._zeros(input, self.hidden_size))
        else:
            want = 3 if batched else 2
            if hx[0].dim() != want or hx[1].dim() != want:
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise RuntimeError(
                    f"For {kind} input, hx and cx should also be {want}-D but got "
                    f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                )
            if not batched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx)
        out, h_n, c_n = self._run(input, hx[0], hx[1])
        if not batched:
            out, h_n, c_n = out.squeeze(batch_dim), h_n.squeeze(1), c_n.squeeze(1)
        return out, (h_n, c_n)


def _check_options(input_size: Any, hidden_size: Any, num_layers: int, bias: Any,
                   batch_first: Any, dropout: Any, proj_size: int) -> None:
    if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
            or isinstance(dropout, bool)):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=4)
    if not isinstance(bias, bool):
        raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
    if not isinstance(input_size, int):
        raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]
