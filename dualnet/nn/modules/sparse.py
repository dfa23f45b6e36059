"""The Embedding layer (torch.nn's name, arguments, N(0, 1) init and repr): a table of vectors
looked up by integer index through F.embedding."""
from ...core import creation as _creation
from ...core.autograd import no_grad
from ...core.ops._common import shape_str
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """Rows of weight (num_embeddings, embedding_dim) at integer indices: (*) -> (*, dim).

    weight starts N(0, 1); the padding_idx row starts at zero and gets no gradient (a fixed
    "nothing here" vector). max_norm renormalises each looked-up row to norm <= max_norm in
    place, as torch does. scale_grad_by_freq divides each row's gradient by how many times its
    index occurs in the batch. sparse=True is accepted (torch's signature) but raises when
    called: dualnet's weight gradients are dense.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> emb = nn.Embedding(10, 3, padding_idx=0)
    >>> emb
    Embedding(10, 3, padding_idx=0)
    >>> emb(dn.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
    dualnet.Size([2, 4, 3])
    >>> emb.weight[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"({num_embeddings}), got {padding_idx}")
            if padding_idx < 0:
                padding_idx += num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(_creation.empty((num_embeddings, embedding_dim),
                                                    device=device, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if not isinstance(_weight, Tensor) or \
                    tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight must be a tensor of shape "
                                 f"[{num_embeddings}, {embedding_dim}] (num_embeddings, "
                                 f"embedding_dim), got {shape_str(getattr(_weight, 'shape', ()))}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is `embeddings` (2-D, shared, not copied); frozen
        (requires_grad=False) unless freeze=False.

        >>> import dualnet as dn
        >>> from dualnet import nn
        >>> emb = nn.Embedding.from_pretrained(dn.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]]))
        >>> emb(dn.tensor([1]))
        tensor([[4.0000, 5.1000, 6.3000]])
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be a 2-D tensor "
                             f"(num_embeddings, embedding_dim), got "
                             f"{shape_str(getattr(embeddings, 'shape', ()))}")
        rows, cols = embeddings.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
