"""Shared helpers of the benchmarks: timing, the machine's description, Markdown tables.

Timing: `compare({"numpy": f, "dualnet": g, ...})` runs the candidates interleaved (one batch of
each per round), so a noisy neighbour slows all of them alike (except for multi-threaded
candidates: see `compare`'s `interleave`); each batch runs `number` calls and yields one
per-call sample; we report the median and the inter-quartile range (IQR) over the rounds. `time.perf_counter` throughout. This machine class is noisy (2 shared cores):
compare numbers from one run, not across runs.

Run a bench script from the repository root or anywhere: this module puts the repository on
`sys.path`, so the checkout's `dualnet` is the one measured (installed or not).
"""
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The reference figures in SPEC.md are taken with 2 threads (the whole machine).
TORCH_THREADS = 2


def get_torch():
    """torch with `set_num_threads(2)`, or None where it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(TORCH_THREADS)
    return torch


# --------------------------------------------------------------------------------- timing

class Timing:
    """Per-call seconds of one candidate: median and quartiles over the samples."""

    def __init__(self, samples):
        self.samples = sorted(samples)
        q = statistics.quantiles(self.samples, n=4, method="inclusive") if len(samples) > 1 \
            else [samples[0]] * 3
        self.q1, self.median, self.q3 = q[0], statistics.median(self.samples), q[2]
        self.others = None  # cores' worth of CPU other processes used while we measured

    @property
    def iqr(self):
        return self.q3 - self.q1

    def __repr__(self):
        return f"Timing(median={fmt_us(self.median)} us, iqr={fmt_us(self.iqr)} us)"


def _calibrate(fn, target_s):
    """Calls per batch so that one batch lasts about `target_s` (at least 1)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target_s / 4 or number >= 1 << 20:
            return max(1, int(number * target_s / max(elapsed, 1e-9)))
        number *= 4


def compare(candidates, *, repeat=15, batch_s=0.004, warmup=2, number=None, idle_wait_s=3.0,
            interleave=True):
    """{name: Timing} for zero-argument callables, measured interleaved round by round.

    Each candidate is first called `warmup` times (compiles kernels, fills caches); `number`
    calls per batch is calibrated per candidate to about `batch_s` seconds unless given.
    Waits up to `idle_wait_s` for other processes to go quiet first.

    interleave=False measures the candidates one after another instead: use it when they run
    thread pools (torch's OpenMP, OpenBLAS). Those threads spin for a while after each call, and
    interleaved they steal the cores from each other: torch's 784-256-256-10 MLP step measured
    8.9 ms interleaved with dualnet's (OpenBLAS) step and 1.8 ms on its own.
    """
    if idle_wait_s:
        wait_for_idle(idle_wait_s, sample_s=0.1)
    monitor = LoadMonitor()
    samples = {name: [] for name in candidates}
    numbers = {}

    def prepare(name, fn):
        for _ in range(warmup):
            fn()
        numbers[name] = number or _calibrate(fn, batch_s)

    def one_batch(name, fn):
        n = numbers[name]
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples[name].append((time.perf_counter() - start) / n)

    if interleave:
        for name, fn in candidates.items():
            prepare(name, fn)
        for _ in range(repeat):
            for name, fn in candidates.items():
                one_batch(name, fn)
    else:
        for name, fn in candidates.items():
            prepare(name, fn)
            for _ in range(repeat):
                one_batch(name, fn)
    others = monitor.others()
    timings = {name: Timing(s) for name, s in samples.items()}
    for timing in timings.values():
        timing.others = others
    return timings


def measure(fn, **kwargs):
    """Timing of one callable (see `compare`)."""
    return compare({"fn": fn}, **kwargs)["fn"]


