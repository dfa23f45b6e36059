"""The optimizer-update family: fused per-parameter kernels behind `dualnet.optim`, both rules.

It exports no Tensor functions (nothing joins `dualnet`'s namespace): `dualnet.optim` calls
`ops.py`'s array-level steps, which pick the device's kernels through `dispatch.kernels("optim")`.
"""
