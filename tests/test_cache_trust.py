"""The facts cache under attack (issue 12, item 3): whoever can write the cache folder must not be
able to change a later scan, make it allocate gigabytes, crash it, or redirect its writes.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_project

import apexscan.pipeline.cache as cache_module
import apexscan.pipeline.cache_codec as cache_codec
import apexscan.pipeline.lowering as lowering
from apexscan.engine.facts import Ref, StrDef
from apexscan.engine.model import Finding, Location
from apexscan.interfaces.cli import main
from apexscan.pipeline.cache import FactsCache
from apexscan.pipeline.cache_codec import MAX_DEPTH, TAGS, encode
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"
BOMB = b"[" + (0x3FFFFFFF).to_bytes(4, "little")  # a list of a billion items: 8 GB reserved, then EOF


@pytest.fixture(scope="module")
def expected():
    """The sample org's findings without any cache."""
    project = discover([SAMPLE])
    return scan(project, load_policy(None, project.root)).findings


@pytest.fixture
def org(tmp_path) -> Path:
    root = tmp_path / "org"
    shutil.copytree(SAMPLE, root)
    return root


def scan_with(root: Path, cache: FactsCache | None):
    project = discover([root])
    return scan(project, load_policy(None, project.root), cache=cache)


def filled(folder: Path, root: Path) -> FactsCache:
    cache = FactsCache(folder, root)
    scan_with(root, cache)
    cache.save()
    return cache


def empty_facts_for_every_file(root: Path) -> dict:
    """The poisoned entries of the report: each file's real key, and no facts at all."""
    entries = {}
    for f in discover([root]).files:
        key = FactsCache.key(f.kind, f.path.read_bytes())
        facts = None if f.kind != "metadata" else encode(lowering.parse_metadata_file(f.rel, b"")[0])
        entries[f.rel] = (key, facts, ())
    return entries


# --- poisoning ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["old format", "new format, made-up tag", "new format, tag of another key"])
def test_empty_facts_planted_in_the_cache_change_nothing(org, tmp_path, expected, shape):
    folder = tmp_path / "cache"
    cache = filled(folder, org)
    errors = [f for f in expected if f.rule_id.startswith("APX-LLM")]
    assert len(errors) > 30  # the report's "39 findings become 0"
    document = {"analyzer": cache_module.analyzer_fingerprint(), "token": "t",
                "entries": empty_facts_for_every_file(org)}
    if shape == "old format":
        forged = marshal.dumps(document)
    elif shape == "new format, made-up tag":
        forged = cache_module.MAGIC + b"\0" * 32 + marshal.dumps(document)
    else:  # what a job holding a key of its own writes: authentic for that key only
        other = FactsCache(folder, org, key=b"k" * 64)
        forged = cache_module.MAGIC + other._tag("pack", marshal.dumps(document)) + marshal.dumps(document)
    cache.pack.write_bytes(forged)
    again = FactsCache(folder, org)
    assert scan_with(org, again).findings == expected
    assert again.hits == 0  # nothing of the forged pack was used
    r = CliRunner().invoke(main, ["scan", str(org), "--cache-dir", str(folder)])
    assert r.exit_code == 1 and "error[APX-LLM-001]" in r.stdout


