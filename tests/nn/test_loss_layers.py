"""nn loss layers: values and gradients (input, and target where torch has one) equal torch's
for every reduction and option; weights are buffers under torch's state_dict keys; reprs and
the legacy size_average / reduce arguments behave as torch's."""
import warnings

import numpy as np
import pytest

import dualnet as dn
from dualnet import nn

REDUCTIONS = ["none", "mean", "sum"]
RNG = np.random.default_rng(0)
CLASS_WEIGHT = RNG.uniform(0.5, 2.0, 4)


def _torch():
    return pytest.importorskip("torch")


def _both(array, requires_grad=False):
    torch = _torch()
    return (dn.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _check(ours, theirs, inputs, grads_of, rtol=1e-10):
    """Forward both losses on the (dn, torch) input pairs; compare value and the gradients of
    the inputs whose index is in grads_of (backward of a fixed random weighting)."""
    torch = _torch()
    out = ours(*(a for a, _ in inputs))
    tout = theirs(*(b for _, b in inputs))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol,
                               atol=1e-12)
    seed = RNG.normal(size=tuple(tout.shape))
    (out * dn.tensor(seed)).sum().backward()
    (tout * torch.tensor(seed)).sum().backward()
    for i in grads_of:
        np.testing.assert_allclose(inputs[i][0].grad.numpy(), inputs[i][1].grad.numpy(),
                                   rtol=rtol, atol=1e-12)


def _make(name, **kwargs):
    torch = _torch()
    ours_kwargs = {k: dn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    theirs_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                     for k, v in kwargs.items()}
    return getattr(nn, name)(**ours_kwargs), getattr(torch.nn, name)(**theirs_kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": CLASS_WEIGHT}, {"ignore_index": 1},
                                     {"label_smoothing": 0.2},
                                     {"weight": CLASS_WEIGHT, "ignore_index": 2,
                                      "label_smoothing": 0.1}])
