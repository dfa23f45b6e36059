"""One model, both devices: a small convnet (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Dropout at
p=0, Linear, CrossEntropyLoss) moved with model.to("cuda") trains three SGD steps to the same
weights, running statistics and losses as the same model on the CPU."""
import copy

import numpy as np

import dualnet as dn
from dualnet import nn, optim


def _model():
    dn.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.0), nn.Flatten(), nn.Linear(3 * 3 * 3, 4))


def _train(model, device, images, labels):
    model = model.to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x, y = dn.tensor(images, device=device), dn.tensor(labels, device=device)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return model, losses


def test_three_sgd_steps_match_the_cpu():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((4, 1, 6, 6)).astype(np.float32)
    labels = np.array([0, 3, 1, 2])
    cpu_model = _model()
    gpu_model = copy.deepcopy(cpu_model)
    cpu_model, cpu_losses = _train(cpu_model, "cpu", images, labels)
    gpu_model, gpu_losses = _train(gpu_model, "cuda", images, labels)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5)
    assert cpu_losses[2] < cpu_losses[0]  # it did learn
    cpu_state, gpu_state = cpu_model.state_dict(), gpu_model.state_dict()
    assert cpu_state.keys() == gpu_state.keys()
    for name, value in cpu_state.items():
        assert gpu_state[name].device.type == "cuda", name
        np.testing.assert_allclose(gpu_state[name].cpu().numpy(), value.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)
    start = _model().state_dict()
    assert not np.allclose(cpu_state["0.weight"].numpy(), start["0.weight"].numpy())
