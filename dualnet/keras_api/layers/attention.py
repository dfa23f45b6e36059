"""Keras's MultiHeadAttention with Keras's weight shapes (query/key/value kernels (dim, heads,
key_dim), output kernel (heads, value_dim, dim), with use_gate a gate kernel (dim, heads,
value_dim)), composed from core matmul / softmax / sigmoid / dropout."""
# Composed rather than the fused core scaled_dot_product_attention: Keras returns the attention
# weights on request, which that op does not give.
import math
import numbers

import numpy as np

from ...core.creation import as_tensor
from ...core.tensor import Tensor
from ...nn import functional as F
from .. import initializers, regularizers
from .core import _serialized
from .layer import Layer

__all__ = ["MultiHeadAttention"]

# what masked scores get before the softmax: Keras's large negative number for float32, so a row
# with nothing to attend to comes out uniform (not NaN)
_MASKED_SCORE = -1e9
# what Keras's fused path (its torch backend's dot_product_attention, `_get_large_negative`) adds
# to masked scores: it swamps them, so a row with nothing to attend to comes out uniform, yet as
# a sum it still passes that row's softmax gradient on to the scores, as Keras's does
_FUSED_MASK_BIAS = -0.7 * 3.38953e38


class _HeadProjection(Layer):
    """A projection whose kernel is (in, *heads_and_features) or (*heads_and_features, out):
    Keras's EinsumDense as MultiHeadAttention uses it, run as one matrix product."""

    def __init__(self, kernel_tail, bias_shape, in_dims, use_bias, kernel_initializer,
                 bias_initializer, kernel_regularizer, bias_regularizer, kernel_constraint,
                 bias_constraint, **kwargs):
        super().__init__(**kwargs)
        self.kernel_tail, self.bias_shape, self.in_dims = kernel_tail, bias_shape, in_dims
        self.use_bias = use_bias
        self._options = dict(kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                             bias=(bias_initializer, bias_regularizer, bias_constraint))

    def build(self, input_shape):
        lead = tuple(input_shape[-self.in_dims:])
        init, reg, con = self._options["kernel"]
        self.kernel = self.add_weight(shape=lead + tuple(self.kernel_tail), name="kernel",
                                      initializer=init.clone() if hasattr(init, "clone") else init,
                                      regularizer=reg, constraint=con)
        self.bias = None
        if self.use_bias:
            init, reg, con = self._options["bias"]
            self.bias = self.add_weight(shape=self.bias_shape, name="bias", initializer=init,
                                        regularizer=reg, constraint=con)
        self.built = True

    def call(self, inputs):
        lead = tuple(inputs.shape[:inputs.ndim - self.in_dims])
        flat_in = int(np.prod(self.kernel.shape[:self.in_dims]))
        flat_kernel = self.kernel.reshape(flat_in, -1)
        bias = None if self.bias is None else self.bias.reshape(-1)
        out = F.linear(inputs.reshape(*lead, flat_in), flat_kernel.t(), bias)
        return out.reshape(*lead, *self.kernel.shape[self.in_dims:])


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017) with Keras's arguments and weight layout.

    call(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False); query (B, T, dim), value/key (B, S, dim);
    attention_mask (B, T, S), True where attention is allowed; scores (B, num_heads, T, S).

    sliding_window=w lets query position i attend only to key positions j with |i - j| < w (a
    band over axis 1, ANDed with the other masks; with use_causal_mask, the causal window).
    use_gate=True (gated attention, Qiu et al., 2025) multiplies each head's attended values by
    sigmoid(query W_gate + b_gate) before the output projection; the gate's weights come after
    the key's in `weights` (query, key, gate, value, attention_output), as Keras builds them.

    >>> import dualnet as dn
    >>> mha = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> mha(dn.ones(1, 3, 8), dn.ones(1, 5, 8)).shape
    dualnet.Size([1, 3, 8])
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MultiHeadAttention: {arg} must be a positive integer, got "
                                 f"{arg}={value!r}")
        if isinstance(attention_axes, numbers.Integral):
            attention_axes = (int(attention_axes),)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"MultiHeadAttention: `attention_axes` must be an int, list, or "
                             f"tuple. Received: attention_axes={attention_axes!r}")
        if sliding_window is not None and (not isinstance(sliding_window, numbers.Integral)
                                           or isinstance(sliding_window, bool)
                                           or sliding_window <= 0):
            raise ValueError(f"MultiHeadAttention: `sliding_window` must be None or a positive "
                             f"integer, got sliding_window={sliding_window!r}")
        self.supports_masking = True
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = use_gate
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        if output_shape is not None and isinstance(output_shape, numbers.Integral):
            output_shape = (int(output_shape),)
        self._output_shape = None if output_shape is None else tuple(output_shape)
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._axes = None  # the attention axes of the inputs, positive, set by build
        self.flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.seed = seed

    def _projection(self, name, kernel_tail, bias_shape, in_dims):
        return _HeadProjection(kernel_tail, bias_shape, in_dims, self.use_bias,
                               self.kernel_initializer, self.bias_initializer,
                               self.kernel_regularizer, self.bias_regularizer,
                               self.kernel_constraint, self.bias_constraint, name=name)

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"MultiHeadAttention '{self.name}': all dimensions of `value` and "
                             f"`key`, except the last one, must be equal. Received: "
                             f"value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}")
        rank = len(query_shape)
        for arg, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3 or len(shape) != rank:
                raise ValueError(f"MultiHeadAttention '{self.name}': query, value and key must "
                                 f"have the same rank, at least 3 (batch, ..., features); got "
                                 f"{arg} of shape {tuple(shape)} and query of shape "
                                 f"{tuple(query_shape)}")
        # Keras's axes: by default every axis between the batch and the features; negative
        # ones count from the end of the input
        axes = tuple(range(1, rank - 1)) if self.attention_axes is None else tuple(
            a if a >= 0 else rank + a for a in self.attention_axes)
        if not axes or any(not 1 <= a < rank - 1 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"MultiHeadAttention '{self.name}': attention_axes "
                             f"{self.attention_axes} must name distinct axes between the batch "
                             f"and the features of inputs of shape {tuple(query_shape)}")
        self._axes = axes
        self.attention_axes = axes  # Keras's config shows the resolved axes once built
        heads = self.num_heads
        out = self._output_shape or (query_shape[-1],)
        self.query_dense = self._projection("query", (heads, self.key_dim),
                                            (heads, self.key_dim), 1)
        self.query_dense.build(query_shape)
        self.key_dense = self._projection("key", (heads, self.key_dim), (heads, self.key_dim), 1)
        self.key_dense.build(key_shape)
        if self.use_gate:
            # Keras keeps it private (`_gate_dense`), so its .weights.h5 group is "_gate_dense"
            self._gate_dense = self._projection("gate", (heads, self.value_dim),
                                                (heads, self.value_dim), 1)
            self._gate_dense.build(query_shape)
        self.value_dense = self._projection("value", (heads, self.value_dim),
                                            (heads, self.value_dim), 1)
        self.value_dense.build(value_shape)
        self.output_dense = self._projection("attention_output", out, out, 2)
        self.output_dense.build(tuple(query_shape[:-1]) + (heads, self.value_dim))
        self.built = True

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        key = value if key is None else key
        if not self.built:
            self.build(tuple(query.shape), tuple(value.shape), tuple(key.shape))
        # as Keras: the query's own mask is the query mask, and the inputs' masks are consumed
        # here (taken off the input tensors); the output carries the query's mask
        query_mask = getattr(query, "_keras_mask", None)
        for tensor in (query, value, key):
            if isinstance(tensor, Tensor) and "_keras_mask" in tensor.__dict__:
                del tensor.__dict__["_keras_mask"]
        # (B, *dims, heads, value_dim), applied to the attended values before the output dense
        gate = F.sigmoid(self._gate_dense(query)) if self.use_gate else None
        # projected (B, *dims, heads, d); Keras's scores are (B, *other dims, heads, *query
        # attention dims, *key attention dims): the attention dims go last, flattened, for
        # one matrix product and one softmax over all the key attention dims
        rank = query.ndim + 1
        axes = self._axes
        others = [a for a in range(1, rank - 2) if a not in axes]
        order = [0] + others + [rank - 2] + list(axes) + [rank - 1]
        q = self.query_dense(query).permute(*order)
        k = self.key_dense(key).permute(*order)
        v = self.value_dense(value).permute(*order)
        lead = tuple(q.shape[:len(others) + 2])
        q_dims = tuple(q.shape[len(lead):-1])
        k_dims = tuple(k.shape[len(lead):-1])
        q = q.reshape(*lead, -1, q.shape[-1]) * (1.0 / math.sqrt(self.key_dim))
        k = k.reshape(*lead, -1, k.shape[-1])
        v = v.reshape(*lead, -1, v.shape[-1])
        scores = q.matmul(k.transpose(-2, -1))  # (*lead, Tq, Tk)
        keep = self._attention_mask(query, value, query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask)
        # Keras's explicit-scores path zeroes the masked weights (a fully masked row gives
        # zeros); its fused path (3-D inputs, no scores asked, no dropout) leaves such a row
        # uniform
        explicit = return_attention_scores or self.dropout > 0 or query.ndim != 3
        if keep is not None:
            keep = self._expanded_mask(keep, lead + q_dims + k_dims).reshape(
                *lead, int(np.prod(q_dims)), int(np.prod(k_dims)))
            scores = scores.where(keep, _MASKED_SCORE if explicit else
                                  scores + _FUSED_MASK_BIAS)
        weights = F.softmax(scores, dim=-1)
        if keep is not None and explicit:
            weights = weights.where(keep, 0.0)
        dropped = F.dropout(weights, self.dropout, training=True) if (
            training and self.dropout > 0) else weights
        attended = dropped.matmul(v)  # (*lead, Tq, value_dim)
        attended = attended.reshape(*lead, *q_dims, attended.shape[-1])
        attended = attended.permute(*np.argsort(order).tolist())  # (B, *dims, heads, value_dim)
        if gate is not None:
            attended = attended * gate
        output = self.output_dense(attended)
        weights = weights.reshape(*lead, *q_dims, *k_dims)
        if query_mask is not None:
            output._keras_mask = query_mask
        return (output, weights) if return_attention_scores else output

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        """The (B, T, S) bool mask of allowed positions (Keras's rule: every given mask ANDed;
        the causal and sliding-window masks are (1, T, S) over axis 1 of query and value)."""
        keep = None

        def both(mask, extra):
            return extra if mask is None else mask & extra

        def boolean(mask):
            mask = mask if isinstance(mask, Tensor) else as_tensor(np.asarray(mask))
            return mask if mask.dtype.name == "bool" else mask != 0
        if query_mask is not None:
            keep = both(keep, boolean(query_mask).unsqueeze(-1))
        if value_mask is not None:
            keep = both(keep, boolean(value_mask).unsqueeze(-2))
        if key_mask is not None:
            keep = both(keep, boolean(key_mask).unsqueeze(-2))
        if use_causal_mask:
            rows, cols = query.shape[1], value.shape[1]
            causal = as_tensor(np.tril(np.ones((1, rows, cols), dtype=bool))).to(query.device)
            keep = both(keep, causal)
        if self.sliding_window is not None:
            rows, cols = np.arange(query.shape[1]), np.arange(value.shape[1])
            band = np.abs(rows[:, None] - cols[None, :]) < self.sliding_window
            keep = both(keep, as_tensor(band[None]).to(query.device))
        if attention_mask is not None:
            keep = both(keep, boolean(attention_mask))
        return keep

    def _expanded_mask(self, mask, score_shape):
        """Keras's rule: unit dims inserted before the query attention dims until the mask has
        the scores' rank, then broadcast to them."""
        while mask.ndim < len(score_shape):
            mask = mask.unsqueeze(-2 * len(self._axes) - 1)
        return mask.expand(*score_shape)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        out = self._output_shape or (query_shape[-1],)
        return tuple(query_shape[:-1]) + tuple(out)

    def compute_output_spec(self, *args, **kwargs):
        # the outputs depend on return_attention_scores, which compute_output_shape cannot see
        return self._infer_by_running(args, kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
            "kernel_initializer": _serialized(initializers, self.kernel_initializer),
            "bias_initializer": _serialized(initializers, self.bias_initializer),
            "kernel_regularizer": _serialized(regularizers, self.kernel_regularizer),
            "bias_regularizer": _serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialized(regularizers, self.activity_regularizer),
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
            "seed": self.seed,
        })
        return config
