"""Two kernels writing at once, and a writer killed with SIGKILL mid-burst."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench import Store, Trajectory

WRITER = """
import sys
from workbench import Store
path, tid, author, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store(path)
print("ready", flush=True)
for i in range(n):
    ann = store.add_annotation(tid, "rating", i % 5 + 1, author=author)
    print(ann.id, flush=True)   # acknowledged: annotate() has returned
"""


def _seed(path: Path) -> str:
    with Store(path) as s:
        return s.add(Trajectory(prompt="p", raw="<think>a</think>b", model="m"))


def _spawn(path: Path, tid: str, author: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tid, author, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_write_1000_annotations_each(store_path: Path) -> None:
    tid = _seed(store_path)
    procs = [_spawn(store_path, tid, f"kernel{k}", 1000) for k in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    with Store(store_path) as s:
        frame = s.list_annotations(tid)
        assert frame.height == 2000
        assert frame.group_by("author").len().sort("author")["len"].to_list() == [1000, 1000]
        assert frame["id"].n_unique() == 2000


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_acknowledged_annotations_survive_sigkill(store_path: Path) -> None:
    tid = _seed(store_path)
    proc = _spawn(store_path, tid, "victim", 100_000)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    acked: list[int] = []
    deadline = time.monotonic() + 60
    while len(acked) < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)  # right in the middle of the burst
    # anything it wrote to the pipe before dying was acknowledged too
    rest, _ = proc.communicate(timeout=30)
    acked.extend(int(x) for x in rest.split())
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 300
    with Store(store_path) as s:
        stored = set(s.list_annotations(tid)["id"].to_list())
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged annotations lost"
