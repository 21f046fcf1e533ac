"""Where the files of a Mule 4 application are, and what kind each one is.

A Mule 4 app is a Maven project: a folder whose `pom.xml` has `<packaging>mule-application</packaging>`,
or that holds a `mule-artifact.json`. Its flows are `src/main/mule/**/*.xml`; its property files
(`.properties`, `.yaml`/`.yml`, and their `.example`, `.sample` and `.template` stand-ins), its
top-level JSON configuration and its DataWeave scripts (`.dwl`) are under `src/main/resources`.
API specifications (`src/main/resources/api/`) and web assets are not configuration. One repository
may hold many apps, and the apps may sit next to an SFDX project.

File kinds (as `pipeline.project.SourceFile.kind`):
  "mule"          a flow file (code: flows, sub-flows, global configurations)
  "dataweave"     a DataWeave script a transform loads with `resource=`
  "mule-config"   a property file, or JSON configuration, of the app
  "mule-project"  the app's pom.xml or mule-artifact.json (deployment target and region)
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from apexscan.frontends.xmlsafe import XmlError
from apexscan.frontends.xmlsafe import parse as parse_xml

FLOWS = "src/main/mule"
RESOURCES = "src/main/resources"
KINDS = ("mule", "dataweave", "mule-config", "mule-project")
PROPERTY_SUFFIXES = (".properties", ".yaml", ".yml")
EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist")  # a committed stand-in for the real file
# Resource folders that hold no configuration of the app itself.
NOT_CONFIG_FOLDERS = frozenset({"api", "webapp", "uiapp", "web", "static", "public", "examples", "schemas",
                                "exchange_modules", "wsdl", "certs", "keystore", "truststore"})
# Folders never searched for apps: build output (Maven copies src/ into target/), tool state.
SKIP_FOLDERS = frozenset({"target", "node_modules", "bin", "build", "dist", "out", "__pycache__"})
MAX_POM_BYTES = 1_000_000
_PACKAGING = re.compile(rb"<packaging>\s*mule-application\s*</packaging>")


def is_app_root(folder: Path) -> bool:
    """Whether `folder` is the root of a Mule 4 application."""
    if (folder / "mule-artifact.json").is_file():
        return True
    pom = folder / "pom.xml"
    try:
        if not pom.is_file() or pom.stat().st_size > MAX_POM_BYTES:
            return False
        data = pom.read_bytes()
    except OSError:
        return False
    if not _PACKAGING.search(data):
        return False
    root = parse_xml(data)
    return not isinstance(root, XmlError) and root.findtext("packaging") == "mule-application"


def find_apps(top: Path, skip: frozenset[Path] = frozenset()) -> list[Path]:
    """Every Mule app root at or under `top`, in path order; hidden folders, build output and the
    folders in `skip` are not searched, and symbolic links are not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_FOLDERS
                             and base / d not in skip and not (base / d).is_symlink())
        if ("pom.xml" in filenames or "mule-artifact.json" in filenames) and is_app_root(base):
            found.append(base)
            # an app's own src/ is listed by app_files; apps nested deeper are still looked for
            dirnames[:] = [d for d in dirnames if d != "src"]
    return found


def kind_in_app(rel_in_app: str) -> str | None:
    """The kind of a file from its path inside its app (POSIX, relative to the app root)."""
    lower = rel_in_app.lower()
    name = lower.rsplit("/", 1)[-1]
    if lower in ("pom.xml", "mule-artifact.json"):
        return "mule-project"
    if lower.startswith(FLOWS + "/") and name.endswith(".xml"):
        return "mule"
    if not lower.startswith(RESOURCES + "/"):
        return None
    inside = lower[len(RESOURCES) + 1:].split("/")
    if name.endswith(".dwl"):
        return "dataweave"
    if inside[0] in NOT_CONFIG_FOLDERS or len(inside) > 1 and inside[-2] in NOT_CONFIG_FOLDERS:
        return None
    base = name
    for suffix in EXAMPLE_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    if base.endswith(PROPERTY_SUFFIXES):
        return "mule-config"
    if base.endswith(".json") and len(inside) == 1 and ("config" in base or "env" in base):
        return "mule-config"  # envVars.json, config.json: what AI Chain's configType "Configuration Json" reads
    return None


def app_files(app: Path) -> list[tuple[Path, str]]:
    """(path, kind) of every file of an app that apexscan reads, in path order."""
    out = []
    for name in ("pom.xml", "mule-artifact.json"):
        if (app / name).is_file():
            out.append((app / name, "mule-project"))
    for sub in (FLOWS, RESOURCES):
        folder = app / sub
        if not folder.is_dir() or folder.is_symlink():
            continue
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
            base = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (base / d).is_symlink())
            for name in sorted(filenames):
                path = base / name
                kind = kind_in_app(path.relative_to(app).as_posix())
                if kind is not None:
                    out.append((path, kind))
    return out


def app_root_of(rel: str) -> str:
    """The app root of a project-relative file path, from the path alone: the part before
    `src/main/...` ("" for an app at the project root, or a file outside that layout)."""
    for marker in ("/" + FLOWS + "/", "/" + RESOURCES + "/"):
        at = ("/" + rel).find(marker)
        if at >= 0:
            return rel[:at].rstrip("/") if at else ""
    return rel.rpartition("/")[0]


def is_example(rel: str) -> bool:
    """Whether a configuration file is a stand-in for the real one (config.properties.example)."""
    return rel.lower().endswith(EXAMPLE_SUFFIXES)
