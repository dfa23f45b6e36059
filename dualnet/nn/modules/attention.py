"""`nn.MultiheadAttention` with torch's parameters (in_proj_weight / q,k,v_proj_weight,
in_proj_bias, out_proj, bias_k / bias_v), masks and return values, over the core attention op."""
import math
import numbers

from ...core import creation as _creation
from ...core.ops._common import shape_str
from ...core.ops.matmul import ops as _mm
from ...core.ops.shape import ops as _shape
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under torch's name for MultiheadAttention's out_proj, so reprs match torch's."""


def _float_mask(mask, dtype, layer, name):
    """A bool mask (True = may not attend) as an additive float mask (-inf there, 0 elsewhere);
    float masks pass through in the query's dtype."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        zeros = _creation.zeros(tuple(mask.shape), dtype=dtype, device=mask.device)
        return zeros.masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise TypeError(f"{layer}: {name} must be a bool or floating point tensor, got "
                        f"{mask.dtype.name}")
    return mask.to(dtype)


def _attention_with_weights(q, k, v, mask, dropout_p):
    """softmax(q k^T / sqrt(E) + mask) v and the (dropped-out) weights, on (B, L, E) tensors.
    Composed here because the core's scaled_dot_product_attention does not return its weights."""
    q_scaled = q * (1.0 / math.sqrt(q.shape[-1]))
    keys_t = k.transpose(-2, -1)
    scores = _mm.bmm(q_scaled, keys_t) if mask is None else _mm.baddbmm(mask, q_scaled, keys_t)
    weights = F.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    return _mm.bmm(weights, v), weights