def run_python(code, *, env=None, cwd=REPO, timeout=120):
    """Wall seconds and stdout of a fresh `python -c code`, the checkout first on PYTHONPATH."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=full_env, cwd=cwd, timeout=timeout,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"subprocess failed ({done.returncode}): python -c {code!r}\n"
                           f"{done.stderr}")
    return elapsed, done.stdout


def keras_frameworks():
    """["dualnet", "keras"] when Keras 3 imports on its torch backend here, else ["dualnet"]."""
    try:
        run_python("import os; os.environ['KERAS_BACKEND'] = 'torch'; import keras")
    except RuntimeError:
        return ["dualnet"]
    return ["dualnet", "keras"]


# --------------------------------------------------------------------------------- machine load

# Other processes using more than this share of one core count as contention. With torch at 2
# threads on 2 cores, one busy neighbour makes an op wait for a scheduler time slice: a 1e6
# add measured 8 ms instead of 0.08 ms while another Python process ran.
BUSY_CORE_FRACTION = 0.15
_load_log = []


def _cpu_jiffies():
    """(busy jiffies of the whole machine, busy jiffies of this process and its finished
    children: the benchmarks that run each candidate in a child process must not count it as
    another process's load)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in fields]
    machine_busy = sum(values) - values[3] - values[4]  # minus idle and iowait
    own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return machine_busy, sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime


def others_cpu(seconds=0.3):
    """Cores' worth of CPU that other processes used over the next `seconds` (None off Linux)."""
    try:
        before, own_before = _cpu_jiffies()
        time.sleep(seconds)
        after, own_after = _cpu_jiffies()
    except (OSError, ValueError, IndexError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    return max(0.0, ((after - before) - (own_after - own_before)) / hz / seconds)


class LoadMonitor:
    """Cores' worth of CPU other processes used between start and stop (a whole benchmark)."""

    def __init__(self):
        try:
            self._start = (time.perf_counter(),) + _cpu_jiffies()
        except (OSError, ValueError, IndexError):
            self._start = None

    def others(self):
        if self._start is None:
            return None
        t0, machine0, own0 = self._start
        machine1, own1 = _cpu_jiffies()
        elapsed = time.perf_counter() - t0
        others = (machine1 - machine0) - (own1 - own0)
        return max(0.0, others / os.sysconf("SC_CLK_TCK") / elapsed)


# Seconds a whole benchmark process may spend waiting for an idle machine (keeps scripts quick).
IDLE_WAIT_BUDGET_S = 10.0
_idle_waited = [0.0]


def wait_for_idle(max_wait_s=10.0, sample_s=0.3):
    """Wait (up to `max_wait_s`, within the process's budget) until other processes leave the
    CPU alone; start a LoadMonitor. `header()` then reports the load seen over the whole run.
    """
    budget = min(max_wait_s, IDLE_WAIT_BUDGET_S - _idle_waited[0])
    start = time.perf_counter()
    load = others_cpu(sample_s)
    while load is not None and load > BUSY_CORE_FRACTION and time.perf_counter() - start < budget:
        time.sleep(0.5)
        load = others_cpu(sample_s)
    _idle_waited[0] += time.perf_counter() - start
    monitor = LoadMonitor()
    if not _load_log:
        _load_log.append(monitor)
    return monitor


def load_note():
    """A line on what other processes did during the measurement ('' when we did not look)."""
    if not _load_log:
        return ""
    load = _load_log[-1].others()
    if load is None:
        return ""
    if load > BUSY_CORE_FRACTION:
        return (f"\n**Warning: other processes used {load:.2f} cores on average during this "
                f"run; timings (torch's 2-thread ones most) are inflated. Re-run on an idle "
                f"machine.** A `*` marks a timing taken while others used more than "
                f"{BUSY_CORE_FRACTION} cores.\n")
    return f"Other processes used {load:.2f} cores during this run (idle machine).\n"


# --------------------------------------------------------------------------------- machine

def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def machine_description():
    """One line: CPU, cores, Python and library versions, date."""
    import numba
    import numpy

    parts = [f"{cpu_model()}, {usable_cores()} cores ({os.cpu_count()} logical)",
             f"Python {platform.python_version()}", f"NumPy {numpy.__version__}",
             f"Numba {numba.__version__}"]
    torch = get_torch()
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    parts.append(datetime.date.today().isoformat())
    return ", ".join(parts)


def header(title, script):
    """A Markdown heading, the command that reproduces the table and the machine line."""
    return (f"### {title}\n\n`python bench/{Path(script).name}` — {machine_description()}\n"
            f"{load_note()}")


# --------------------------------------------------------------------------------- tables

def fmt_us(seconds):
    """Microseconds with about three significant digits."""
    us = seconds * 1e6
    if us >= 100:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def fmt_timing(timing):
    """`median ±IQR/2` in microseconds, e.g. `152 ±4`; `*` when measured under contention."""
    flag = " *" if timing.others is not None and timing.others > BUSY_CORE_FRACTION else ""
    return f"{fmt_us(timing.median)} ±{fmt_us(timing.iqr / 2)}{flag}"


def fmt_ratio(numerator, denominator):
    if numerator is None or denominator is None:
        return "—"
    return f"{numerator.median / denominator.median:.2f}x"


def table_row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(headers, rows):
    """A Markdown table (headers + rows of cells) as one string."""
    lines = [table_row(headers), table_row(["---"] * len(headers))]
    lines += [table_row(r) for r in rows]
    return "\n".join(lines)
