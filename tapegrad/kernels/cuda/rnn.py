"""CUDA twins of `tapegrad.kernels.rnn_reference`: the LSTM and GRU cells' pointwise half.

Here they *are* the reference: its NumPy calls (``np.exp``, ``np.tanh``, ``np.where``,
``+=``, slice assignment) run on `CudaArray`s unchanged, each one an elementwise kernel
launched through the array protocols (`tapegrad.kernels.cuda.ufuncs`). That is about ten
launches a step forward and twenty-five backward where one fused kernel each would do; a
fused CUDA kernel is the obvious next step if the GPU's LSTM becomes a target.
"""

from __future__ import annotations

from .. import rnn_reference

__all__ = list(rnn_reference.__all__)

lstm_cell_forward_ = rnn_reference.lstm_cell_forward_
lstm_cell_backward_ = rnn_reference.lstm_cell_backward_
gru_cell_forward_ = rnn_reference.gru_cell_forward_
gru_cell_backward_ = rnn_reference.gru_cell_backward_
