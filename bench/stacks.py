"""Summarize py-spy's collapsed stacks (``py-spy record --format raw``).

A flame graph needs a browser, so this prints two tables of where a worker's
time goes, as shares of all samples. "self" is the time in a function's own
code and in the C calls it makes. "total" adds the functions it calls.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

# py-spy writes a Python frame as "function (file:line)". The line is dropped
# so that samples at different lines of one function add up. With
# --subprocesses the first frame names the process instead.
_LINE = re.compile(r":\d+\)$")


def _frame_name(frame: str) -> str:
    if frame.startswith("process "):
        return frame.split(":", 1)[0]
    return _LINE.sub(")", frame)


def summarize(path: Path, top: int) -> str:
    self_time: collections.Counter[str] = collections.Counter()
    total_time: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        names = [_frame_name(frame) for frame in frames]
        self_time[names[-1]] += count
        for name in set(names):
            total_time[name] += count
    if samples == 0:
        return f"{path}: no samples\n"
    out = [f"{path}: {samples} samples"]
    for title, counter in (("self", self_time), ("total", total_time)):
        out.append(f"\n{title:>5} %  function")
        for name, count in counter.most_common(top):
            out.append(f"{100 * count / samples:7.1f}  {name}")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+", help="py-spy raw output files")
    parser.add_argument("--top", type=int, default=30, help="rows per table")
    args = parser.parse_args()
    for path in args.files:
        sys.stdout.write(summarize(path, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
