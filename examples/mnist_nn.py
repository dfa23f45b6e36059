"""MNIST the PyTorch way with dualnet: the PyTorch examples' convnet, ported by changing imports.

Two convolutions, max-pooling, dropout, two linear layers, log_softmax + nll_loss, Adadelta
with StepLR, `model.train()` / `model.eval()` and `no_grad()` evaluation, and a state_dict saved
and reloaded at the end. The same file runs on PyTorch with `--torch`: only the imports differ,
which is the point of the comparison (see bench/RESULTS.md for both runs' figures).

    python examples/mnist_nn.py                        # full MNIST from the data directory
    python examples/mnist_nn.py --subset small         # the 12k-image subset shipped in dualnet
    python examples/mnist_nn.py --torch                # the same script on PyTorch

Full MNIST is read from --data-dir, else $DUALNET_DATA/mnist, else ~/.dualnet/datasets/mnist
(downloaded there when missing and the network allows).
"""
import argparse
import os
import resource
import sys
import tempfile
import time

from dualnet.datasets import load_mnist  # NumPy arrays, shared by both runs

PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081  # of the 60,000 training images scaled to [0, 1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7, help="StepLR's decay per epoch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=100, help="batches between logs")
    parser.add_argument("--max-batches", type=int, default=None,
                        help="stop each epoch after this many batches (for quick checks)")
    parser.add_argument("--subset", choices=["small"], default=None,
                        help="use the subset shipped in the package instead of full MNIST")
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST idx files")
    parser.add_argument("--save-model", default=None, help="where to save the state_dict")
    parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.torch:  # the port: these imports are the only difference
        import torch as dn
        import torch.nn.functional as F
        from torch import nn, optim
        from torch.optim.lr_scheduler import StepLR
        from torch.utils.data import DataLoader, TensorDataset
    else:
        import dualnet as dn
        import dualnet.nn.functional as F
        from dualnet import nn, optim
        from dualnet.optim.lr_scheduler import StepLR
        from dualnet.utils.data import DataLoader, TensorDataset

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = dn.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    def dataset(train):
        root = None if args.subset else args.data_dir
        images, labels = load_mnist(root, train=train, subset=args.subset)
        x = dn.from_numpy(images).float().div(255.0).sub(PIXEL_MEAN).div(PIXEL_STD).unsqueeze(1)
        return TensorDataset(x, dn.from_numpy(labels).long())

    def train(model, loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(loader):
            if args.max_batches is not None and batch_idx >= args.max_batches:
                break
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)}]"
                      f"\tLoss: {loss.item():.6f}", flush=True)

    def test(model, loader):
        model.eval()
        test_loss, correct = 0.0, 0
        with dn.no_grad():
            for data, target in loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                correct += (output.argmax(dim=1) == target).sum().item()
        n = len(loader.dataset)
        print(f"Test set: Average loss: {test_loss / n:.4f}, "
              f"Accuracy: {correct}/{n} ({100.0 * correct / n:.2f}%)", flush=True)
        return correct / n

    dn.manual_seed(args.seed)
    train_loader = DataLoader(dataset(True), batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(dataset(False), batch_size=args.test_batch_size)
    model = Net()
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    epoch_times = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        train(model, train_loader, optimizer, epoch)
        epoch_times.append(time.perf_counter() - start)
        accuracy = test(model, test_loader)
        scheduler.step()

    # Save and reload the weights: the reloaded model must score the same.
    path = args.save_model or os.path.join(tempfile.mkdtemp(), "mnist_cnn.pt")
    dn.save(model.state_dict(), path)
    reloaded = Net()
    reloaded.load_state_dict(dn.load(path))
    if test(reloaded, test_loader) != accuracy:
        raise SystemExit("the reloaded model scores differently from the trained one")

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    library = "torch" if args.torch else "dualnet"
    print(f"{library}: final test accuracy {100 * accuracy:.2f}%, seconds per epoch "
          f"{', '.join(f'{t:.1f}' for t in epoch_times)}, peak RSS {peak_mib:.0f} MiB")
    return accuracy


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
