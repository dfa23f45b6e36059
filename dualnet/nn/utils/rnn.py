"""Variable-length sequences for the recurrent layers (torch.nn.utils.rnn): `PackedSequence` and
the functions that pack, pad and split batches of sequences of different lengths.

A packed batch stores the steps of its sequences sorted longest first, time-major, with no
padding: `data` holds step 0 of every sequence, then step 1 of those at least 2 long, and so on;
`batch_sizes[t]` counts the sequences still running at step t. Every function here builds its
result with one differentiable gather (an advanced index) over the input, so gradients flow back
to the padded or listed sequences; the index bookkeeping is done on the host with NumPy.
"""
import numbers
from collections.abc import Iterable
from typing import NamedTuple, Optional

import numpy as np

from ...core import creation as _creation
from ...core.ops._common import check_same_device, shape_str
from ...core.ops.indexing import ops as _indexing
from ...core.ops.shape import ops as _shape
from ...core.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


class PackedSequence(_PackedSequenceFields):
    """A packed batch of variable-length sequences, as torch's: `data` (sum of lengths, *),
    `batch_sizes` (an int64 CPU tensor: how many sequences are still running at each step),
    `sorted_indices` / `unsorted_indices` (int64, on data's device; None when the batch was
    packed already sorted). Make one with `pack_padded_sequence` or `pack_sequence`; the
    recurrent layers take it as input and return one.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import pack_sequence
    >>> packed = pack_sequence([dn.tensor([1, 2, 3]), dn.tensor([4, 5]), dn.tensor([6])])
    >>> packed.data.tolist(), packed.batch_sizes.tolist()
    ([1, 4, 6, 2, 5, 3], [3, 2, 1])
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...) as torch allows
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError(f"PackedSequence: without batch_sizes, data must be a pair "
                                f"(data, batch_sizes), got {type(data).__name__}")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(f"PackedSequence: batch_sizes must be on the CPU, got it on "
                             f"{batch_sizes.device}; build packed sequences with "
                             f"pack_padded_sequence or pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Convert `data` as Tensor.to does; the indices follow data's device, batch_sizes stays
        on the CPU. Returns self when data is unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (None if t is None else t.to(data.device)
                                            for t in (self.sorted_indices, self.unsorted_indices))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        if isinstance(device, numbers.Integral):
            device = f"cuda:{device}"
        return self.to(device="cuda" if device is None else device)

    def cpu(self, memory_format=None):
        return self.to(device="cpu")

    def pin_memory(self):
        """Kept for torch code: dualnet has no pinned host memory, so this returns self."""
        return self

    def is_pinned(self):
        return False

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    def half(self):
        return self.to(dtype="float16")

    def long(self):
        return self.to(dtype="int64")

    def int(self):
        return self.to(dtype="int32")

    def short(self):
        return self.to(dtype="int16")

    def char(self):
        return self.to(dtype="int8")

    def byte(self):
        return self.to(dtype="uint8")

    @property
    def is_cuda(self):
        """Whether data is on a CUDA device."""
        return self.data.is_cuda


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None stays None): out[permutation[i]] = i.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import invert_permutation
    >>> invert_permutation(dn.tensor([2, 0, 1])).tolist()
    [1, 2, 0]
    """
    if permutation is None:
        return None
    order = _host(permutation).reshape(-1)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size, dtype=order.dtype)
    return _creation.tensor(inverse, device=permutation.device)


def _host(t):
    return t.detach().cpu().numpy()


def _check_tensor(fn, name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(value).__name__}")


def _lengths(fn, lengths):
    """lengths (a list of ints or a 1-D CPU tensor) as an int64 NumPy vector, as torch reads it:
    floats are truncated, a tensor on another device or of another rank is refused."""
    if isinstance(lengths, Tensor):
        where = f"{lengths.ndim}D {lengths.device} {lengths.dtype.name} tensor"
        if lengths.device.type != "cpu" or lengths.ndim != 1:
            raise RuntimeError(f"{fn}: 'lengths' argument should be a 1D CPU int64 tensor, but "
                               f"got a {where}; pass lengths.cpu() or a list of ints")
        return _host(lengths).astype(np.int64)
    try:
        array = np.asarray(lengths)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: lengths must be a list of ints or a 1-D int64 CPU tensor, got "
                        f"{lengths!r}")
    if array.ndim != 1:
        raise RuntimeError(f"{fn}: 'lengths' argument should be a 1D CPU int64 tensor (or a "
                           f"list of ints), but got {array.ndim} dims: {lengths!r}")
    return array.astype(np.int64)


