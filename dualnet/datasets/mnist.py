"""MNIST from idx files: a reader, a writer, and a loader that can download.

NumPy only: this module imports nothing of ``dualnet.core``, so the data
layer loads without the tensor machinery (and ``tools/make_mnist_subset.py``
can load it by file path).

The idx format (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"): a 4-byte
magic ``00 00 <dtype code> <ndim>``, then ``ndim`` big-endian uint32 sizes,
then the elements in C order, big-endian.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "mnist_dir", "read_idx", "write_idx"]

# idx dtype code -> element type, big-endian as stored on disk.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK_BYTES = 1 << 24

# The four files of the standard distribution and the MD5 of each gzip file
# as published (the same sums torchvision checks downloads against).
_FILE_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_SPLIT_FILES = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# The original site throttles automated downloads; these mirrors serve the
# byte-identical files.
_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_DOWNLOAD_TIMEOUT_S = 15.0

# The small subset shipped in the package: the first 10,000 training and the
# first 2,000 test images, made by tools/make_mnist_subset.py.
_SUBSET_DIR = Path(__file__).resolve().parent / "data"
_SUBSET_PREFIX = {"small": "small-"}


def read_idx(path) -> np.ndarray:
    """Read one idx file (gzip-compressed or raw) into a NumPy array.

    Compression is detected from the file's first bytes, not its name. The
    array has the file's element type in native byte order and is writable.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "demo-idx1-ubyte.gz")
    >>> write_idx(path, np.arange(5, dtype=np.uint8))
    >>> read_idx(path)
    array([0, 1, 2, 3, 4], dtype=uint8)

    Raises ValueError, naming the file, when the file is truncated, has
    trailing bytes, a bad magic number or a broken gzip stream.
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as stream:
            return _read_idx_stream(stream, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({err})") from err


def _read_idx_stream(stream, path: str) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4:
        raise ValueError(f"{path}: truncated idx file: {len(magic)} bytes, no full header")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES or magic[3] == 0:
        raise ValueError(
            f"{path}: not an idx file: magic number {magic.hex()} should be 0000TTNN "
            f"with type code TT in {{{', '.join(f'{c:02x}' for c in _IDX_DTYPES)}}} "
            "and NN >= 1 dimensions"
        )
    dtype, ndim = _IDX_DTYPES[magic[2]], magic[3]
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise ValueError(f"{path}: truncated idx header: expected {ndim} dimension sizes")
    shape = tuple(int(size) for size in np.frombuffer(dims_bytes, dtype=">u4"))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize

    # Grow the buffer only as data arrives, so a corrupt header claiming an
    # enormous shape ends as "truncated", not as a huge allocation.
    buffer = bytearray()
    while len(buffer) < expected:
        chunk = stream.read(min(_READ_CHUNK_BYTES, expected - len(buffer)))
        if not chunk:
            raise ValueError(
                f"{path}: truncated idx file: header says shape {shape} "
                f"({expected} data bytes), file holds {len(buffer)}"
            )
        buffer += chunk
    if stream.read(1):
        raise ValueError(f"{path}: corrupt idx file: bytes left over after shape {shape}")
    array = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` as an idx file, gzip-compressed when ``path`` ends in ``.gz``.

    The gzip header stores no name and no time, so equal arrays give
    byte-identical files.
    """
    array = np.ascontiguousarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"write_idx: dtype {array.dtype} has no idx type code")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: ndim must be in [1, 255], got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(_IDX_DTYPES[code], copy=False).tobytes()
    path = os.fspath(path)
    with open(path, "wb") as raw:
        if path.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
                gz.write(payload)
        else:
            raw.write(payload)


def mnist_dir(root=None) -> Path:
    """The directory that holds (or will hold) the MNIST idx files.

    ``root`` if given, else ``$DUALNET_DATA/mnist``, else
    ``~/.dualnet/datasets/mnist``.
    """
    if root is not None:
        return Path(root).expanduser()
    data_home = os.environ.get("DUALNET_DATA")
    if data_home:
        return Path(data_home).expanduser() / "mnist"
    return Path.home() / ".dualnet" / "datasets" / "mnist"


def load_mnist(root=None, train=True, download=True, subset=None):
    """Load MNIST as ``(images, labels)``: uint8 ``(N, 28, 28)`` and uint8 ``(N,)``.

    ``train`` picks the 60,000 training or the 10,000 test images. Files are
    read from :func:`mnist_dir` (``root``, ``$DUALNET_DATA/mnist`` or
    ``~/.dualnet/datasets/mnist``), as ``.gz`` or uncompressed. Missing files
    are downloaded there when ``download`` is true; otherwise, or when the
    download fails, a RuntimeError says which files to put where.

    ``subset="small"`` instead reads the subset shipped inside the package
    (first 10,000 train / 2,000 test images), for offline demos. It is only
    ever loaded when asked for by name.
    """
    if subset is not None:
        if subset not in _SUBSET_PREFIX:
            raise ValueError(f"load_mnist: subset must be None or 'small', got {subset!r}")
        if root is not None:
            raise ValueError("load_mnist: pass root or subset, not both (the subset ships in the package)")
        prefix = _SUBSET_PREFIX[subset]
        paths = [_SUBSET_DIR / (prefix + name) for name in _SPLIT_FILES[bool(train)]]
        return _load_pair(*paths)

    directory = mnist_dir(root)
    names = _SPLIT_FILES[bool(train)]
    missing = [name for name in names if _find_file(directory, name) is None]
    if missing:
        if not download:
            raise RuntimeError(_missing_message(directory, missing, "download=False"))
        _download(directory, missing)
    return _load_pair(*(_find_file(directory, name) for name in names))


def _find_file(directory: Path, gz_name: str):
    """The gzip file if present, else its uncompressed twin, else None."""
    for name in (gz_name, gz_name[: -len(".gz")]):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load_pair(images_path: Path, labels_path: Path):
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (N, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(
            f"MNIST: {images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be digits 0-9, found {int(labels.max())}")
    return images, labels


def _missing_message(directory: Path, missing, reason: str) -> str:
    wanted = "\n".join(f"  {directory / name}" for name in _FILE_MD5)
    return (
        f"MNIST: {', '.join(missing)} not found in {directory} ({reason}).\n"
        f"Put the four standard MNIST files there (gzip'd or not):\n{wanted}\n"
        "or pass root=<directory holding them>, or set DUALNET_DATA to a directory "
        "with an mnist/ folder. For a quick offline run, load_mnist(subset='small') "
        "reads the small subset shipped with dualnet."
    )


def _download(directory: Path, names) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RuntimeError(_missing_message(directory, names, f"cannot create the directory: {err}")) from err
    for name in names:
        errors = []
        for mirror in _MIRRORS:
            try:
                _fetch_verified(mirror + name, directory / name, _FILE_MD5[name])
                break
            # URLError, HTTPError and timeouts are OSErrors; a cut connection
            # raises http.client.IncompleteRead; a bad checksum ValueError.
            except (OSError, http.client.HTTPException, ValueError) as err:
                errors.append(f"{mirror + name}: {err}")
        else:
            reason = "download failed: " + "; ".join(errors)
            raise RuntimeError(_missing_message(directory, names, reason))


def _fetch_verified(url: str, destination: Path, md5: str) -> None:
    """Download ``url`` to ``destination`` atomically, checking its MD5.

    The bytes go to a temporary file in the same directory, renamed into
    place only once complete and verified, so an interrupted download never
    leaves a file that looks like data.
    """
    digest = hashlib.md5()
    handle, partial = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise ValueError(f"MD5 mismatch: got {digest.hexdigest()}, expected {md5}")
        os.replace(partial, destination)
    except BaseException:
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
        raise
