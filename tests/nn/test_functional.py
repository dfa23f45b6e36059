"""dualnet.nn.functional: every op of the NN-ops issue is there under torch's name, with torch's
parameter names (so a call written for torch.nn.functional ports by changing the import)."""
import inspect

import pytest

import dualnet.nn.functional as F

REQUIRED = """conv1d conv2d conv_transpose2d max_pool1d max_pool2d avg_pool1d avg_pool2d
adaptive_avg_pool2d adaptive_max_pool2d batch_norm layer_norm group_norm instance_norm dropout
dropout2d embedding one_hot pad relu leaky_relu elu selu gelu silu mish softplus hardtanh
hardsigmoid hardswish sigmoid tanh softmax log_softmax cross_entropy nll_loss
binary_cross_entropy binary_cross_entropy_with_logits mse_loss l1_loss smooth_l1_loss huber_loss
kl_div cosine_similarity lstm_cell gru_cell rnn_tanh_cell scaled_dot_product_attention""".split()


@pytest.mark.parametrize("name", REQUIRED)
def test_present(name):
    assert callable(getattr(F, name, None)), f"dualnet.nn.functional lacks {name}"


@pytest.mark.parametrize("name", REQUIRED)
def test_parameter_names_match_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn.functional, name, None) or getattr(torch, name, None)
    try:
        their_params = list(inspect.signature(theirs).parameters)
    except (TypeError, ValueError):
        pytest.skip(f"torch's {name} is a builtin without a Python signature")
    if their_params == ["args", "kwargs"]:
        pytest.skip(f"torch's {name} dispatches on return_indices behind *args")
    # torch's private _stacklevel is not carried over; its deprecated size_average / reduce
    # may be (they keep torch's positional order) but are not compared
    skip = ("size_average", "reduce", "_stacklevel")
    ours = [p for p in inspect.signature(getattr(F, name)).parameters if p not in skip]
    their_params = [p for p in their_params if p not in skip]
    assert ours[:len(their_params)] == their_params, (name, ours, their_params)
