"""The parsed-facts cache and worker processes: faster runs, never different results."""
from __future__ import annotations

import marshal
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import apexscan.pipeline.lowering as lowering
from apexscan.interfaces.cli import main
from apexscan.pipeline import cache as cache_module
from apexscan.pipeline.cache import FactsCache
from apexscan.pipeline.cache_codec import CODE_FACTS, DIAGNOSTICS, METADATA_FACTS, decode, encode
from apexscan.pipeline.lowering import lower_all, lower_file
from apexscan.pipeline.project import discover
from apexscan.pipeline.scan import scan
from apexscan.salesforce.policy import load_policy

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "fintech-org"


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "org"
    shutil.copytree(SAMPLE, root)
    return root


def scan_with(root: Path, cache: FactsCache | None, jobs: int = 1):
    project = discover([root])
    return scan(project, load_policy(None, project.root), cache=cache, jobs=jobs)


def sarif(root: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["scan", str(root), "--format", "sarif", *options])
    assert result.exit_code == 1, result.output
    return result.output


def read_document(cache: FactsCache, name: str = cache_module.PACK_NAME) -> dict:
    """What a pack or delta holds, read as apexscan reads it (its tag checked)."""
    folder = cache._folder(create=False)
    try:
        return cache._read(folder, name, "pack" if name == cache_module.PACK_NAME else "delta")
    finally:
        os.close(folder)


def write_document(cache: FactsCache, document: dict, name: str = cache_module.PACK_NAME) -> None:
    """Write a pack as apexscan does, with this user's key: what only apexscan itself, or someone
    holding the key, can do."""
    folder = cache._folder(create=True)
    try:
        cache._write(folder, name, "pack" if name == cache_module.PACK_NAME else "delta", document)
    finally:
        os.close(folder)


def test_every_sample_file_survives_encoding_unchanged():
    kinds = set()
    for f in discover([SAMPLE]).files:
        facts, diagnostics = lower_file(f)
        blob = marshal.dumps((encode(facts), encode(tuple(diagnostics))))
        encoded_facts, encoded_diagnostics = marshal.loads(blob)
        root = CODE_FACTS if f.kind in lowering.CODE_FRONTENDS else METADATA_FACTS
        assert decode(encoded_facts, root) == facts, f.rel
        assert decode(encoded_diagnostics, DIAGNOSTICS) == tuple(diagnostics)
        kinds.add(f.kind)
    assert kinds == {"apex", "flow", "lwc", "aura", "template", "agent", "metadata", "json"}


def test_a_warm_scan_reuses_every_file_and_finds_the_same(project, tmp_path):
    cold_cache = FactsCache(tmp_path / "cache", project)
    cold = scan_with(project, cold_cache)
    cold_cache.save()
    assert cold_cache.hits == 0 and cold_cache.misses == cold.files_scanned

    warm_cache = FactsCache(tmp_path / "cache", project)
    warm = scan_with(project, warm_cache)
    assert warm_cache.hits == warm.files_scanned and warm_cache.misses == 0
    assert warm.findings == cold.findings and warm.diagnostics == cold.diagnostics
    assert warm.findings == scan_with(project, None).findings


def test_an_edited_file_is_parsed_again_and_its_new_leak_found(project, tmp_path):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    before = scan_with(project, first)
    first.save()
    kyc = project / "force-app/main/default/classes/clients/KycSummaryService.cls"
    kyc.write_text(kyc.read_text().replace("'callout:Mistral_EU/v1", "'callout:OpenAI/v1"))

    again = FactsCache(folder, project)
    after = scan_with(project, again)
    assert again.misses == 1 and again.hits == after.files_scanned - 1
    new = {str(f.location) for f in after.findings} - {str(f.location) for f in before.findings}
    assert {"force-app/main/default/classes/clients/KycSummaryService.cls:30:28"} == new
    assert after.findings == scan_with(project, None).findings


def test_a_damaged_pack_is_ignored_and_replaced(project, tmp_path):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    expected = scan_with(project, first).findings
    first.save()
    first.pack.write_bytes(b"\x00not marshal at all" * 10)
    second = FactsCache(folder, project)
    assert scan_with(project, second).findings == expected
    second.save()
    assert FactsCache(folder, project)._entries()  # rewritten, readable again


def test_an_entry_written_by_something_else_is_parsed_again(project, tmp_path):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    expected = scan_with(project, first).findings
    first.save()
    document = read_document(first)
    for rel, (key, _facts, diagnostics) in document["entries"].items():
        document["entries"][rel] = (key, [999, "no such class"], diagnostics)
    write_document(first, document)
    second = FactsCache(folder, project)
    assert scan_with(project, second).findings == expected
    assert second.hits == 0


