"""Train a small MLP (784-64-10) on MNIST with raw dualnet tensors, autograd and plain SGD.

Runs offline in seconds on a laptop CPU and reaches about 93% test accuracy. It uses the
12,000-image MNIST subset that ships inside the package (10,000 training, 2,000 test images).
No layers, no optimizer classes: the model is two weight matrices, the loss is log-softmax
cross-entropy written with tensor ops, and the update is `w -= lr * w.grad` under `no_grad()`,
exactly as one would write it in PyTorch.

    python examples/demo.py
"""
import time

import dualnet as dn
from dualnet.datasets import load_mnist

EPOCHS = 8
BATCH_SIZE = 32
LEARNING_RATE = 0.05
HIDDEN = 64
# MNIST's pixel mean and standard deviation (of the 60,000 training images scaled to [0, 1]),
# the normalisation PyTorch's MNIST example uses: centred inputs let plain SGD converge faster.
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


def load(train):
    """Images as normalised float32 rows (N, 784) and int64 labels (N,)."""
    images, labels = load_mnist(subset="small", train=train)
    x = dn.from_numpy(images).reshape(len(images), -1).float() / 255.0
    return (x - PIXEL_MEAN) / PIXEL_STD, dn.from_numpy(labels).long()


def init_params():
    # He initialisation for the ReLU layer, 1/sqrt(fan_in) for the output layer: activations
    # keep roughly unit scale, so one learning rate suits both layers.
    w1 = (dn.randn(784, HIDDEN) * (2.0 / 784) ** 0.5).requires_grad_()
    b1 = dn.zeros(HIDDEN, requires_grad=True)
    w2 = (dn.randn(HIDDEN, 10) * (1.0 / HIDDEN) ** 0.5).requires_grad_()
    b2 = dn.zeros(10, requires_grad=True)
    return [w1, b1, w2, b2]


def forward(params, x):
    """Logits (N, 10)."""
    w1, b1, w2, b2 = params
    hidden = dn.relu(x @ w1 + b1)
    return hidden @ w2 + b2


def cross_entropy(logits, labels):
    """Mean of -log softmax(logits)[label]: the negative log-likelihood of the right class."""
    log_probs = dn.log_softmax(logits, dim=1)
    return -log_probs[dn.arange(len(labels)), labels].mean()


def main():
    dn.manual_seed(0)
    x_train, y_train = load(train=True)
    x_test, y_test = load(train=False)
    params = init_params()
    n = len(x_train)
    print(f"MNIST subset: {n} training and {len(x_test)} test images; "
          f"MLP 784-{HIDDEN}-10, SGD lr={LEARNING_RATE}, batch {BATCH_SIZE}")

    for epoch in range(1, EPOCHS + 1):
        start = time.perf_counter()
        order = dn.randperm(n)
        total_loss = correct = 0.0
        for first in range(0, n, BATCH_SIZE):
            batch = order[first:first + BATCH_SIZE]
            x, y = x_train[batch], y_train[batch]
            logits = forward(params, x)
            loss = cross_entropy(logits, y)
            loss.backward()
            with dn.no_grad():
                for p in params:
                    p -= LEARNING_RATE * p.grad
                    p.grad = None
                total_loss += loss.item() * len(y)
                correct += (logits.argmax(dim=1) == y).sum().item()
        print(f"epoch {epoch}: loss {total_loss / n:.4f}, train accuracy {correct / n:.2%}, "
              f"{time.perf_counter() - start:.2f} s")

    with dn.no_grad():
        predictions = forward(params, x_test).argmax(dim=1)
        accuracy = (predictions == y_test).float().mean().item()
    print(f"test accuracy: {accuracy:.2%}")


if __name__ == "__main__":
    main()
