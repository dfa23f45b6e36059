"""Scaled dot-product attention, composed from matmul, softmax and dropout (torch's semantics).

softmax(Q K^T * scale + mask) V, with scale = 1/sqrt(E) by default. A bool mask marks the
positions that may be attended to (True = keep), a float mask is added to the scores, and
is_causal keeps the lower triangle. Rows whose every position is masked out give NaN, as torch.
"""
import math

from ...device import array_module
from ...tensor import Tensor
from .._common import shape_str
from ..dropout.ops import dropout
from ..elementwise.ops import where
from ..matmul.ops import matmul
from ..reduction.ops import softmax


def _check(query, key, value, attn_mask):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got "
                            f"{type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must have at least 2 dims "
                               f"(..., L, E), got {shape_str(t.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {shape_str(query.shape)}, key "
                           f"{shape_str(key.shape)} and value {shape_str(value.shape)} must agree "
                           f"(query and key on E, key and value on S)")
    if attn_mask is not None and not isinstance(attn_mask, Tensor):
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be a Tensor, got "
                        f"{type(attn_mask).__name__}")


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """Attention over (..., L, E) queries, (..., S, E) keys and (..., S, Ev) values."""
    _check(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: pass either attn_mask or is_causal, "
                           "not both")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        rows, cols = query.shape[-2], key.shape[-2]
        xp = array_module(query.device)
        keep = xp.tril(xp.ones((rows, cols), dtype=bool))
        attn_mask = Tensor._make(keep, query.device, None, False, None, 0, None)
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask.to(scores.dtype)
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


FUNCTIONAL = ["scaled_dot_product_attention"]
__all__ = []
METHODS = {}
