"""Run every `bench/bench_*.py` in its own process, one after another, and print their tables.

    python bench/run_all.py                    # all benchmarks
    python bench/run_all.py overhead compile   # those whose name contains a word
    python bench/run_all.py --out results.md   # also write the combined Markdown to a file

Each script runs in a fresh interpreter (no shared warm-up or thread pools between them) with a
time limit; a script that fails or times out is reported and the others still run.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, machine_description

BENCH_DIR = Path(__file__).resolve().parent
TIME_LIMIT_S = 180


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the dualnet benchmarks.")
    parser.add_argument("only", nargs="*", help="run the scripts whose name contains one of these")
    parser.add_argument("--out", help="also write the combined Markdown here")
    args = parser.parse_args(argv)

    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(word in s.stem for word in args.only)]
    parts = [f"## dualnet benchmarks\n\n{machine_description()}\n"]
    print(parts[0], flush=True)
    failures = 0
    for script in scripts:
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True,
                                  text=True, timeout=TIME_LIMIT_S)
            output, status = done.stdout, done.returncode
            if status != 0:
                output += f"\n**{script.name} exited with status {status}**\n\n```\n" \
                          f"{done.stderr.strip()[-3000:]}\n```\n"
        except subprocess.TimeoutExpired as err:
            output = err.stdout or ""
            if isinstance(output, bytes):
                output = output.decode(errors="replace")
            output += f"\n**{script.name} timed out after {TIME_LIMIT_S} s**\n"
            status = -1
        failures += status != 0
        output += f"_{script.name}: {time.perf_counter() - start:.1f} s_\n"
        print(output, flush=True)
        parts.append(output)
    if args.out:
        Path(args.out).write_text("\n".join(parts))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
