"""Time and peak memory of `scan` and `inventory` on the input shapes a hostile repository can send.

    python benchmarks/bench_shapes.py                 # every shape
    python benchmarks/bench_shapes.py concat deep-parens --runs no-cache
    python benchmarks/bench_shapes.py --list

Each shape is one project holding one generated file (next to a small client class, so the
project has an LLM call): a 20 MB Apex class, 100,000 methods, a 10,000-term concatenation,
deep nesting, a 50,000-element flow, a large LWC, large metadata XML, ... . For each it runs
`python -m apexscan scan` and `python -m apexscan inventory` in fresh processes, without the cache,
with an empty cache (which is written) and with the cache warm, and prints wall time, peak RSS
(os.wait4) and how the generated file was handled: analysed, or not analysed because of a resource
bound (a `limit` diagnostic, which the gate reports). The target (README "Resource bounds"): every
run under 1 GB and 60 s on a 2-core machine. The last column says whether the run met it; the
exit status is 1 when one did not.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_SECONDS = 60.0
TARGET_MB = 1000.0
CAP_BYTES = 6 << 30  # address space of each run (thread stacks count too, so well above the target)
SFDX = '{"packageDirectories": [{"path": "force-app"}]}\n'
DEFAULT = "force-app/main/default"
CLIENT = """\
public with sharing class ShapeClient {
    public static String complete(String prompt) {
        HttpRequest req = new HttpRequest();
        req.setEndpoint('https://api.openai.com/v1/chat/completions');
        req.setBody(JSON.serialize(new Map<String, Object>{'model' => 'gpt-4o', 'messages' => prompt}));
        return new Http().send(req).getBody();
    }
}
"""
SOURCE = "Contact c = [SELECT Email FROM Contact WHERE Id = :contactId];"


def repeat(unit: Callable[[int], str], size: int) -> str:
    """unit(0) + unit(1) + ... until `size` characters."""
    parts, total, i = [], 0, 0
    while total < size:
        parts.append(unit(i))
        total += len(parts[-1])
        i += 1
    return "".join(parts)


def apex_class(body: str, name: str = "Shape") -> str:
    return (f"public class {name} {{\n    public static void go(Id contactId) {{\n        {SOURCE}\n{body}\n"
            "    }\n}\n")


def huge_class(size: int) -> str:
    method = ("    public static String m{i}(Id contactId) {{\n"
              "        Account a = [SELECT Name, Phone, Industry FROM Account WHERE Id = :contactId];\n"
              "        String s = 'Client ' + a.Name + ' in ' + a.Industry + ' #{i}';\n"
              "        Map<String, Object> m = new Map<String, Object>{{'k' => s, 'n' => {i}}};\n"
              "        return JSON.serialize(m).trim();\n    }}\n")
    return "public class Shape {\n" + repeat(lambda i: method.format(i=i), size) + "}\n"


def concatenation(terms: int) -> str:
    parts = ["'t'"] * (terms - 1)
    parts.insert(terms // 2, "c.Email")
    return f"        String p = {' + '.join(parts)};\n        ShapeClient.complete(p);"


def flow(elements: int) -> str:
    assignments = "".join(
        f"<assignments><name>A{i}</name><label>A{i}</label><assignmentItems><assignToReference>v{i + 1}"
        f"</assignToReference><operator>Assign</operator><value><elementReference>v{i}</elementReference>"
        f"</value></assignmentItems><connector><targetReference>A{i + 1}</targetReference></connector>"
        "</assignments>\n" for i in range(elements))
    variables = "".join(f"<variables><name>v{i}</name><dataType>String</dataType></variables>\n"
                        for i in range(0, elements + 1, max(1, elements // 1000)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Flow xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            "<label>Big</label><processType>AutoLaunchedFlow</processType><status>Active</status>\n"
            f"{assignments}{variables}</Flow>\n")


def lwc(size: int) -> str:
    body = repeat(lambda i: f"    m{i}(x) {{ const y{i} = x + '{i}'; return fetch('https://api.openai.com/v1/x', "
                            f"{{method: 'POST', body: JSON.stringify({{p: y{i}}})}}); }}\n", size)
    return "import { LightningElement } from 'lwc';\nexport default class Big extends LightningElement {\n" + body + "}\n"


def labels(size: int) -> str:
    entries = repeat(lambda i: f"<labels><fullName>L{i}</fullName><language>en_US</language><protected>false"
                               f"</protected><shortDescription>L{i}</shortDescription><value>https://h{i}.example"
                               "</value></labels>\n", size)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<CustomLabels xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            f"{entries}</CustomLabels>\n")


def object_meta(fields: int) -> str:
    body = "".join(f"<fields><fullName>F{i}__c</fullName><label>F{i}</label><type>Text</type><length>80</length>"
                   "<securityClassification>Confidential</securityClassification></fields>\n" for i in range(fields))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            f"{body}<label>Big</label></CustomObject>\n")


# name -> (what, project-relative path of the generated file, its content)
SHAPES: dict[str, tuple[str, str, Callable[[], str]]] = {
    "20mb-class": ("a 20 MB Apex class of ordinary methods", "classes/Shape.cls", lambda: huge_class(19_999_000)),
    "3mb-class": ("a 3 MB Apex class of ordinary methods (at the parse bound)", "classes/Shape.cls",
                  lambda: huge_class(2_990_000)),
    "2.5mb-class": ("a 2.5 MB Apex class of ordinary methods (near the syntax-node bound)", "classes/Shape.cls",
                    lambda: huge_class(2_500_000)),
    "100k-methods": ("100,000 small methods", "classes/Shape.cls",
                     lambda: "public class Shape {\n" + "".join(
                         f"void m{i}(){{}}\n" for i in range(100_000)) + "}\n"),
    "dense-calls": ("88,000 calls that each send the data (near the syntax-node bound)", "classes/Shape.cls",
                    lambda: apex_class("        " + "t(c.Email);" * 88_000).replace(
                        "public class Shape {\n", "public class Shape {\n    static void t(String s) { ShapeClient.complete(s); }\n")),
    "concat": ("a 10,000-term string concatenation", "classes/Shape.cls", lambda: apex_class(concatenation(10_000))),
    "concat-100k": ("a 100,000-term string concatenation", "classes/Shape.cls",
                    lambda: apex_class(concatenation(100_000))),
    "deep-parens": ("an expression in 50,000 parentheses", "classes/Shape.cls",
                    lambda: apex_class(f"        String p = {'(' * 50_000}c.Email{')' * 50_000};\n"
                                       "        ShapeClient.complete(p);")),
    "deep-blocks": ("50,000 nested if blocks", "classes/Shape.cls",
                    lambda: apex_class("        " + "if (true) { " * 50_000 + "ShapeClient.complete(c.Email);"
                                       + " }" * 50_000)),
    "ternary-chain": ("a 50,000-term chained ternary", "classes/Shape.cls",
                      lambda: apex_class("        Integer n = 1;\n        String p = " + "".join(
                          f"n == {i} ? 'v{i}' : " for i in range(50_000)) + "c.Email;\n        ShapeClient.complete(p);")),
    "unclosed": ("1 MB of unclosed parentheses", "classes/Shape.cls",
                 lambda: "public class Shape {\n    void m() {\n        x.send" + "(" * 1_000_000 + "\n"),
    "recovery-bomb": ("a phrase repeated 10,000 times in a map literal (tree-sitter's error recovery)",
                      "classes/Shape.cls",
                      lambda: "public class Shape {\n    void m() {\n        f(new Map<String, Object>{ 'k' => c.Tax_I"
                              + "FROM Contact WHERE Id = :co" * 10_000 + "d__c, 'c' => text }));\n    }\n}\n"),
    "recovery-bomb-3mb": ("the same phrase repeated 110,000 times (3 MB: the step bound at its largest)",
                          "classes/Shape.cls",
                          lambda: "public class Shape {\n    void m() {\n        f(new Map<String, Object>{ 'k' => c.Tax_I"
                                  + "FROM Contact WHERE Id = :co" * 110_000 + "d__c, 'c' => text }));\n    }\n}\n"),
    "flow-50k": ("a flow of 50,000 elements", "flows/Big.flow-meta.xml", lambda: flow(50_000)),
    "lwc-3mb": ("a 3 MB Lightning web component", "lwc/big/big.js", lambda: lwc(2_990_000)),
    "lwc-2mb": ("a 2.1 MB Lightning web component (near the syntax-node bound)", "lwc/big/big.js",
                lambda: lwc(2_150_000)),
    "labels-20mb": ("20 MB of Custom Labels", "labels/CustomLabels.labels-meta.xml", lambda: labels(19_999_000)),
    "object-50k": ("an object with 50,000 classified fields", "objects/Big__c/Big__c.object-meta.xml",
                   lambda: object_meta(50_000)),
    "aura-attrs": ("Aura markup with a 1 MB attribute list", "aura/big/big.cmp",
                   lambda: "<aura:component " + "a" * 1_000_000 + ' controller="ShapeClient"></aura:component>\n'),
}

RUNS = {
    "no-cache": [["--no-cache"]],
    "cache": [["--cache-dir", "{cache}"], ["--cache-dir", "{cache}"]],  # cold (writes it), then warm
}


def _cap_memory() -> None:
    """In the child: at most CAP_BYTES of address space, so that a run far over the target fails
    fast instead of taking the memory of a machine others share (runs over it show as OVER)."""
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def measure(command: list[str], stderr: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, exit status of one command in a new process."""
    start = time.perf_counter()
    with stderr.open("wb") as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, preexec_fn=_cap_memory)
        _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def handled(stderr: Path, rel: str) -> str:
    """How the generated file came out of the run (its diagnostics are on standard error):
    analysed, or not analysed because of a bound."""
    prefix = f"{rel}: limit: "
    for line in stderr.read_text("utf-8", errors="replace").splitlines():
        if line.startswith(prefix):
            return "not analysed: " + line[len(prefix):][:70]
    return "analysed"


