"""A bounded mutation fuzz of every frontend, in the default test run (benchmarks/fuzz.py has the
registry, the mutations and the checks; a release runs it for minutes with `--minutes N`).

For each frontend the scan knows, sample files are mutated (bytes flipped, brackets and markup
inserted, slices repeated and nested thousands of times) and each input must lower without an
exception, twice to the same facts, through the cache codec unchanged, within a generous time
budget linear in its size. Under CI=true the inputs are the same on every run; locally each run
draws new ones (the seed is in the failure message, to replay it).
"""
from __future__ import annotations

import os
import random
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import fuzz  # noqa: E402  (benchmarks/fuzz.py)

from apexscan.pipeline.lowering import CODE_FRONTENDS  # noqa: E402

SEED = 0 if os.environ.get("CI") == "true" else random.randrange(1 << 30)
INPUTS = 30  # per frontend: the whole file stays well under 20 s
MAX_SIZE = 48_000


@contextmanager
def hang_guard(seconds: int):
    """Fail instead of hanging when Python code runs for `seconds` (C code is not interrupted)."""
    def expire(*_):
        raise TimeoutError(f"no result after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_frontend_of_the_scan_is_fuzzed_and_has_seeds():
    kinds = {t.kind for t in fuzz.TARGETS}
    assert kinds >= set(CODE_FRONTENDS) | {"metadata"}
    for target in fuzz.TARGETS:
        assert target.seeds(), f"no sample file of kind {target.kind}"


@pytest.mark.parametrize("target", fuzz.TARGETS, ids=lambda t: t.kind)
def test_fuzz_frontend(target):
    with hang_guard(120):
        problems = list(fuzz.run(target, SEED, count=INPUTS, max_size=MAX_SIZE))
    assert not problems, f"seed {SEED}: {problems[0][0]}: {problems[0][2]}"


# The fuzzer itself: each check can fail.

def planted(lower) -> fuzz.Target:
    return fuzz.Target("planted", lambda: [("x.cls", b"public class X { void m() { f(1); } }")], lower)


def test_the_fuzzer_reports_an_exception():
    def lower(rel, data):
        if b"(" * 100 in data or b"\x00" in data or len(data) < 30:
            raise RecursionError("planted")
        return (), ()
    problems = list(fuzz.run(planted(lower), 1, count=60, max_size=4000))
    assert problems and all(p[2].startswith("raised:") and "planted" in p[2] for p in problems)


def test_the_fuzzer_reports_nondeterministic_facts():
    counter = iter(range(10**6))
    assert "differ" in next(fuzz.run(planted(lambda rel, data: (next(counter), ())), 1, count=5))[2]


def test_the_fuzzer_reports_super_linear_time(monkeypatch):
    monkeypatch.setattr(fuzz, "budget", lambda size: 0.0)
    assert "took" in next(fuzz.run(planted(lambda rel, data: ((), ())), 1, count=5))[2]