@pytest.mark.parametrize("spatial", [False, True])
def test_cross_entropy_with_indices(reduction, options, spatial):
    ours, theirs = _make("CrossEntropyLoss", reduction=reduction, **options)
    shape = (3, 4, 2) if spatial else (5, 4)
    logits = _both(RNG.normal(size=shape), requires_grad=True)
    target = _both(RNG.integers(0, 4, (3, 2) if spatial else (5,)))
    _check(ours, theirs, [logits, target], [0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": CLASS_WEIGHT}, {"label_smoothing": 0.3}])
def test_cross_entropy_with_probabilities(reduction, options):
    ours, theirs = _make("CrossEntropyLoss", reduction=reduction, **options)
    logits = _both(RNG.normal(size=(3, 4)), requires_grad=True)
    probs = RNG.uniform(size=(3, 4))
    _check(ours, theirs, [logits, _both(probs / probs.sum(1, keepdims=True))], [0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": CLASS_WEIGHT}, {"ignore_index": 0}])
def test_nll_loss(reduction, options):
    ours, theirs = _make("NLLLoss", reduction=reduction, **options)
    logp = _both(np.log(RNG.dirichlet(np.ones(4), 6)), requires_grad=True)
    _check(ours, theirs, [logp, _both(RNG.integers(0, 4, 6))], [0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_loss(reduction, weighted):
    options = {"weight": RNG.uniform(0.5, 2.0, (3, 4))} if weighted else {}
    ours, theirs = _make("BCELoss", reduction=reduction, **options)
    probs = _both(RNG.uniform(0.05, 0.95, (3, 4)), requires_grad=True)
    target = _both(RNG.uniform(size=(3, 4)), requires_grad=True)
    _check(ours, theirs, [probs, target], [0, 1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": RNG.uniform(0.5, 2.0, 4)},
                                     {"pos_weight": RNG.uniform(0.5, 3.0, 4)},
                                     {"weight": RNG.uniform(0.5, 2.0, (3, 4)),
                                      "pos_weight": RNG.uniform(0.5, 3.0, 4)}])
def test_bce_with_logits_loss(reduction, options):
    ours, theirs = _make("BCEWithLogitsLoss", reduction=reduction, **options)
    logits = _both(RNG.normal(0, 3, (3, 4)), requires_grad=True)
    target = _both(RNG.uniform(size=(3, 4)), requires_grad=True)
    _check(ours, theirs, [logits, target], [0, 1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", [("MSELoss", {}), ("L1Loss", {}),
                                           ("SmoothL1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}),
                                           ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {}),
                                           ("HuberLoss", {"delta": 0.4})])
def test_regression_losses(reduction, name, options):
    ours, theirs = _make(name, reduction=reduction, **options)
    _check(ours, theirs, [_both(RNG.normal(size=(3, 5)), requires_grad=True),
                          _both(RNG.normal(size=(3, 5)), requires_grad=True)], [0, 1])


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss(reduction, log_target):
    ours, theirs = _make("KLDivLoss", reduction=reduction, log_target=log_target)
    logp = _both(np.log(RNG.dirichlet(np.ones(4), 3)), requires_grad=True)
    target = RNG.dirichlet(np.ones(4), 3)
    target = _both(np.log(target) if log_target else target, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that 'mean' is not 'batchmean'
        _check(ours, theirs, [logp, target], [0, 1])


@pytest.mark.parametrize("dim, eps", [(1, 1e-8), (0, 1e-8), (-1, 0.5)])
def test_cosine_similarity(dim, eps):
    ours, theirs = _make("CosineSimilarity", dim=dim, eps=eps)
    _check(ours, theirs, [_both(RNG.normal(size=(3, 4)), requires_grad=True),
                          _both(RNG.normal(size=(3, 4)), requires_grad=True)], [0, 1])


@pytest.mark.parametrize("name, options, keys", [
    ("CrossEntropyLoss", {}, []), ("CrossEntropyLoss", {"weight": CLASS_WEIGHT}, ["weight"]),
    ("NLLLoss", {"weight": CLASS_WEIGHT}, ["weight"]), ("BCELoss", {}, []),
    ("BCEWithLogitsLoss", {"pos_weight": CLASS_WEIGHT}, ["pos_weight"]),
    ("BCEWithLogitsLoss", {"weight": CLASS_WEIGHT, "pos_weight": CLASS_WEIGHT},
     ["weight", "pos_weight"]),
    ("MSELoss", {"reduction": "sum"}, []), ("SmoothL1Loss", {"beta": 0.5}, []),
    ("HuberLoss", {"delta": 2.0}, []), ("KLDivLoss", {"log_target": True}, []),
    ("CosineSimilarity", {"dim": 0}, []), ("L1Loss", {}, [])])
def test_buffers_state_dict_and_repr_match_torch(name, options, keys):
    ours, theirs = _make(name, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    assert list(ours.parameters()) == []
    assert repr(ours) == repr(theirs)
    for key in keys:
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(),
                                      theirs.state_dict()[key].numpy())
    assert {k: getattr(ours, k) for k in ("reduction", "ignore_index", "label_smoothing", "beta",
                                          "delta", "log_target", "dim", "eps")
            if hasattr(theirs, k)} == {k: getattr(theirs, k) for k in (
                "reduction", "ignore_index", "label_smoothing", "beta", "delta", "log_target",
                "dim", "eps") if hasattr(theirs, k)}


def test_weight_buffer_is_none_when_not_given_and_follows_to():
    loss = nn.CrossEntropyLoss()
    assert loss.weight is None
    loss = nn.CrossEntropyLoss(weight=dn.ones(3)).double()
    assert loss.weight.dtype == dn.float64


@pytest.mark.parametrize("size_average, reduce, expected", [
    (None, False, "none"), (False, None, "sum"), (True, True, "mean"), (False, False, "none")])
def test_legacy_size_average_and_reduce(size_average, reduce, expected):
    torch = _torch()
    with pytest.warns(UserWarning, match="reduction"):
        ours = nn.MSELoss(size_average=size_average, reduce=reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.MSELoss(size_average=size_average, reduce=reduce)
    assert ours.reduction == theirs.reduction == expected


def test_bad_input_errors():
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="avg")(dn.ones(2), dn.ones(2))
    with pytest.raises(IndexError, match="out of bounds"):
        nn.CrossEntropyLoss()(dn.zeros(2, 3), dn.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"\[2, 1\].*\[2\]|\[2\].*\[2, 1\]"):
        nn.BCEWithLogitsLoss()(dn.zeros(2), dn.zeros(2, 1))
    with pytest.raises(RuntimeError, match="weight"):
        nn.NLLLoss(weight=dn.ones(4))(dn.zeros(2, 3), dn.tensor([0, 1]))
