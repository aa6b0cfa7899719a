"""Sampling profiles of the services under load (`--py-spy DIR`): py-spy attached to each service process for the
load levels, written as collapsed stacks (`<service>.txt`, one `frame;frame;... count` line per stack), which
speedscope and flamegraph.pl read, and `bench.profiling` summarises."""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

SAMPLES_PER_S = 50


@contextlib.contextmanager
def py_spy(pids: dict[str, int], folder: Path) -> Iterator[None]:
    beside = Path(sys.executable).parent / "py-spy"  # the venv's, when its bin folder is not on the PATH
    executable = str(beside) if beside.exists() else shutil.which("py-spy")
    if executable is None:
        raise FileNotFoundError("py-spy is not installed (it is a dev dependency: `make install`)")
    folder.mkdir(parents=True, exist_ok=True)
    options = ["--rate", str(SAMPLES_PER_S), "--nonblocking", "--format", "raw"]
    devnull = subprocess.DEVNULL
    recorders = []
    for name, pid in pids.items():
        command = [executable, "record", "--pid", str(pid), *options, "--output", str(folder / f"{name}.txt")]
        recorders.append(subprocess.Popen(command, stdout=devnull, stderr=devnull))
    try:
        yield
    finally:
        for recorder in recorders:  # py-spy writes its file when interrupted
            recorder.send_signal(signal.SIGINT)
        for recorder in recorders:
            recorder.wait(timeout=60)


def hottest(collapsed: Path, frames: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(samples, the frames most often on the stack, the frames most often at its top) of a collapsed profile."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        total += samples
        # `function (file.py:line)`: the lines of one function count as one.
        names = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[names[-1]] += samples
        for name in set(names):
            inclusive[name] += samples
    return total, inclusive.most_common(frames), own.most_common(frames)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=hottest.__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="collapsed profiles written by `python -m bench --py-spy`")
    parser.add_argument("--frames", type=int, default=15)
    args = parser.parse_args()
    for path in args.files:
        total, on_stack, on_top = hottest(path, args.frames)
        print(f"{path.stem}: {total} samples")
        for title, rows in (("on the stack (inclusive)", on_stack), ("on top (own time)", on_top)):
            print(f"  {title}")
            for name, samples in rows:
                print(f"    {samples / max(total, 1):6.1%}  {name}")


if __name__ == "__main__":
    main()
