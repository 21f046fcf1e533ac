"""Read every file of the project and lower it to facts: from the cache, in worker processes, or here.

Facts depend on one file alone, so files can be lowered in any order and in any process; results
are put back in the project's file order, so the rest of the pipeline (and the report) is the same
whichever way they were made.
"""
from __future__ import annotations

import marshal
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from apexscan.engine.facts import FileFacts
from apexscan.engine.limits import LIMIT, LIMITS, Limits, megabytes
from apexscan.engine.model import Diagnostic
from apexscan.frontends.agent import lower_agent
from apexscan.frontends.apex import lower_apex
from apexscan.frontends.aura import lower_aura
from apexscan.frontends.flow import lower_flow
from apexscan.frontends.lwc import lower_lwc
from apexscan.frontends.metadata import parse_metadata_file
from apexscan.frontends.mule import lower_dataweave, lower_mule, parse_mule_project, parse_property_file
from apexscan.frontends.node import lower_node
from apexscan.frontends.prompt_template import lower_prompt_template
from apexscan.frontends.python import lower_python
from apexscan.frontends.service_config import parse_app_json, parse_env_file, parse_json, parse_terraform
from apexscan.pipeline.cache import FactsCache
from apexscan.pipeline.cache_codec import CODE_FACTS, DIAGNOSTICS, METADATA_FACTS, TooDeep, decode, encode
from apexscan.pipeline.project import SourceFile

# Frontends whose facts join the project graph: file kind -> lower(path, bytes, strict). A frontend
# may return (FileFacts, MetadataFacts) for a file that holds code and configuration (Mule XML).
CODE_FRONTENDS = {
    "apex": lambda path, data, strict: lower_apex(path, data, strict=strict),
    "flow": lambda path, data, strict: lower_flow(path, data),
    "template": lambda path, data, strict: lower_prompt_template(path, data),
    "agent": lambda path, data, strict: lower_agent(path, data),
    "lwc": lambda path, data, strict: lower_lwc(path, data, strict=strict),
    "aura": lambda path, data, strict: lower_aura(path, data, strict=strict),
    "mule": lambda path, data, strict: lower_mule(path, data),
    "dataweave": lambda path, data, strict: lower_dataweave(path, data),
    "python": lambda path, data, strict: lower_python(path, data, strict=strict),
    "node": lambda path, data, strict: lower_node(path, data, strict=strict),
}

# Frontends whose facts are project metadata (merged into ProjectMetadata, never linked): file
# kind -> parse(path, bytes) -> (MetadataFacts, diagnostics).
METADATA_FRONTENDS = {
    "metadata": parse_metadata_file,
    "mule-config": parse_property_file,
    "mule-project": parse_mule_project,
    "env-file": parse_env_file,  # services' configuration (frontends/service_config.py)
    "app-json": parse_app_json,
    "json": parse_json,
    "terraform": parse_terraform,
}

# Worker processes pay for themselves only on large projects: starting one costs about 0.2 s.
POOL_MIN_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class Lowered:
    file: SourceFile
    # FileFacts for code, MetadataFacts for metadata; None when the file is unreadable, or holds
    # test classes only (they and their mocks never run in production: neither analysed nor kept
    # in the cache, which holds only their diagnostics)
    facts: object
    diagnostics: tuple[Diagnostic, ...]


def read_file(path: Path, rel: str, limits: Limits = LIMITS) -> tuple[bytes | None, Diagnostic | None]:
    """The file's bytes, or why there are none: unreadable, or over the size bound (then only
    that much is read)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.file_bytes + 1)
    except OSError as exc:
        return None, Diagnostic(rel, "read", f"cannot read file: {exc.strerror or exc}", not_analysed=True)
    if len(data) > limits.file_bytes:
        return None, Diagnostic(rel, LIMIT, f"file is over the {megabytes(limits.file_bytes)} limit; not analysed")
    return data, None


def lower_bytes(rel: str, kind: str, data: bytes, strict: bool = False):
    """One file's bytes -> (facts, diagnostics). Pure: depends on these bytes alone."""
    if kind in CODE_FRONTENDS:
        facts = CODE_FRONTENDS[kind](rel, data, strict)
        return facts, code_facts(facts).diagnostics
    return METADATA_FRONTENDS[kind](rel, data)


def code_facts(facts) -> FileFacts:
    """The code part of a code frontend's result."""
    return facts[0] if isinstance(facts, tuple) else facts


