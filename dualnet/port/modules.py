"""The two small modules a converted `nn.Sequential` may need where torch.nn has no layer: a
permutation of dims (torchvision's `ops.Permute`), and the pick of a recurrent layer's output
from its (output, state) tuple, which Keras's LSTM / GRU return on their own."""
from ..nn import Module

__all__ = ["Permute", "RNNOutput"]


class Permute(Module):
    """Permutes the dims of its input, batch dim included: `input.permute(*dims)`.

    >>> import dualnet as dn
    >>> from dualnet import port
    >>> port.Permute((0, 2, 3, 1))(dn.zeros(2, 3, 4, 5)).shape
    dualnet.Size([2, 4, 5, 3])
    """

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(len(self.dims))):
            raise ValueError(f"Permute: dims must be a permutation of 0..{len(self.dims) - 1}, "
                             f"got {tuple(dims)}")

    def forward(self, input):
        return input.permute(*self.dims)

    def extra_repr(self):
        return f"{self.dims}"


class RNNOutput(Module):
    """Takes a batch_first nn.LSTM / nn.GRU's `(output, state)` and returns what Keras's layer
    returns: the whole sequence (batch, time, hidden) with return_sequences=True, else the last
    step (batch, hidden).

    >>> import dualnet as dn
    >>> from dualnet import nn, port
    >>> rnn = nn.Sequential(nn.GRU(3, 4, batch_first=True), port.RNNOutput())
    >>> rnn(dn.zeros(2, 5, 3)).shape
    dualnet.Size([2, 4])
    """

    def __init__(self, return_sequences=False):
        super().__init__()
        self.return_sequences = bool(return_sequences)

    def forward(self, input):
        if not isinstance(input, (tuple, list)) or len(input) != 2:
            raise TypeError(f"RNNOutput: expected the (output, state) tuple of an nn.LSTM or "
                            f"nn.GRU, got {type(input).__name__}")
        output = input[0]
        if output.ndim != 3:
            raise ValueError(f"RNNOutput: expected a batch_first output (batch, time, hidden), "
                             f"got shape {tuple(output.shape)}")
        return output if self.return_sequences else output[:, -1]

    def extra_repr(self):
        return f"return_sequences={self.return_sequences}"
