"""What trusting nothing costs the facts cache: load times on a real project, checked and unchecked.

    python benchmarks/bench_cache.py PATH

PATH is any SFDX project on this machine. The project's facts are put in a cache in a temporary
folder (with a key made for the run), then the warm-scan load path is timed, in this process,
best of 7 (the machine may be shared):

  read + tag     read the pack and check its HMAC-SHA256 tag
  unmarshal      marshal.loads of the payload
  decode, typed  every entry through cache_codec.decode: each field's type checked
  decode, bare   the same entries built without any check (tags trusted, fields passed as they
                 are): what decoding cost before the checks, for the ratio

and the ratio of the checked load (tag + unmarshal + typed decode) to the unchecked one
(unmarshal + bare decode).
"""
from __future__ import annotations

import gc
import marshal
import os
import sys
import tempfile
import time
from pathlib import Path

from apexscan.pipeline import cache as cache_module
from apexscan.pipeline.cache import FactsCache
from apexscan.pipeline.cache_codec import CLASSES, CODE_FACTS, DIAGNOSTICS, METADATA_FACTS, decode
from apexscan.pipeline.lowering import lower_all
from apexscan.pipeline.project import discover


def bare(data):
    """The decoder without checks: what the cache used before every field was checked."""
    if type(data) is not list:
        return data
    tag = data[0]
    if tag < 0:
        return CLASSES[-tag - 1](*data[1:])
    items = [bare(item) if type(item) is list else item for item in data[1:]]
    return tuple(items) if tag == 0 else CLASSES[tag - 1](*items)


def best(fn, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(path: Path) -> None:
    project = discover([path])
    with tempfile.TemporaryDirectory() as folder:
        cache = FactsCache(Path(folder), project.root, key=os.urandom(32))
        lower_all(project.files, cache=cache, jobs=2)
        cache.save()
        data = cache.pack.read_bytes()
        payload = memoryview(data)[len(cache_module.MAGIC) + cache_module.TAG_BYTES:]
        entries = list(marshal.loads(payload)["entries"].values())
        gc.disable()
        tag = best(lambda: cache._tag("pack", memoryview(cache.pack.read_bytes())[40:]))
        unmarshal = best(lambda: marshal.loads(payload))
        typed = best(lambda: [(decode(f, METADATA_FACTS if k.startswith("metadata:") else CODE_FACTS),
                               decode(d, DIAGNOSTICS)) for k, f, d in entries])
        unchecked = best(lambda: [(bare(f), bare(d)) for _, f, d in entries])
        gc.enable()
    print(f"{path.name}: {len(project.files)} files, pack {len(data) / 1e6:.1f} MB")
    for name, seconds in (("read + tag", tag), ("unmarshal", unmarshal), ("decode, typed", typed),
                          ("decode, bare", unchecked)):
        print(f"  {name:<14} {seconds:6.3f} s")
    checked, before = tag + unmarshal + typed, unmarshal + unchecked
    print(f"  load, checked {checked:.3f} s vs unchecked {before:.3f} s: ratio {checked / before:.2f}")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["."]:
        main(Path(arg))
