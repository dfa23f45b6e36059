"""Similarity and distance layers under torch.nn's names: `CosineSimilarity` and
`PairwiseDistance`, calls into `F.cosine_similarity` / `F.pairwise_distance`."""
from .. import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


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


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim, inputs broadcast together. As in torch, `p` is
    kept as `self.norm` and the repr shows no options.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> nn.PairwiseDistance(eps=0.0)(dn.tensor([[1.0, 1.0]]), dn.tensor([[4.0, 5.0]]))
    tensor([5.])
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
