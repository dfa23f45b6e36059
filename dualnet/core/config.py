"""Numeric constants of the core, each named for what it guards (one home for all of them)."""

# Finite-difference step and tolerances of `dualnet.autograd.gradcheck` (float64 inputs).
GRADCHECK_EPS = 1e-6
GRADCHECK_ATOL = 1e-5
GRADCHECK_RTOL = 1e-3

# Numba flags for elementwise kernels: no reassociation, so results match NumPy bit for bit
# where the formula is the same; 'contract' lets LLVM fuse multiply-adds.
FASTMATH = frozenset({"nnan", "ninf", "nsz", "arcp", "contract"})

# Numba flags for the fused row kernels of the reduction family (softmax, logsumexp, var):
# 'reassoc' lets LLVM vectorise the row sums; no 'nnan'/'ninf', because -inf (masked logits)
# and NaN must flow through exactly as in torch.
REDUCTION_FASTMATH = frozenset({"reassoc", "contract", "nsz", "arcp"})
# The vectorisable exp inside those kernels: 'contract' only, since reassociation would undo
# its Cody-Waite range reduction (x - n*ln2_hi - n*ln2_lo) and cost ~4x in accuracy.
EXP_FASTMATH = frozenset({"contract"})

# Above this many elements a row-wise kernel runs its rows in parallel (prange): on 2 cores
# thread wake-up (~2.4 us) only pays for arrays of about 1e5 elements and more.
PARALLEL_MIN_ELEMENTS = 1 << 17

# How many elements `repr` prints before it summarises with '...' (torch's default threshold).
PRINT_THRESHOLD = 1000
PRINT_EDGEITEMS = 3
PRINT_PRECISION = 4

# Working set of one chunk of images in the conv family (its unrolled im2col columns and its
# rows of the product): chunks this size stay in cache between their im2col and their GEMMs,
# where the whole batch's columns (kh*kw times the input) would be page-faulted in afresh on
# every call. 4 MiB measured best at 2 threads (1 MiB at 1 thread, within 10%).
CONV_SCRATCH_BYTES = 4 << 20
# A grouped convolution whose groups have at most this many (input x output) channels each
# (depthwise: 1 x multiplier) runs a direct loop nest: its per-group GEMMs would be too thin
# for BLAS.
CONV_DIRECT_MAX_CHANNELS = 4
# Channels-first convolutions with unit width stride unroll whole padded rows (Wp wide, of
# which OW are outputs): a plain copy per kernel tap instead of OH short ones, for
# Wp / OW times the GEMM work. Taken while that ratio is at most this.
CONV_WIDE_MAX_WASTE = 1.25

# glibc hands freed blocks above M_MMAP_THRESHOLD straight back to the OS and trims the heap
# above M_TRIM_THRESHOLD, so every training step page-faults its big buffers in again (SPEC:
# this cost torch 2.4x on batch-1000 inference; a 512x512 matmul forward+backward was 1.2x
# slower than torch here because of it). Raised once, when the first kernel family loads;
# the price is up to MALLOC_TRIM_THRESHOLD bytes of freed memory kept by the process.
# DUALNET_MALLOC_TUNING=0 turns it off.
MALLOC_MMAP_THRESHOLD = 32 << 20
MALLOC_TRIM_THRESHOLD = 256 << 20

# torch's clamp of binary cross-entropy's gradient denominator x * (1 - x) (aten's EPSILON).
BCE_GRAD_EPSILON = 1e-12
# Keras's backend.epsilon(): probabilities are clipped to [eps, 1 - eps] before a log.
KERAS_EPSILON = 1e-7