def test_a_pack_made_with_another_key_is_ignored_and_rewritten(org, tmp_path, expected, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("APEXSCAN_CACHE_KEY", "a" * 40)
    filled(folder, org)
    monkeypatch.setenv("APEXSCAN_CACHE_KEY", "b" * 40)
    other = filled(folder, org)
    assert other.hits == 0
    assert FactsCache(folder, org, key=b"b" * 40)._entries()  # rewritten with the new key
    monkeypatch.setenv("APEXSCAN_CACHE_KEY", "b" * 40)
    again = FactsCache(folder, org)
    assert scan_with(org, again).findings == expected and again.misses == 0


# --- decoding what the key does not vouch for: never more than the file, never a crash -----------------

@pytest.mark.parametrize("content", [BOMB, cache_module.MAGIC + b"\0" * 32 + BOMB], ids=["bare", "behind a tag"])
def test_the_5_byte_allocation_bomb_is_never_unmarshalled(org, tmp_path, expected, content, monkeypatch):
    folder = tmp_path / "cache"
    cache = filled(folder, org)
    cache.pack.write_bytes(content)
    cache.delta.write_bytes(content)
    loaded = []
    real = marshal.loads
    monkeypatch.setattr(cache_module.marshal, "loads", lambda data: loaded.append(bytes(data)) or real(data))
    again = FactsCache(folder, org)
    assert scan_with(org, again).findings == expected
    assert BOMB not in loaded and not any(BOMB in data for data in loaded)


def test_a_pack_larger_than_the_cap_is_not_read(org, tmp_path, expected, monkeypatch):
    folder = tmp_path / "cache"
    cache = filled(folder, org)
    size = cache.pack.stat().st_size
    monkeypatch.setattr(cache_module, "MAX_FILE_BYTES", size - 1)
    again = FactsCache(folder, org)
    assert scan_with(org, again).findings == expected and again.hits == 0


def first_object(value, cls: type) -> list:
    """The first encoded object of class `cls` inside `value` (a list, to be edited in place)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is list:
            if item and item[0] in (TAGS[cls], -TAGS[cls]):
                return item
            stack.extend(item[1:])
        elif type(item) is tuple:
            stack.extend(item)
    raise AssertionError(f"no {cls.__name__} found")


def deep_part(depth: int) -> list:
    part: list | tuple = ("lit", "x")
    for _ in range(depth):
        part = [0, "choice", [0, part], ()]
    return part


@pytest.mark.parametrize("damage", [
    "wrong class", "wrong type in a leaf", "wrong type in a tuple", "extra value", "bool for int",
    "facts of another file", "metadata facts for a class", "nested past the bound", "not a list",
])
def test_an_authentic_entry_of_the_wrong_shape_is_parsed_again_not_trusted(org, tmp_path, expected, damage):
    """What the typed checks still catch when the key is known (or apexscan has a bug)."""
    folder = tmp_path / "cache"
    cache = filled(folder, org)
    document = read_document(cache)
    rel = next(rel for rel in document["entries"] if rel.endswith("KycSummaryService.cls"))
    key, facts, diagnostics = document["entries"][rel]
    if damage == "wrong class":
        facts[0] = TAGS[Finding]  # a Finding where FileFacts belongs
    elif damage == "wrong type in a leaf":
        first_object(facts, Location)[2] = "12"  # Location.line as text
    elif damage == "wrong type in a tuple":
        first_object(facts, Ref)[3] = ("name", 7)  # Ref.path with a number in it
    elif damage == "extra value":
        first_object(facts, Location).append(0)
    elif damage == "bool for int":
        first_object(facts, Location)[3] = True
    elif damage == "facts of another file":
        facts[1] = "force-app/main/default/classes/Other.cls"
    elif damage == "metadata facts for a class":
        facts = encode(lowering.parse_metadata_file("x", b"")[0])
    elif damage == "nested past the bound":
        first_object(facts, StrDef)[2] = [0, deep_part(MAX_DEPTH + 5)]
    elif damage == "not a list":
        facts = {"a": "dict"}
    document["entries"][rel] = (key, facts, diagnostics)
    write_document(cache, document)
    again = FactsCache(folder, org)
    assert scan_with(org, again).findings == expected
    assert again.misses == 1 and again.hits == len(document["entries"]) - 1


def read_document(cache: FactsCache) -> dict:
    folder = cache._folder(create=False)
    try:
        return cache._read(folder, cache_module.PACK_NAME, "pack")
    finally:
        os.close(folder)


def write_document(cache: FactsCache, document: dict) -> None:
    """Write a pack with this user's key: what only apexscan, or someone who has the key, can do."""
    folder = cache._folder(create=True)
    try:
        cache._write(folder, cache_module.PACK_NAME, "pack", document)
    finally:
        os.close(folder)


# --- folders and files that are symbolic links or someone else's -----------------------------------------

def project_folder(folder: Path, root: Path) -> Path:
    return folder / hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]