def metadata_part(facts):
    """The configuration part of a code frontend's result, or None."""
    return facts[1] if isinstance(facts, tuple) else None


def _production(facts):
    """The facts, or None for a file of test classes only."""
    if isinstance(facts, FileFacts) and facts.classes and all(c.is_test for c in facts.classes):
        return None
    return facts


def lower_file(f: SourceFile, strict: bool = False):
    data, problem = read_file(f.path, f.rel)
    if problem is not None:
        return None, (problem,)
    return lower_bytes(f.rel, f.kind, data, strict)


def default_jobs() -> int:
    return min(os.cpu_count() or 1, 4)


def lower_all(files: tuple[SourceFile, ...], *, strict: bool = False, cache: FactsCache | None = None,
              jobs: int = 1, progress=None) -> list[Lowered]:
    """Every file's facts, in `files` order. Strict runs (tests) bypass the cache. `progress`
    (scan.Progress) hears ("parse", files done, files) as files are done."""
    use_cache = cache is not None and not strict
    total = len(files)

    def tell() -> None:
        if progress is not None:
            progress("parse", len(done), total)
    done: dict[int, Lowered] = {}
    todo: list[tuple[int, str, bytes]] = []  # (index, cache key, bytes)
    for index, f in enumerate(files):
        data, problem = read_file(f.path, f.rel)
        if problem is not None:
            done[index] = Lowered(f, None, (problem,))
            continue
        key = FactsCache.key(f.kind, data) if use_cache else ""
        found = cache.get(f.rel, key, CODE_FACTS if f.kind in CODE_FRONTENDS else METADATA_FACTS) if use_cache else None
        if found is not None:
            done[index] = Lowered(f, *found)
        else:
            todo.append((index, key, data))
    tell()

    # Workers are forked: they start at once, with everything imported, and never re-run the
    # caller's __main__ (spawn and forkserver do). Forking is only safe with no other thread running.
    if (jobs > 1 and threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
            and sum(len(data) for _, _, data in todo) >= POOL_MIN_BYTES):
        remaining = _lower_in_pool(files, todo, done, cache if use_cache else None, jobs, strict, tell)
    else:
        remaining = todo
    for index, key, data in remaining:
        f = files[index]
        facts, diagnostics = lower_bytes(f.rel, f.kind, data, strict)
        facts = _production(facts)
        done[index] = Lowered(f, facts, tuple(diagnostics))
        if use_cache:
            try:
                cache.put_encoded(f.rel, key, encode(facts), encode(tuple(diagnostics)), facts, diagnostics)
            except TooDeep:
                pass  # facts nested deeper than the cache holds: lowered again next time
        tell()
    return [done[index] for index in range(len(files))]


def _lower_in_pool(files, todo, done, cache, jobs, strict, tell):
    """Lower `todo` in worker processes; what they could not do is returned for this process.

    Workers send facts back already encoded for the cache (marshal), which is far cheaper than
    pickling dataclasses, and the encoded form goes into the cache as it is.
    """
    # Biggest files first, so that no worker is left with a large file at the end.
    order = sorted(todo, key=lambda item: -len(item[2]))
    tasks = [(files[i].rel, files[i].kind, data, strict) for i, _, data in order]
    finished: set[int] = set()
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for (index, key, _), blob in zip(order, pool.map(_worker, tasks, chunksize=8)):
                if blob is None:
                    continue  # too deep to send back this way: lowered here
                encoded_facts, encoded_diags = marshal.loads(blob)
                f = files[index]
                root = CODE_FACTS if f.kind in CODE_FRONTENDS else METADATA_FACTS
                done[index] = lowered = Lowered(f, decode(encoded_facts, root), decode(encoded_diags, DIAGNOSTICS))
                if cache is not None:
                    cache.put_encoded(f.rel, key, encoded_facts, encoded_diags, lowered.facts, lowered.diagnostics)
                finished.add(index)
                tell()
    except (BrokenProcessPool, OSError):
        pass  # a worker died or could not start: lower the rest here
    return [item for item in todo if item[0] not in finished]


def _worker(task: tuple[str, str, bytes, bool]) -> bytes | None:
    """A file's facts and diagnostics, encoded; None when they nest too deep to encode."""
    rel, kind, data, strict = task
    facts, diagnostics = lower_bytes(rel, kind, data, strict)
    try:
        return marshal.dumps((encode(_production(facts)), encode(tuple(diagnostics))))
    except TooDeep:
        return None
