"""WORKBENCH_MALLOC=reuse: a freed large block is reused without faulting its pages in
again (counted, not timed); without it nothing changes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import ctypes, json, resource
from workbench import allocator
tuned = allocator.from_env()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
size = 128 << 20

def touch():  # malloc a large block, write every byte, free it
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(ctypes.c_void_p(block))

touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch()
print(json.dumps({"tuned": tuned,
                  "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def run(setting: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_MALLOC"}
    if setting is not None:
        env["WORKBENCH_MALLOC"] = setting
    out = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_reuse_keeps_the_pages_of_a_freed_block():
    plain, reuse = run(None), run("reuse")
    assert not plain["tuned"] and reuse["tuned"]
    # glibc's default: mmap, munmap, and every page faults in again (at least one fault
    # per 2 MiB even where transparent huge pages are always on)
    assert plain["faults"] >= (128 << 20) // (2 << 20), plain
    assert reuse["faults"] * 10 < plain["faults"], (plain, reuse)
