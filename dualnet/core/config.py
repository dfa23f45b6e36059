"""Numeric constants of the core, each named for what it guards (one home for all of them)."""

# Finite-difference step and tolerances of `dualnet.autograd.gradcheck` (float64 inputs).
GRADCHECK_EPS = 1e-6
GRADCHECK_ATOL = 1e-5
GRADCHECK_RTOL = 1e-3

# Numba flags for elementwise kernels: no reassociation, so results match NumPy bit for bit
# where the formula is the same; 'contract' lets LLVM fuse multiply-adds.
FASTMATH = frozenset({"nnan", "ninf", "nsz", "arcp", "contract"})

# Above this many elements a row-wise kernel runs its rows in parallel (prange): on 2 cores
# thread wake-up (~2.4 us) only pays for arrays of about 1e5 elements and more.
PARALLEL_MIN_ELEMENTS = 1 << 17

# How many elements `repr` prints before it summarises with '...' (torch's default threshold).
PRINT_THRESHOLD = 1000
PRINT_EDGEITEMS = 3
PRINT_PRECISION = 4
