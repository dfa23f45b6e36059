"""The README's demo: an MLP trained on MNIST the PyTorch way, offline, in a few seconds.

It uses the 12,000-image MNIST subset that ships inside the package (10,000 training, 2,000
test images), `nn.Sequential`, `optim.SGD` with momentum and a `DataLoader`, and reaches about
96% test accuracy. `examples/mnist_nn.py` is the longer convnet example on full MNIST.

    python examples/demo.py
"""
import time

import dualnet as dn
import dualnet.nn.functional as F
from dualnet import nn, optim
from dualnet.datasets import load_mnist
from dualnet.utils.data import DataLoader, TensorDataset

EPOCHS = 5
BATCH_SIZE = 32
LEARNING_RATE = 0.01
# MNIST's pixel mean and standard deviation (of the 60,000 training images scaled to [0, 1]),
# the normalisation PyTorch's MNIST example uses: centred inputs let SGD converge faster.
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


def dataset(train):
    """Normalised float32 rows (N, 784) and int64 labels (N,) of the shipped subset."""
    images, labels = load_mnist(subset="small", train=train)
    x = dn.from_numpy(images).reshape(len(images), -1).float() / 255.0
    return TensorDataset((x - PIXEL_MEAN) / PIXEL_STD, dn.from_numpy(labels).long())


def evaluate(model, loader):
    model.eval()
    correct = 0
    with dn.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
    return correct / len(loader.dataset)


def main():
    dn.manual_seed(0)
    train_loader = DataLoader(dataset(train=True), batch_size=BATCH_SIZE, shuffle=True)
    test_loader = DataLoader(dataset(train=False), batch_size=1000)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
    print(f"MNIST subset: {len(train_loader.dataset)} training and {len(test_loader.dataset)} "
          f"test images\n{model}")

    for epoch in range(1, EPOCHS + 1):
        start = time.perf_counter()
        model.train()
        total_loss = 0.0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y)
        print(f"epoch {epoch}: loss {total_loss / len(train_loader.dataset):.4f}, "
              f"test accuracy {evaluate(model, test_loader):.2%}, "
              f"{time.perf_counter() - start:.2f} s", flush=True)

    accuracy = evaluate(model, test_loader)
    print(f"test accuracy: {accuracy:.2%}")
    return accuracy


if __name__ == "__main__":
    main()