@pytest.mark.parametrize("what", ["project folder", "cache folder", "pack"])
def test_a_symbolic_link_in_the_cache_is_refused_and_never_followed(org, tmp_path, expected, what):
    folder, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    elsewhere.mkdir()
    if what == "cache folder":
        folder.symlink_to(elsewhere, target_is_directory=True)
    else:
        filled(folder, org)
        target = project_folder(folder, org)
        if what == "project folder":
            shutil.rmtree(target)
            target.symlink_to(elsewhere, target_is_directory=True)
        else:
            (target / cache_module.PACK_NAME).unlink()
            (target / cache_module.PACK_NAME).symlink_to(elsewhere / "planted")
    cache = FactsCache(folder, org)
    result = scan_with(org, cache)
    cache.save()
    assert result.findings == expected
    (problem,) = [d for d in result.diagnostics if d.stage == "cache"]
    assert "symbolic link" in problem.message and "running without the facts cache" in problem.message
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    r = CliRunner().invoke(main, ["scan", str(org), "--cache-dir", str(folder)])
    assert r.exit_code == 1 and "apexscan: cache: " in r.stderr and "symbolic link" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_cache_folder_of_another_user_is_refused(org, tmp_path, expected):
    folder = tmp_path / "cache"
    filled(folder, org)
    os.chown(project_folder(folder, org), 65534, 65534)
    result = scan_with(org, FactsCache(folder, org))
    assert result.findings == expected
    assert any(d.stage == "cache" and "another user" in d.message for d in result.diagnostics)


def test_a_fifo_planted_as_the_pack_does_not_block_the_scan(org, tmp_path, expected):
    folder = tmp_path / "cache"
    cache = filled(folder, org)
    cache.pack.unlink()
    os.mkfifo(cache.pack)
    result = scan_with(org, FactsCache(folder, org))
    assert result.findings == expected
    assert any(d.stage == "cache" for d in result.diagnostics)


# --- the key ------------------------------------------------------------------------------------------

def test_the_key_is_made_once_private_outside_the_cache_folder(org, tmp_path):
    filled(tmp_path / "cache", org)
    key = cache_module.default_key_dir() / cache_module.KEY_FILE
    assert key.is_file() and key.stat().st_mode & 0o777 == 0o600
    assert tmp_path / "cache" not in key.parents
    before = key.read_bytes()
    filled(tmp_path / "cache", org)
    assert key.read_bytes() == before


def test_a_key_others_can_read_or_a_short_key_turns_the_cache_off(org, tmp_path, expected, monkeypatch):
    filled(tmp_path / "cache", org)
    key = cache_module.default_key_dir() / cache_module.KEY_FILE
    key.chmod(0o644)
    result = scan_with(org, FactsCache(tmp_path / "cache", org))
    assert result.findings == expected
    assert any(d.stage == "cache" and "chmod 600" in d.message for d in result.diagnostics)
    monkeypatch.setenv("APEXSCAN_CACHE_KEY", "short")
    cache = FactsCache(tmp_path / "other", org)
    result = scan_with(org, cache)
    cache.save()
    assert any("shorter than 32" in d.message for d in result.diagnostics)
    assert not (tmp_path / "other").exists()


# --- facts too deep for the cache -----------------------------------------------------------------------

TERNARY = "public class Tern {\n    public static String go(Integer x) {\n        return %s : 'end';\n    }\n}\n" % \
    " : ".join(f"x == {i} ? 'v{i}'" for i in range(300))


@pytest.mark.parametrize("jobs", [1, 2])
def test_facts_too_deep_for_the_cache_are_scanned_and_not_cached(tmp_path, monkeypatch, jobs):
    """A 300-term ternary chain once made the codec recurse past Python's stack; chains are now one
    choice, so the depth bound is lowered here to make its facts too deep all the same."""
    monkeypatch.setattr(lowering, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(cache_codec, "MAX_DEPTH", 5)  # Tern.cls's facts nest 7 deep, Other.cls's 4
    (tmp_path / "p").mkdir()
    root = write_project(tmp_path / "p", {"classes/Tern.cls": TERNARY, "classes/Other.cls": "public class Other {}\n"})
    r = CliRunner().invoke(main, ["scan", str(root), "--jobs", str(jobs), "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    cache = FactsCache(tmp_path / "c", root)
    scan_with(root, cache)
    assert cache.hits == 1 and cache.misses == 1  # Other.cls cached, Tern.cls lowered again