def _stable_descending(lengths):
    """The order that sorts lengths longest first, ties kept in input order (torch's CPU sort
    gives this order, and sorted_indices must match it)."""
    return np.argsort(-lengths, kind="stable")


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) whose sequence b is
    lengths[b] long into a PackedSequence; differentiable with respect to input.

    With enforce_sorted (the default) lengths must already be in decreasing order; otherwise
    the batch is sorted here and the order kept in sorted_indices / unsorted_indices.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import pack_padded_sequence
    >>> padded = dn.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    >>> packed = pack_padded_sequence(padded, [2, 1, 3], batch_first=True, enforce_sorted=False)
    >>> packed.data.tolist(), packed.batch_sizes.tolist(), packed.sorted_indices.tolist()
    ([4, 1, 3, 5, 2, 6], [3, 2, 1], [2, 0, 1])
    """
    fn = "pack_padded_sequence"
    _check_tensor(fn, "input", input)
    lengths = _lengths(fn, lengths)
    if input.ndim < 2:
        raise IndexError(f"{fn}: input must have at least 2 dims, (T, B, *) or (B, T, *) with "
                         f"batch_first, got shape {shape_str(input.shape)}")
    if input.numel() == 0:
        raise RuntimeError(f"{fn}: cannot pack empty tensors, got input of shape "
                           f"{shape_str(input.shape)}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if lengths.size != batch:
        raise RuntimeError(f"{fn}: expected len(lengths) to be equal to the batch size, but got "
                           f"{lengths.size} lengths for a batch of {batch} (input shape "
                           f"{shape_str(input.shape)}, batch_first={batch_first})")
    if lengths.min() <= 0:
        raise RuntimeError(f"{fn}: the length of every sequence has to be greater than 0, but "
                           f"lengths has {int(lengths.min())} at index {int(lengths.argmin())}")
    if lengths.max() > steps:
        raise RuntimeError(f"{fn}: lengths has {int(lengths.max())} at index "
                           f"{int(lengths.argmax())}, longer than the {steps} steps of input "
                           f"{shape_str(input.shape)}")
    sorted_indices = None
    order = np.arange(batch)
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError(f"{fn}: the `lengths` array must be sorted in decreasing order "
                               f"when `enforce_sorted` is True, got {lengths.tolist()}; pass "
                               f"enforce_sorted=False to pack_padded_sequence / pack_sequence "
                               f"if you do not need ONNX export")
    else:
        order = _stable_descending(lengths)
        lengths = lengths[order]
        sorted_indices = _creation.tensor(order, device=input.device)
    batch_sizes = (lengths[None, :] > np.arange(int(lengths[0]))[:, None]).sum(1)
    time_index = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    batch_index = order[np.concatenate([np.arange(n) for n in batch_sizes])]
    key = (batch_index, time_index) if batch_first else (time_index, batch_index)
    data = _indexing.getitem(input, key)
    return PackedSequence(data, _creation.tensor(batch_sizes.astype(np.int64)), sorted_indices,
                          None)


def _check_packed(fn, sequence):
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: expected a PackedSequence, got {type(sequence).__name__}")


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo pack_padded_sequence: (padded (T, B, *) or (B, T, *) with batch_first, lengths),
    the batch back in its original order, padding filled with padding_value, T =
    total_length when given (at least the longest length); lengths is an int64 CPU tensor.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import pack_sequence, pad_packed_sequence
    >>> packed = pack_sequence([dn.tensor([1, 2]), dn.tensor([3, 4, 5])], enforce_sorted=False)
    >>> padded, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1)
    >>> padded.tolist(), lengths.tolist()
    ([[1, 2, -1], [3, 4, 5]], [2, 3])
    """
    fn = "pad_packed_sequence"
    _check_packed(fn, sequence)
    data = sequence.data
    batch_sizes = _host(sequence.batch_sizes).astype(np.int64)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"{fn}: expected total_length to be at least the length of the "
                             f"longest sequence in input, but got total_length={total_length} "
                             f"and max sequence length being {steps}")
        steps = int(total_length)
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    # rows of `data` per (step, sorted batch slot); the padding row comes after the data
    # (row-major order over (step, slot) is the packed order)
    rows = np.full((steps, batch), data.shape[0], dtype=np.int64)
    running = np.arange(batch)[None, :] < batch_sizes[:, None]
    rows[:batch_sizes.size][running] = np.arange(int(batch_sizes.sum()))
    if sequence.unsorted_indices is not None:
        unsorted = _host(sequence.unsorted_indices).astype(np.int64)
        rows, lengths = rows[:, unsorted], lengths[unsorted]
    padding = data.new_full((1,) + tuple(data.shape[1:]), padding_value)
    padded = _indexing.getitem(_shape.cat([data, padding], 0), rows.T if batch_first else rows)
    return padded, _creation.tensor(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into one (T, B, *) tensor ((B, T, *) with
    batch_first), T the longest L_i, padded with padding_value on the right (or the left);
    differentiable, in the first sequence's dtype.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import pad_sequence
    >>> pad_sequence([dn.tensor([1, 2, 3]), dn.tensor([4])], batch_first=True).tolist()
    [[1, 2, 3], [4, 0, 0]]
    >>> pad_sequence([dn.tensor([1, 2, 3]), dn.tensor([4])], True, 9, "left").tolist()
    [[1, 2, 3], [9, 9, 4]]
    """
    fn = "pad_sequence"
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"{fn}: expected an iterable of tensors for the input sequences, "
                           f"got {type(sequences).__name__}")
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"{fn}: expected padding_side to be one of 'left' or 'right', got "
                           f"{padding_side!r}")
    if not sequences:
        raise RuntimeError(f"{fn}: received an empty list of sequences")
    for i, seq in enumerate(sequences):
        _check_tensor(fn, f"sequences[{i}]", seq)
    first = sequences[0]
    check_same_device(fn, *sequences)
    for i, seq in enumerate(sequences):
        if seq.ndim == 0 or tuple(seq.shape[1:]) != tuple(first.shape[1:]):
            raise RuntimeError(f"{fn}: every sequence must be (length, *) with the same trailing "
                               f"dims as sequences[0] {shape_str(first.shape)}, got "
                               f"sequences[{i}] of shape {shape_str(seq.shape)}")
    lengths = np.array([seq.shape[0] for seq in sequences], dtype=np.int64)
    steps, total = int(lengths.max()), int(lengths.sum())
    # rows of the concatenated sequences per (sequence, step); the padding row comes last
    rows = np.full((len(sequences), steps), total, dtype=np.int64)
    step = np.arange(steps)[None, :]
    filled = (step < lengths[:, None]) if padding_side == "right" else \
        (step >= steps - lengths[:, None])
    rows[filled] = np.arange(total)
    padding = first.new_full((1,) + tuple(first.shape[1:]), padding_value)
    pieces = [seq.to(first.dtype) for seq in sequences] + [padding]
    return _indexing.getitem(_shape.cat(pieces, 0), rows if batch_first else rows.T)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded (T, B, *) tensor ((B, T, *) with batch_first) into its B sequences,
    sequence b keeping its first lengths[b] steps; differentiable, each a new tensor. Unlike
    torch 2.13, the input is left as it was (torch transposes it in place without batch_first).

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import unpad_sequence
    >>> padded = dn.tensor([[1, 4], [2, 0], [3, 0]])
    >>> [s.tolist() for s in unpad_sequence(padded, dn.tensor([3, 1]))]
    [[1, 2, 3], [4]]
    """
    fn = "unpad_sequence"
    _check_tensor(fn, "padded_sequences", padded_sequences)
    if padded_sequences.ndim < 2:
        raise IndexError(f"{fn}: padded_sequences must have at least 2 dims, got shape "
                         f"{shape_str(padded_sequences.shape)}")
    lengths = _lengths(fn, lengths) if isinstance(lengths, Tensor) else \
        np.asarray(lengths, dtype=np.int64).reshape(-1)
    steps, batch = ((padded_sequences.shape[1], padded_sequences.shape[0]) if batch_first
                    else padded_sequences.shape[:2])
    if lengths.size != batch:
        raise ValueError(f"{fn}: got {lengths.size} lengths for a batch of {batch} (padded "
                         f"shape {shape_str(padded_sequences.shape)}, batch_first={batch_first})")
    out = []
    for b, length in enumerate(lengths):
        time_index = np.arange(min(max(int(length), 0), steps))
        key = (b, time_index) if batch_first else (time_index, b)
        out.append(_indexing.getitem(padded_sequences, key))
    return out


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *): pad_sequence followed by pack_padded_sequence.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import pack_sequence
    >>> pack_sequence([dn.tensor([1, 2]), dn.tensor([3, 4, 5])], enforce_sorted=False).data.tolist()
    [3, 1, 4, 2, 5]
    """
    sequences = list(sequences)
    lengths = [seq.shape[0] if isinstance(seq, Tensor) and seq.ndim else 0 for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences packed in a PackedSequence, in their original order.

    >>> import dualnet as dn
    >>> from dualnet.nn.utils.rnn import pack_sequence, unpack_sequence
    >>> packed = pack_sequence([dn.tensor([1, 2, 3]), dn.tensor([4, 5]), dn.tensor([6])])
    >>> [s.tolist() for s in unpack_sequence(packed)]
    [[1, 2, 3], [4, 5], [6]]
    """
    _check_packed("unpack_sequence", packed_sequences)
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