def test_another_version_of_apexscan_does_not_reuse_the_facts(project, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    scan_with(project, first)
    first.save()
    monkeypatch.setattr(cache_module, "analyzer_fingerprint", lambda: "some other build")
    second = FactsCache(folder, project)
    scan_with(project, second)
    assert second.hits == 0


def test_an_unwritable_cache_folder_does_not_fail_the_scan(project, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    out = sarif(project, "--cache-dir", str(blocker / "cache"))
    assert '"ruleId": "APX-LLM-001"' in out


def test_the_cli_caches_in_the_users_cache_folder_not_in_the_project(project, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    cold = sarif(project)
    packs = list((tmp_path / "xdg" / "apexscan").rglob("*.pack"))
    assert len(packs) == 1
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before
    assert sarif(project) == cold


def test_no_cache_writes_no_cache(project, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    sarif(project, "--no-cache")
    assert not (tmp_path / "xdg").exists()


def test_strict_runs_bypass_the_cache(project, tmp_path):
    cache = FactsCache(tmp_path / "cache", project)
    files = discover([project]).files
    lower_all(files, strict=True, cache=cache)
    assert cache.hits == cache.misses == 0


def test_worker_processes_give_byte_identical_sarif(project, monkeypatch):
    monkeypatch.setattr(lowering, "POOL_MIN_BYTES", 0)  # the sample is small: use workers anyway
    single = sarif(project, "--no-cache", "--jobs", "1")
    pooled = sarif(project, "--no-cache", "--jobs", "2")
    assert pooled == single


def test_worker_processes_fill_the_cache_with_the_same_facts(project, tmp_path, monkeypatch):
    monkeypatch.setattr(lowering, "POOL_MIN_BYTES", 0)
    files = discover([project]).files
    pooled_cache = FactsCache(tmp_path / "pooled", project)
    pooled = lower_all(files, cache=pooled_cache, jobs=2)
    pooled_cache.save()
    assert [item.facts for item in pooled] == [item.facts for item in lower_all(files)]
    reread = FactsCache(tmp_path / "pooled", project)
    assert [item.facts for item in lower_all(files, cache=reread)] == [item.facts for item in pooled]
    assert reread.hits == len(files)


def test_one_cache_object_serves_scans_in_a_row_without_rereading_the_pack(project, tmp_path):
    """What the language server does: one FactsCache per project, a scan at each save."""
    cache = FactsCache(tmp_path / "cache", project)
    first = scan_with(project, cache)
    cache.save()
    cache.pack.unlink()  # the next scans must not need it
    kyc = project / "force-app/main/default/classes/clients/KycSummaryService.cls"
    kyc.write_text(kyc.read_text().replace("'callout:Mistral_EU/v1", "'callout:OpenAI/v1"))
    hits_before = cache.hits
    second = scan_with(project, cache)
    assert cache.hits - hits_before == second.files_scanned - 1
    assert second.findings == scan_with(project, None).findings != first.findings
    cache.save()
    third = scan_with(project, cache)
    assert third.findings == second.findings
    assert cache.pack.is_file()  # rewritten once the edited file's facts were new


def edit_apex(project: Path, count: int) -> list[Path]:
    """Append a comment to the first `count` Apex classes: new bytes, the same facts."""
    classes = sorted(project.rglob("*.cls"))[:count]
    for path in classes:
        path.write_text(path.read_text() + "\n// edited\n")
    return classes


def test_a_few_changed_files_go_to_a_delta_beside_the_unchanged_pack(project, tmp_path):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    expected = scan_with(project, first).findings
    first.save()
    pack = first.pack.read_bytes()
    assert not first.delta.exists()

    edit_apex(project, 1)
    second = FactsCache(folder, project)
    scan_with(project, second)
    second.save()
    assert second.misses == 1
    assert first.pack.read_bytes() == pack  # not rewritten
    assert first.delta.is_file()

    third = FactsCache(folder, project)
    assert scan_with(project, third).findings == expected
    assert third.misses == 0  # the edited file's facts came from the delta


def test_a_delta_written_against_another_pack_is_not_used(project, tmp_path):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    scan_with(project, first)
    first.save()
    edit_apex(project, 1)
    second = FactsCache(folder, project)
    scan_with(project, second)
    second.save()
    document = read_document(first)
    document["token"] = "another pack"
    write_document(first, document)
    third = FactsCache(folder, project)
    scan_with(project, third)
    assert third.misses == 1  # the pack's old entry for the edited file does not match its bytes


def test_many_changed_files_rewrite_the_pack_and_drop_the_delta(project, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "DELTA_MIN", 0)
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    scan_with(project, first)
    first.save()
    edit_apex(project, 1)
    second = FactsCache(folder, project)
    files = scan_with(project, second).files_scanned
    second.save()
    assert first.delta.is_file()
    edit_apex(project, files // 10 + 1)
    third = FactsCache(folder, project)
    scan_with(project, third)
    third.save()
    assert not first.delta.exists()
    fourth = FactsCache(folder, project)
    scan_with(project, fourth)
    assert fourth.misses == 0


def test_a_pack_replaced_by_another_process_is_written_whole_not_patched(project, tmp_path):
    folder = tmp_path / "cache"
    first = FactsCache(folder, project)
    scan_with(project, first)
    first.save()
    edit_apex(project, 1)
    second = FactsCache(folder, project)
    scan_with(project, second)
    replaced = read_document(first)
    replaced["token"] = "written by another process"
    write_document(first, replaced)  # after `second` read it
    second.save()
    assert not first.delta.exists()
    assert read_document(first)["token"] != "written by another process"
    third = FactsCache(folder, project)
    scan_with(project, third)
    assert third.misses == 0


def test_every_file_of_a_mule_estate_comes_from_the_cache_the_second_time(tmp_path):
    """A Mule flow file's facts are a pair (its code, the configs it declares): the codec must
    take them back, or every flow file is parsed again at every scan."""
    from apexscan.pipeline.scan import scan as run
    from apexscan.salesforce.policy import Policy
    project = discover([Path(__file__).resolve().parent.parent / "samples" / "mule-estate"])
    first = FactsCache(tmp_path / "cache", project.root)
    run(project, Policy(), cache=first)
    first.save()
    second = FactsCache(tmp_path / "cache", project.root)
    again = run(project, Policy(), cache=second)
    assert second.misses == 0 and second.hits == len(project.files) > 20
    assert again == run(project, Policy())
