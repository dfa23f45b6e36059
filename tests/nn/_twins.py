"""The same small module tree built from dualnet.nn or from torch.nn, so tests can compare names,
state_dict keys, reprs and hook arguments with torch's on an identical structure."""
import numpy as np


def make_classes(lib):
    """(Affine, Net) subclassing `lib.nn.Module`; `lib` is dualnet or torch."""
    nn = lib.nn

    class Affine(nn.Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            weight = np.arange(out_features * in_features, dtype=np.float32)
            weight = weight.reshape(out_features, in_features) / 10 - 0.3
            self.weight = nn.Parameter(lib.tensor(weight))
            if bias:
                self.bias = nn.Parameter(lib.tensor(np.linspace(-0.5, 0.5, out_features,
                                                                dtype=np.float32)))
            else:
                self.register_parameter("bias", None)
            self.register_buffer("calls", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            y = x @ self.weight.t()
            return y if self.bias is None else y + self.bias

        def extra_repr(self):
            return (f"in_features={self.in_features}, out_features={self.out_features}, "
                    f"bias={self.bias is not None}")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Affine(3, 4)
            self.body = nn.Sequential(Affine(4, 4), Affine(4, 4, bias=False))
            self.heads = nn.ModuleList([Affine(4, 2), Affine(4, 2), Affine(4, 1)])
            self.table = nn.ModuleDict({"b": Affine(2, 2), "a": nn.Sequential()})
            self.scale = nn.Parameter(lib.ones(1))
            self.register_buffer("steps", lib.zeros(1, dtype=lib.int64))

        def forward(self, x):
            h = self.body(self.fc1(x))
            return self.heads[0](h) * self.scale

    return Affine, Net