def bench(name: str, runs: list[str], temp: Path) -> bool:
    what, rel, make = SHAPES[name]
    project = temp / name
    for path, text in ((f"{DEFAULT}/{rel}", make()), (f"{DEFAULT}/classes/ShapeClient.cls", CLIENT)):
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text, encoding="utf-8")
    (project / "sfdx-project.json").write_text(SFDX, encoding="utf-8")
    size = (project / DEFAULT / rel).stat().st_size
    print(f"{name}: {what} ({size / 1e6:.1f} MB)")
    ok = True
    for command in ("scan", "inventory"):
        for run in runs:
            cache = temp / f"cache-{name}-{command}"
            for index, options in enumerate(RUNS[run]):
                errors = temp / f"{name}-{command}.err"
                args = [sys.executable, "-m", "apexscan", command, str(project), "-o", os.devnull,
                        *[o.format(cache=cache) for o in options]] + (["--fail-on", "never"] if command == "scan" else [])
                wall, rss, status = measure(args, errors)
                label = run if run == "no-cache" else ("cache, cold" if index == 0 else "cache, warm")
                met = wall < TARGET_SECONDS and rss < TARGET_MB and status == 0
                ok &= met
                outcome = handled(errors, f"{DEFAULT}/{rel}") if status == 0 else f"exit {status}"
                print(f"  {command:9} {label:12} {wall:6.1f} s {rss:7,.0f} MB  {'ok  ' if met else 'OVER'}  {outcome}")
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shapes", nargs="*", help="shapes to run (default: all)")
    parser.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=["no-cache", "cache"])
    parser.add_argument("--list", action="store_true", help="list the shapes and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, rel, _) in SHAPES.items():
            print(f"{name:14} {what}  ({rel})")
        return 0
    unknown = [s for s in args.shapes if s not in SHAPES]
    if unknown:
        parser.error(f"unknown shape(s): {', '.join(unknown)} (see --list)")
    ok = True
    with tempfile.TemporaryDirectory(prefix="apexscan-shapes-") as temp:
        for name in args.shapes or list(SHAPES):
            ok &= bench(name, args.runs, Path(temp))
    print("every run within 1 GB and 60 s" if ok else "some runs went over 1 GB or 60 s (OVER above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
