"""Similarity layers under torch.nn's names: `CosineSimilarity`, a call into
`F.cosine_similarity`."""
from .. import functional as F
from .module import Module

__all__ = ["CosineSimilarity"]


class CosineSimilarity(Module):
    """x1 . x2 / (max(|x1|, eps) * max(|x2|, eps)) along `dim`, inputs broadcast together.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.CosineSimilarity(dim=1)(dn.tensor([[1.0, 0.0]]), dn.tensor([[1.0, 1.0]]))
    tensor([0.7071])
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