class MultiheadAttention(Module):
    """Attention of `num_heads` heads of embed_dim // num_heads features each (Vaswani et al.,
    2017): out_proj(concat_h softmax(Q_h K_h^T / sqrt(d) + mask) V_h), with Q, K, V the
    in-projections of query, key and value. Returns (output, weights), the weights averaged over
    the heads (average_attn_weights) or per head, or None when need_weights=False. Masks: a bool
    attn_mask / key_padding_mask marks with True what may NOT be attended; a float one is added.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = dn.randn(3, 5, 8)
    >>> output, weights = mha(x, x, x)
    >>> output.shape, weights.shape
    (dualnet.Size([3, 5, 8]), dualnet.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got "
                                 f"{value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        factory = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_creation.empty((3 * embed_dim, embed_dim), **factory))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(_creation.empty((embed_dim, embed_dim), **factory))
            self.k_proj_weight = Parameter(_creation.empty((embed_dim, self.kdim), **factory))
            self.v_proj_weight = Parameter(_creation.empty((embed_dim, self.vdim), **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_creation.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **factory)
        if add_bias_kv:
            self.bias_k = Parameter(_creation.empty((1, 1, embed_dim), **factory))
            self.bias_v = Parameter(_creation.empty((1, 1, embed_dim), **factory))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        # torch's choice: Glorot-uniform projections (the packed 3E x E matrix as one), zero
        # biases, Glorot-normal bias_k / bias_v; out_proj.weight keeps Linear's own init
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    # ----------------------------------------------------------------- checks

    def _check_shapes(self, query, key, value, key_padding_mask, attn_mask):
        """torch's rules for batched (3-D) and unbatched (2-D) calls; True when batched."""
        facts = (f"query {shape_str(query.shape)}, key {shape_str(key.shape)}, value "
                 f"{shape_str(value.shape)}")
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(f"MultiheadAttention: query, key and value must all be 3-D "
                               f"(batched) or all 2-D (unbatched), got {facts}")
        batched = query.ndim == 3
        if key_padding_mask is not None and key_padding_mask.ndim != (2 if batched else 1):
            raise RuntimeError(f"MultiheadAttention: key_padding_mask must be "
                               f"{'2-D (batch, S)' if batched else '1-D (S)'} for "
                               f"{'batched' if batched else 'unbatched'} input ({facts}), got "
                               f"{shape_str(key_padding_mask.shape)}")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise RuntimeError(f"MultiheadAttention: attn_mask must be 2-D (L, S) or 3-D "
                               f"(batch * num_heads, L, S), got {shape_str(attn_mask.shape)}")
        if query.shape[-1] != self.embed_dim or key.shape[-1] != self.kdim or \
                value.shape[-1] != self.vdim:
            raise RuntimeError(f"MultiheadAttention: expected feature sizes embed_dim="
                               f"{self.embed_dim}, kdim={self.kdim}, vdim={self.vdim} in the last "
                               f"dims, got {facts}")
        if key.shape[:-1] != value.shape[:-1]:
            raise RuntimeError(f"MultiheadAttention: key and value must agree on every dim but "
                               f"the last, got {facts}")
        batch_dim = 0 if self.batch_first else 1
        if batched and key.shape[batch_dim] != query.shape[batch_dim]:
            raise RuntimeError(f"MultiheadAttention: query and key have different batch sizes "
                               f"in dim {batch_dim} (batch_first={self.batch_first}): {facts}")
        return batched

    # ----------------------------------------------------------------- forward

    def _in_projection(self, query, key, value):
        weight, bias = self.in_proj_weight, self.in_proj_bias
        biases = (None,) * 3 if bias is None else _shape.chunk(bias, 3)
        if self._qkv_same_embed_dim:
            if query is key and key is value:  # self-attention: one product for all three
                return _shape.chunk(F.linear(query, weight, bias), 3, -1)
            weights = _shape.chunk(weight, 3)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        layer = "MultiheadAttention"
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{layer}: is_causal=True is only a hint that attn_mask is "
                               f"causal; pass the causal attn_mask as well")
        if batched and self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value)) if not (
                query is key and key is value) else (query.transpose(0, 1),) * 3
        elif not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value)) if not (
                query is key and key is value) else (query.unsqueeze(1),) * 3
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        target_len, batch, embed = query.shape
        heads, head_dim = self.num_heads, self.head_dim
        key_padding_mask = _float_mask(key_padding_mask, query.dtype, layer, "key_padding_mask")
        attn_mask = _float_mask(attn_mask, query.dtype, layer, "attn_mask")

        q, k, v = self._in_projection(query, key, value)
        if attn_mask is not None:
            source_len = key.shape[0]
            expected = (target_len, source_len) if attn_mask.ndim == 2 else \
                (batch * heads, target_len, source_len)
            if tuple(attn_mask.shape) != expected:
                raise RuntimeError(f"{layer}: attn_mask should have shape {shape_str(expected)} "
                                   f"for query {shape_str(query.shape)} and key "
                                   f"{shape_str(key.shape)} (sequence-first), got "
                                   f"{shape_str(attn_mask.shape)}")
            if attn_mask.ndim == 2:
                attn_mask = attn_mask.unsqueeze(0)
        if self.bias_k is not None and self.bias_v is not None:
            # one learned key / value appended to every sequence (structural: a concatenation)
            k = _shape.cat([k, self.bias_k.expand(1, batch, embed)], 0)
            v = _shape.cat([v, self.bias_v.expand(1, batch, embed)], 0)
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask,
                                                                           (0, 1))
        # (len, batch, embed) -> (batch * heads, len, head_dim), torch's head layout
        q = q.reshape(target_len, batch * heads, head_dim).transpose(0, 1)
        k = k.reshape(k.shape[0], batch * heads, head_dim).transpose(0, 1)
        v = v.reshape(v.shape[0], batch * heads, head_dim).transpose(0, 1)
        if self.add_zero_attn:
            zeros = _creation.zeros((batch * heads, 1, head_dim), dtype=k.dtype, device=k.device)
            k, v = _shape.cat([k, zeros], 1), _shape.cat([v, zeros], 1)
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask,
                                                                           (0, 1))
        source_len = k.shape[1]
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, source_len):
                raise RuntimeError(f"{layer}: key_padding_mask should have shape "
                                   f"{shape_str((batch, source_len))} (batch, S), got "
                                   f"{shape_str(key_padding_mask.shape)}")
            padding = key_padding_mask.reshape(batch, 1, 1, source_len).expand(
                batch, heads, 1, source_len).reshape(batch * heads, 1, source_len)
            attn_mask = padding if attn_mask is None else attn_mask + padding
        dropout_p = self.dropout if self.training else 0.0

        if need_weights:
            output, weights = _attention_with_weights(q, k, v, attn_mask, dropout_p)
            output = output.transpose(0, 1).reshape(target_len * batch, embed)
        else:
            if attn_mask is not None:
                attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else \
                    attn_mask.reshape(batch, heads, -1, source_len)
            output = F.scaled_dot_product_attention(
                q.reshape(batch, heads, target_len, head_dim),
                k.reshape(batch, heads, source_len, head_dim),
                v.reshape(batch, heads, source_len, head_dim), attn_mask, dropout_p)
            output = output.permute(2, 0, 1, 3).reshape(target_len * batch, embed)
            weights = None
        output = F.linear(output, self.out_proj.weight, self.out_proj.bias)
        output = output.reshape(target_len, batch, embed)
        if weights is not None:
            weights = weights.reshape(batch, heads, target_len, source_len)
            if average_attn_weights:
                weights = weights.mean(1)
        if not batched:
            return output.squeeze(1), (None if weights is None else weights.squeeze(0))
        return (output.transpose(0, 1) if self.batch_first else output), weights
