"""Mutation fuzzing of every frontend: no exception escapes, facts are deterministic, time is bounded.

    python benchmarks/fuzz.py --minutes 10             # what a release runs (every frontend, in turn)
    python benchmarks/fuzz.py --minutes 2 --kinds lwc aura --seed 7 --out fuzz-findings

Inputs are the sample files (samples/) of each file kind, mutated: bytes flipped, inserted, deleted
or duplicated, markup and brackets inserted, two seeds spliced, a slice repeated thousands of times
or wrapped in thousands of brackets (the shapes that find super-linear code). Each input is lowered
twice by its frontend, exactly as `apexscan scan` lowers it (pipeline.lowering.lower_bytes), and
checked: nothing raised, both results equal, the facts survive the cache codec unchanged, and the
time stayed under `budget(len(input))`. An input that breaks a check is written to --out with a
line in its `.txt` saying what broke; the exit status is then 1.

Each frontend runs in a child process watched by this one, so an input that hangs is caught too
(the child is killed after `HANG_FACTOR` times the budget and the input saved).

Registry: `TARGETS`, one `Target(kind, seeds, lower)` per frontend. Every file kind of
`pipeline.lowering.CODE_FRONTENDS`, and "metadata", is there already with the sample files of that
kind; a frontend outside that table (or one whose samples live elsewhere) joins with one entry.
tests/test_fuzz.py runs the same checks on a few inputs per frontend in the default test run.
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.limits import LIMITS
from apexscan.pipeline.cache_codec import CODE_FACTS, DIAGNOSTICS, METADATA_FACTS, TooDeep, decode, encode
from apexscan.pipeline.lowering import CODE_FRONTENDS, METADATA_FRONTENDS, lower_bytes
from apexscan.pipeline.project import discover

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MAX_INPUT = 256_000  # bytes: large enough for repetition to show super-linear code, small enough to be quick
HANG_FACTOR = 3
STEP_SECONDS = 100e-6  # one tree-sitter progress report in error recovery, at worst (25 to 90 us measured)


def budget(size: int) -> float:
    """Seconds one input may take (two lowerings and the codec): generous, linear in its size, and
    room for the parser steps engine.limits allows (tree-sitter's error recovery may use them all,
    at up to STEP_SECONDS each on a loaded machine, before the bound stops it)."""
    steps = LIMITS.parse_steps + size * LIMITS.parse_steps_per_kb // 1000
    return 3.0 + size * 20e-6 + 2 * steps * STEP_SECONDS


@dataclass(frozen=True)
class Target:
    kind: str
    seeds: Callable[[], list[tuple[str, bytes]]]  # (project-relative path, content), read on first use
    lower: Callable[[str, bytes], tuple]  # (path, bytes) -> (facts, diagnostics), as the scan lowers it


def sample_seeds(kind: str) -> Callable[[], list[tuple[str, bytes]]]:
    """The files of samples/ whose kind is `kind`, as project discovery finds them (a Mule app's
    files are known by their place in the app, not by suffix), by path inside their project."""
    def read() -> list[tuple[str, bytes]]:
        out = []
        for folder in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
            out += [(f.rel, f.path.read_bytes()) for f in discover([folder]).files if f.kind == kind]
        return out
    return read


def frontend(kind: str) -> Callable[[str, bytes], tuple]:
    return lambda rel, data: lower_bytes(rel, kind, data)


TARGETS: list[Target] = [Target(kind, sample_seeds(kind), frontend(kind))
                         for kind in (*CODE_FRONTENDS, *METADATA_FRONTENDS)]


# --- mutation ------------------------------------------------------------------------------------

TOKENS = [b"<", b">", b"</", b"/>", b"&", b"&amp;", b"<!--", b"-->", b"<![CDATA[", b"]]>", b"{", b"}", b"(", b")",
          b"[", b"]", b"'", b'"', b"`", b"${", b"{!", b"\\", b"/*", b"*/", b"//", b"\n", b"\x00", b"\xff",
          b"\xef\xbb\xbf", b"\xe2\x80\xae", b"<!DOCTYPE x>", b"=", b":", b";", b",", b".", b"?", b"+", b" " * 64]
OPEN_CLOSE = [(b"(", b")"), (b"{", b"}"), (b"[", b"]"), (b"<value>", b"</value>"), (b"a ? ", b" : b"),
              (b"'x' + ", b""), (b"f(", b")"), (b"if (x) { ", b" }"), (b"{!", b"}"), (b"`${", b"}`")]


def mutate(rng: random.Random, data: bytes, others: list[bytes], max_size: int = MAX_INPUT) -> bytes:
    """`data` with one to six random edits; at most `max_size` bytes."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(out))
        op = rng.randrange(9)
        if op == 0 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 1:
            out[at:at] = rng.randbytes(rng.randint(1, 16))
        elif op == 2:
            del out[at:at + rng.randint(1, 200)]
        elif op == 3:
            start = rng.randint(0, len(out))
            out[at:at] = out[start:start + rng.randint(1, 400)]
        elif op == 4:
            out[at:at] = rng.choice(TOKENS)
        elif op == 5 and others:  # splice: our head, another seed's tail
            other = rng.choice(others)
            out[at:] = other[rng.randint(0, len(other)):]
        elif op == 6:
            del out[at:]
        elif op == 7:  # repeat a short slice many times
            start = rng.randint(0, len(out))
            piece = bytes(out[start:start + rng.randint(1, 40)]) or rng.choice(TOKENS)
            out[at:at] = piece * rng.randint(100, max(100, (max_size - len(out)) // len(piece)))
        else:  # wrap a slice in thousands of brackets
            opening, closing = rng.choice(OPEN_CLOSE)
            end = rng.randint(at, min(len(out), at + 200))
            depth = rng.randint(100, 5000)
            out[at:end] = opening * depth + out[at:end] + closing * (depth if rng.random() < 0.7 else 0)
        if len(out) > max_size:
            del out[max_size:]
    return bytes(out)


def inputs(target: Target, rng: random.Random, max_size: int = MAX_INPUT) -> Iterator[tuple[str, bytes]]:
    """Mutated seeds of `target`, for ever (the caller stops)."""
    seeds = target.seeds()
    if not seeds:
        raise ValueError(f"no seed files for the {target.kind!r} frontend")
    contents = [content for _, content in seeds]
    while True:
        rel, content = rng.choice(seeds)
        yield rel, mutate(rng, content, contents, max_size)


# --- checking ------------------------------------------------------------------------------------


def _facts_like(value) -> bool:
    """Facts as frontends make them: a dataclass (FileFacts, MetadataFacts) or a pair of them."""
    parts = value if isinstance(value, tuple) else (value,)
    return bool(parts) and all(dataclasses.is_dataclass(p) for p in parts)


def check_one(target: Target, rel: str, data: bytes) -> str:
    """What is wrong with how the frontend handles this input ("" when nothing)."""
    start = time.perf_counter()
    try:
        first = target.lower(rel, data)
        second = target.lower(rel, data)
        encoded = None
        if _facts_like(first[0]):  # the fuzzer's own tests plant frontends that return anything
            try:
                encoded = encode(first[0]), encode(tuple(first[1]))
            except TooDeep:  # not cached: lowered again at each scan
                encoded = None
        root = CODE_FACTS if target.kind in CODE_FRONTENDS else METADATA_FACTS
        decoded = None if encoded is None else (decode(encoded[0], root), decode(encoded[1], DIAGNOSTICS))
    except Exception:  # anything at all: reporting it is the point
        return "raised:\n" + traceback.format_exc()
    elapsed = time.perf_counter() - start
    if first != second:
        return "two lowerings of the same bytes differ"
    if decoded is not None and decoded != (first[0], tuple(first[1])):
        return "the facts changed through the cache codec"
    allowed = budget(len(data))
    if elapsed > allowed:
        return f"took {elapsed:.1f} s for {len(data):,} bytes (budget {allowed:.1f} s)"
    return ""


def run(target: Target, seed: int, *, count: int | None = None, seconds: float | None = None,
        max_size: int = MAX_INPUT,
        on_input: Callable[[str, bytes], None] | None = None) -> Iterator[tuple[str, bytes, str]]:
    """(path, input, problem) for each failing input, over `count` inputs or `seconds` of fuzzing."""
    rng = random.Random(f"{target.kind}:{seed}")
    deadline = None if seconds is None else time.monotonic() + seconds
    for done, (rel, data) in enumerate(inputs(target, rng, max_size)):
        if (count is not None and done >= count) or (deadline is not None and time.monotonic() > deadline):
            return
        if on_input is not None:
            on_input(rel, data)
        problem = check_one(target, rel, data)
        if problem:
            yield rel, data, problem


# --- the release run: one watched child process per frontend ---------------------------------------


def _child(kind: str, seed: int, seconds: float, conn) -> None:
    target = next(t for t in TARGETS if t.kind == kind)
    for rel, data, problem in run(target, seed, seconds=seconds,
                                  on_input=lambda rel, data: conn.send(("input", rel, data))):
        conn.send(("problem", rel, data, problem))
    conn.send(("end",))


def fuzz_kind(kind: str, seed: int, seconds: float, out: Path) -> int:
    """Fuzz one frontend for `seconds` in a child; returns the number of failing inputs saved."""
    context = multiprocessing.get_context("fork")
    failures, inputs_seen, restarts = 0, 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        parent, child = context.Pipe()
        process = context.Process(target=_child, args=(kind, seed + restarts, deadline - time.monotonic(), child))
        process.start()
        current = None
        while True:
            wait = HANG_FACTOR * budget(len(current[1]) if current else MAX_INPUT)
            if not parent.poll(wait):
                process.kill()
                failures += _save(out, kind, *current, f"hung: no result after {wait:.0f} s") if current else 0
                restarts += 1
                break
            try:
                message = parent.recv()
            except EOFError:  # the child died (a crash in C code, or out of memory)
                process.join()
                failures += _save(out, kind, *current, f"the process died (exit {process.exitcode})") if current else 0
                restarts += 1
                break
            if message[0] == "input":
                current = message[1:]
                inputs_seen += 1
            elif message[0] == "problem":
                failures += _save(out, kind, *message[1:])
            else:
                process.join()
                print(f"{kind:9} {inputs_seen:7,} inputs, {failures} failing, {restarts} restarts")
                return failures
    print(f"{kind:9} {inputs_seen:7,} inputs, {failures} failing, {restarts} restarts")
    return failures


def _save(out: Path, kind: str, rel: str, data: bytes, problem: str) -> int:
    out.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{len(list(out.glob(f'{kind}-*.bin'))):04d}"
    (out / f"{name}.bin").write_bytes(data)
    (out / f"{name}.txt").write_text(f"{rel}\n{problem}\n", encoding="utf-8")
    print(f"  {kind}: {problem.splitlines()[0]} -> {out / name}.bin", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="total fuzzing time, shared by the frontends")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (printed; reuse it to replay)")
    parser.add_argument("--kinds", nargs="+", choices=[t.kind for t in TARGETS], help="only these frontends")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="where failing inputs are saved")
    args = parser.parse_args(argv)
    kinds = args.kinds or [t.kind for t in TARGETS]
    print(f"seed {args.seed}, {args.minutes:g} minutes over {', '.join(kinds)}")
    failures = sum(fuzz_kind(kind, args.seed, args.minutes * 60 / len(kinds), args.out) for kind in kinds)
    print("no failing input" if not failures else f"{failures} failing input(s) in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
