"""Batch normalization layers (torch.nn's BatchNorm1d / BatchNorm2d): torch's parameters, running
statistics and num_batches_tracked buffers and momentum rules; the arithmetic is F.batch_norm's."""
from ...core import creation as _creation
from ...core.dtypes import int64
from ...core.ops._common import shape_str
from ...core.tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d"]


def _affine_parameters(module, shape, affine, bias, device, dtype):
    """Register a normalization layer's `weight` and `bias` (uninitialised; its
    reset_parameters fills them), or None for each that the options leave out, as torch does."""
    def make():
        return Parameter(_creation.empty(shape, device=device, dtype=dtype))
    module.register_parameter("weight", make() if affine else None)
    module.register_parameter("bias", make() if affine and bias else None)


class _NormBase(Module):
    """Per-channel affine parameters and running statistics (BatchNorm, InstanceNorm)."""

    # version 2 added num_batches_tracked: older state_dicts load with it at 0
    _version = 2

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, num_features, affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean",
                                 _creation.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var",
                                 _creation.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked",
                                 _creation.tensor(0, dtype=int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        # the identity transform to start with: weight 1, bias 0
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats \
                and key not in state_dict:
            # a file from before num_batches_tracked existed: start counting from ours (0)
            state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                               else _creation.tensor(0, dtype=int64))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class _BatchNorm(_NormBase):
    _ranks = ()  # the input ranks the layer accepts

    def _check_input_dim(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._get_name()}: expected a Tensor as input, got "
                            f"{type(input).__name__}")
        if input.ndim not in self._ranks:
            ranks = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{self._get_name()}: expected {ranks} input (got {input.ndim}D "
                             f"input of shape {shape_str(input.shape)})")

    def forward(self, input):
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average: weigh batch t by 1/t
                momentum = 1.0 / float(self.num_batches_tracked.item())
        # batch statistics when training, or in eval when there are no running ones to use
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        # running stats are updated only when tracked; in eval they are what normalises
        tracked = not self.training or self.track_running_stats
        try:
            return F.batch_norm(input, self.running_mean if tracked else None,
                                self.running_var if tracked else None, self.weight, self.bias,
                                use_batch_stats, momentum, self.eps)
        except RuntimeError:
            if input.shape[1] != self.num_features:
                raise RuntimeError(f"{self!r}: expected input with {self.num_features} "
                                   f"channels (dim 1), got input of shape "
                                   f"{shape_str(input.shape)}") from None
            raise


class BatchNorm1d(_BatchNorm):
    """Normalise each feature over the batch (and L): input (N, C) or (N, C, L).

    y = (x - mean) / sqrt(var + eps) * weight + bias. Training uses the batch's mean and biased
    variance and updates running_mean / running_var (the unbiased variance) as
    r = (1 - momentum) * r + momentum * batch (momentum=None: the plain average of all batches);
    eval mode normalises with the running statistics.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> bn
    BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    >>> bn(dn.tensor([[1.0, 10.0], [3.0, 30.0]])).detach()
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]])
    >>> bn.running_mean, bn.num_batches_tracked
    (tensor([0.2000, 2.0000]), tensor(1))
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalise each channel of (N, C, H, W) over N, H and W; the rules of BatchNorm1d.

    >>> import dualnet as dn
    >>> from dualnet import nn
    >>> bn = nn.BatchNorm2d(3, momentum=None, affine=False)
    >>> bn(dn.randn(8, 3, 5, 5)).shape
    dualnet.Size([8, 3, 5, 5])
    >>> bn.eval()(dn.randn(1, 3, 5, 5)).shape
    dualnet.Size([1, 3, 5, 5])
    """

    _ranks = (4,)
