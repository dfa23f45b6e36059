"""Keras's MultiHeadAttention with Keras's weight shapes (query/key/value kernels (dim, heads,
key_dim), output kernel (heads, value_dim, dim)), composed from core matmul / softmax / dropout."""
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
        if attention_axes is not None and tuple(np.atleast_1d(attention_axes)) not in ((1,), (-2,)):
            raise NotImplementedError("MultiHeadAttention: only the default attention_axes "
                                      "(the sequence axis of 3-D inputs) is supported")
        if sliding_window is not None or use_gate:
            raise NotImplementedError("MultiHeadAttention: sliding_window and use_gate are not "
                                      "supported by dualnet")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        if output_shape is not None and isinstance(output_shape, numbers.Integral):
            output_shape = (int(output_shape),)
        self._output_shape = None if output_shape is None else tuple(output_shape)
        self.attention_axes = attention_axes
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
        for arg, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(f"MultiHeadAttention '{self.name}': {arg} must be 3-D (batch, "
                                 f"sequence, features), got shape {tuple(shape)}")
        heads = self.num_heads
        out = self._output_shape or (query_shape[-1],)
        self.query_dense = self._projection("query", (heads, self.key_dim),
                                            (heads, self.key_dim), 1)
        self.query_dense.build(query_shape)
        self.key_dense = self._projection("key", (heads, self.key_dim), (heads, self.key_dim), 1)
        self.key_dense.build(key_shape)
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
        # (B, T, heads, d) -> (B, heads, T, d)
        q = self.query_dense(query).permute(0, 2, 1, 3)
        k = self.key_dense(key).permute(0, 2, 1, 3)
        v = self.value_dense(value).permute(0, 2, 1, 3)
        q = q * (1.0 / math.sqrt(self.key_dim))
        scores = q.matmul(k.transpose(-2, -1))
        keep = self._attention_mask(query, value, query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask)
        if keep is not None:
            scores = scores.where(keep.unsqueeze(-3), _MASKED_SCORE)
        weights = F.softmax(scores, dim=-1)
        dropped = F.dropout(weights, self.dropout, training=True) if (
            training and self.dropout > 0) else weights
        attended = dropped.matmul(v).permute(0, 2, 1, 3)  # (B, T, heads, value_dim)
        output = self.output_dense(attended)
        return (output, weights) if return_attention_scores else output

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        """The (B, T, S) bool mask of allowed positions (Keras's rule: every given mask ANDed)."""
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
        if attention_mask is not None:
            keep = both(keep, boolean(attention_mask))
        return keep

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
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
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
