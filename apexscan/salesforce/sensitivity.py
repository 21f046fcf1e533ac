"""How sensitive is a Salesforce field, and which field does a relationship path name?

``FieldCatalog.classify(ref)`` decides in this order, and says why in ``FieldClass.reason``:

1. the policy's ``[fields]`` lists (``sensitive`` wins over ``non_sensitive``);
2. the org's own classification in the field's metadata (securityClassification, complianceGroup,
   encryptionScheme / EncryptedText);
3. the shipped catalog ``data/sensitive_fields.toml`` (exact object, then ``*`` rows);
4. for an ``Account.X__pc`` person-account field: steps 1-3 for ``Contact.X__c``;
5. custom fields: the field type and name heuristics; standard fields: name heuristics. A guess
   in a category the catalog's ``[client_data]`` limits (free text) is sensitive only on objects
   about people and their affairs, and on custom objects that look up to them; elsewhere it is
   UNKNOWN (a product's description is no client data);
6. otherwise UNKNOWN.

``FieldCatalog.resolve(object, path)`` follows relationship names (``Account.Owner.Email``) to the
final object and field. The catalog data (fields, name patterns, type rules, relationships) lives in
the TOML file; this module only knows the order of decisions.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from apexscan.engine.model import CustomFieldMeta, Diagnostic, FieldClass, FieldRef, Sensitivity

__all__ = [
    "CatalogRow",
    "ClientData",
    "NamePattern",
    "TypeRule",
    "Relationship",
    "OrgClassification",
    "Catalog",
    "FieldCatalog",
    "HasCustomFields",
    "load_catalog",
    "shipped_catalog",
    "name_words",
]

SHIPPED_CATALOG = "apexscan/salesforce/data/sensitive_fields.toml"  # how diagnostics name the shipped file
_CATEGORIES = frozenset({"personal", "financial", "identifier", "free-text", "special-category", "other"})
_SPECIAL = "special-category"
# Which sensitive category a whole record is reported under when it holds several.
_CATEGORY_RANK = {c: i for i, c in enumerate(("special-category", "identifier", "financial", "personal", "free-text"))}
_CUSTOM_SUFFIXES = ("__c", "__pc")


# --- the catalog data --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogRow:
    object: str  # "Contact", or "*" for every object
    field: str
    sensitivity: Sensitivity
    category: str
    source: str  # key of [sources]
    note: str = ""


@dataclass(frozen=True, slots=True)
class NamePattern:
    what: str  # "an IBAN": the reason reads "name suggests an IBAN"
    category: str
    words: tuple[tuple[str, ...], ...]  # each phrase as lower-case words: ("first", "name")
    unless: tuple[tuple[str, ...], ...]
    source: str


@dataclass(frozen=True, slots=True)
class TypeRule:
    type: str  # CustomField <type>, as Salesforce spells it
    sensitivity: Sensitivity
    category: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class Relationship:
    from_object: str  # "*" = any object
    name: str  # "Owner", "Contacts"
    to: str  # target object; "{object}" = the object the path is on
    source: str


@dataclass(frozen=True, slots=True)
class OrgClassification:
    """Which securityClassification / complianceGroup / encryption values make a field sensitive (lower-case)."""

    sensitive_levels: frozenset[str] = frozenset()
    non_sensitive_levels: frozenset[str] = frozenset()
    compliance_groups: Mapping[str, str] = field(default_factory=dict)  # group -> category
    encrypted_types: frozenset[str] = frozenset()
    no_encryption: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ClientData:
    """Objects about people and their affairs, and the guessed categories only they make sensitive."""

    objects: frozenset[str] = frozenset()  # lower-case object names
    categories: frozenset[str] = frozenset()  # "free-text", "financial"
    object_words: frozenset[str] = frozenset()  # words of a custom object's name that make it one


@dataclass(frozen=True, slots=True)
class Catalog:
    fields: tuple[CatalogRow, ...] = ()
    name_patterns: tuple[NamePattern, ...] = ()
    type_rules: tuple[TypeRule, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    org: OrgClassification = OrgClassification()
    sources: Mapping[str, str] = field(default_factory=dict)  # source key -> citation
    client_data: ClientData = ClientData()


def load_catalog(data: bytes | str, path: str) -> tuple[Catalog, tuple[Diagnostic, ...]]:
    """Read a catalog TOML document; ``path`` names it in diagnostics. Bad rows are skipped with a Diagnostic."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Catalog(), (Diagnostic(path, "catalog", f"not valid TOML: {exc}"),)
    return _Reader(document, path).catalog()


@cache
def shipped_catalog() -> tuple[Catalog, tuple[Diagnostic, ...]]:
    """The catalog shipped in apexscan/data (read once; the result is immutable)."""
    data = files("apexscan.salesforce.data").joinpath("sensitive_fields.toml").read_bytes()
    return load_catalog(data, SHIPPED_CATALOG)


class _Reader:
    """Validates the TOML document row by row; each problem is one Diagnostic naming the row."""

    def __init__(self, document: dict, path: str) -> None:
        self.document = document
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        sources = document.get("sources", {})
        self.sources = {k: v for k, v in sources.items() if isinstance(v, str)} if isinstance(sources, dict) else {}

    def catalog(self) -> tuple[Catalog, tuple[Diagnostic, ...]]:
        catalog = Catalog(
            fields=tuple(self._rows("fields", self._field)),
            name_patterns=tuple(self._rows("name_patterns", self._pattern)),
            type_rules=tuple(self._rows("type_rules", self._type_rule)),
            relationships=tuple(self._rows("relationships", self._relationship)),
            org=self._org(),
            sources=MappingProxyType(dict(self.sources)),
            client_data=self._client_data(),
        )
        return catalog, tuple(self.diagnostics)

    def _client_data(self) -> ClientData:
        table = self.document.get("client_data", {})
        if not isinstance(table, dict):
            self._problem("client_data", "expected a table")
            return ClientData()
        out = {}
        for key in ("objects", "categories", "object_words"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                self._problem(f"client_data.{key}", "expected a list of non-empty strings")
                value = []
            out[key] = frozenset(v.lower() for v in value)
        unknown = sorted(out["categories"] - _CATEGORIES)
        if unknown:
            self._problem("client_data.categories", f"unknown categories {', '.join(unknown)}")
        return ClientData(out["objects"], out["categories"] & _CATEGORIES, out["object_words"])

    def _problem(self, where: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.path, "catalog", f"{where}: {message}"))

    def _rows(self, key: str, build) -> Iterable:
        rows = self.document.get(key, [])
        if not isinstance(rows, list):
            self._problem(key, "expected an array of tables")
            return
        for i, row in enumerate(rows):
            where = f"{key}[{i}]"
            if not isinstance(row, dict):
                self._problem(where, "expected a table")
                continue
            try:
                yield build(row)
            except _BadRow as exc:
                self._problem(where, str(exc))

    def _str(self, row: dict, key: str, default: str | None = None) -> str:
        value = row.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise _BadRow(f"{key!r} must be a non-empty string, got {value!r}")
        return value

    def _source(self, row: dict) -> str:
        source = self._str(row, "source")
        if source not in self.sources:
            raise _BadRow(f"source {source!r} is not a key of [sources]")
        return source

    def _category(self, row: dict) -> str:
        category = self._str(row, "category")
        if category not in _CATEGORIES:
            raise _BadRow(f"category {category!r} is not one of {', '.join(sorted(_CATEGORIES))}")
        return category

    def _sensitivity(self, row: dict) -> Sensitivity:
        value = self._str(row, "sensitivity")
        if value not in (Sensitivity.SENSITIVE.value, Sensitivity.NON_SENSITIVE.value):
            raise _BadRow(f"sensitivity {value!r} must be 'sensitive' or 'non-sensitive'")
        return Sensitivity(value)

    def _field(self, row: dict) -> CatalogRow:
        return CatalogRow(self._str(row, "object"), self._str(row, "field"), self._sensitivity(row),
                          self._category(row), self._source(row), self._str(row, "note", ""))

    def _phrases(self, row: dict, key: str, required: bool) -> tuple[tuple[str, ...], ...]:
        value = row.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value) \
                or (required and not value):
            raise _BadRow(f"{key!r} must be a list of non-empty strings")
        return tuple(tuple(v.lower().split()) for v in value)

    def _pattern(self, row: dict) -> NamePattern:
        return NamePattern(self._str(row, "what"), self._category(row), self._phrases(row, "words", True),
                           self._phrases(row, "unless", False), self._source(row))

    def _type_rule(self, row: dict) -> TypeRule:
        return TypeRule(self._str(row, "type"), self._sensitivity(row), self._category(row),
                        self._str(row, "reason"), self._source(row))

    def _relationship(self, row: dict) -> Relationship:
        return Relationship(self._str(row, "from"), self._str(row, "name"), self._str(row, "to"), self._source(row))

    def _org(self) -> OrgClassification:
        table = self.document.get("org_classification", {})
        if not isinstance(table, dict):
            self._problem("org_classification", "expected a table")
            return OrgClassification()

        def names(key: str) -> frozenset[str]:
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self._problem(f"org_classification.{key}", "expected a list of strings")
                return frozenset()
            return frozenset(v.lower() for v in value)

        groups: dict[str, str] = {}
        mapping = table.get("compliance_groups", {})
        if not isinstance(mapping, dict):
            self._problem("org_classification.compliance_groups", "expected a table of group = category")
            mapping = {}
        for group, category in mapping.items():
            if category in _CATEGORIES:
                groups[group.lower()] = category
            else:
                self._problem(f"org_classification.compliance_groups.{group}", f"unknown category {category!r}")
        return OrgClassification(names("sensitive_levels"), names("non_sensitive_levels"),
                                 MappingProxyType(groups), names("encrypted_types"), names("no_encryption"))


class _BadRow(ValueError):
    pass


@runtime_checkable
class HasCustomFields(Protocol):
    """Anything with the project's field metadata keyed (object, field) lower-case: ``ProjectMetadata``."""

    @property
    def custom_fields(self) -> Mapping[tuple[str, str], CustomFieldMeta]: ...


# --- words in API names ------------------------------------------------------------------------

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NAME_SUFFIX = re.compile(r"__(c|pc|r|s|mdt|e|x|b)$", re.IGNORECASE)


@cache
def name_words(api_name: str) -> tuple[str, ...]:
    """Lower-case words of an API name, without namespace and suffix: "FinServ__TaxId__pc" -> ("tax", "id")."""
    base = _NAME_SUFFIX.sub("", api_name)
    if "__" in base:  # namespace prefix: ns__Field
        base = base.split("__", 1)[1]
    return tuple(word.lower() for word in _WORD.findall(base))


def _has_phrase(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whole-word match of a phrase, or of the phrase written as one word; the last word may take an "s"."""
    joined = "".join(phrase)
    last = phrase[-1]
    size = len(phrase)
    for i, word in enumerate(words):
        if word in (joined, joined + "s"):
            return True
        if size > 1 and words[i:i + size - 1] == phrase[:-1] and i + size <= len(words) \
                and words[i + size - 1] in (last, last + "s"):
            return True
    return False


def _pattern_for(patterns: tuple[NamePattern, ...], api_name: str) -> NamePattern | None:
    words = name_words(api_name)
    for pattern in patterns:
        if any(_has_phrase(words, p) for p in pattern.words) and not any(_has_phrase(words, p) for p in pattern.unless):
            return pattern
    return None


# --- the catalog a scan uses -------------------------------------------------------------------

_Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class FieldCatalog:
    """Catalog + org metadata + policy, ready for lookups. Build it with ``FieldCatalog.build``."""

    catalog: Catalog = field(repr=False)
    custom_fields: Mapping[_Key, CustomFieldMeta] = field(repr=False)  # (object, field) lower-case
    policy_sensitive: frozenset[_Key]
    policy_non_sensitive: frozenset[_Key]
    namespace: str  # the project's namespace, lower-case ("" when none)
    diagnostics: tuple[Diagnostic, ...]
    # Indexes derived from the above by build():
    _rows: Mapping[_Key, CatalogRow] = field(repr=False)
    _types: Mapping[str, TypeRule] = field(repr=False)
    _relationships: Mapping[_Key, Relationship] = field(repr=False)
    _children: Mapping[_Key, CustomFieldMeta] = field(repr=False)  # (parent, child relationship) -> lookup field
    _object_names: Mapping[str, str] = field(repr=False)  # lower -> spelling of the catalog / metadata
    _field_names: Mapping[_Key, str] = field(repr=False)
    _object_fields: Mapping[str, tuple[str, ...]] = field(repr=False)  # object -> fields the catalog/org name
    # Objects about people (the catalog's [client_data] and the project's custom objects that look
    # up to one), and the objects whose field metadata the project has (lower-case, unnamespaced).
    _client_objects: frozenset[str] = field(default=frozenset(), repr=False)
    _described: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def build(
        cls,
        custom_fields: HasCustomFields | Mapping[_Key, CustomFieldMeta] | Iterable[CustomFieldMeta] = (),
        sensitive: tuple[str, ...] = (),
        non_sensitive: tuple[str, ...] = (),
        catalog: Catalog | None = None,
        namespace: str = "",
    ) -> FieldCatalog:
        """``custom_fields``: a ``ProjectMetadata`` or its ``custom_fields`` (or the metas themselves);
        ``sensitive`` / ``non_sensitive``: the policy's "Object.Field" lists; ``catalog``: the shipped one by default."""
        diagnostics: list[Diagnostic] = []
        if catalog is None:
            catalog, problems = shipped_catalog()
            diagnostics.extend(problems)
        if isinstance(custom_fields, HasCustomFields):
            custom_fields = custom_fields.custom_fields
        metas = tuple(custom_fields.values() if isinstance(custom_fields, Mapping) else custom_fields)
        fields = {(m.object.lower(), m.field.lower()): m for m in metas}
        children = {
            (m.reference_to.lower(), m.relationship_name.lower()): m
            for m in metas if m.reference_to and m.relationship_name
        }
        rows = {(r.object.lower(), r.field.lower()): r for r in catalog.fields}
        relationships = {(r.from_object.lower(), r.name.lower()): r for r in catalog.relationships}
        object_names: dict[str, str] = {}
        field_names: dict[_Key, str] = {}
        for row in catalog.fields:
            object_names.setdefault(row.object.lower(), row.object)
            field_names.setdefault((row.object.lower(), row.field.lower()), row.field)
        for rel in catalog.relationships:
            if "{" not in rel.to:
                object_names.setdefault(rel.to.lower(), rel.to)
        for meta in metas:  # the org's spelling wins over the catalog's
            object_names[meta.object.lower()] = meta.object
            field_names[(meta.object.lower(), meta.field.lower())] = meta.field
            if meta.reference_to:
                object_names.setdefault(meta.reference_to.lower(), meta.reference_to)
        object_names.pop("*", None)
        # Fields a whole record certainly has: standard ones and the org's own (managed-package
        # catalog rows such as FinServ__ fields only exist where the package is installed).
        object_fields: dict[str, list[str]] = {}
        for (obj, name), spelled in field_names.items():
            if obj != "*" and ("__" not in name or (obj, name) in fields):
                object_fields.setdefault(obj, []).append(spelled)
        described = frozenset(_unnamespaced(m.object, namespace) for m in metas)
        return cls(
            catalog=catalog,
            custom_fields=MappingProxyType(fields),
            policy_sensitive=_policy_keys(sensitive, "sensitive", namespace, diagnostics),
            policy_non_sensitive=_policy_keys(non_sensitive, "non_sensitive", namespace, diagnostics),
            namespace=namespace.lower(),
            diagnostics=tuple(diagnostics),
            _rows=MappingProxyType(rows),
            _types=MappingProxyType({rule.type.lower(): rule for rule in catalog.type_rules}),
            _relationships=MappingProxyType(relationships),
            _children=MappingProxyType(children),
            _object_names=MappingProxyType(object_names),
            _field_names=MappingProxyType(field_names),
            _object_fields=MappingProxyType({obj: tuple(sorted(names)) for obj, names in object_fields.items()}),
            _client_objects=_client_objects(catalog.client_data.objects, metas, namespace),
            _described=described,
        )

    # --- classify ----------------------------------------------------------------------------

    def classify(self, ref: FieldRef) -> FieldClass:
        """How sensitive ``ref`` is, and why (the reason is shown to users)."""
        obj, name = self._key(ref.object), self._key(ref.field)
        known = self._known(obj, name, ref.field)
        if known is not None:
            return known
        if obj == "account" and name.endswith("__pc"):
            twin = name[: -len("__pc")] + "__c"
            twin_name = ref.field[: -len("__pc")] + "__c"
            known = self._known("contact", twin, twin_name)
            if known is not None:
                reason = f"person-account field, classified as Contact.{twin_name}: {known.reason}"
                return FieldClass(known.sensitivity, known.category, reason)
        if name.endswith(_CUSTOM_SUFFIXES):
            guess = self._guess_custom(ref.field, self.custom_fields.get((obj, name)))
        else:
            guess = self._guess_standard(ref.field)
        return self._on_object(guess, obj, ref.object)

    def holds_client_data(self, obj: str) -> bool:
        """Whether records of `obj` are about people and their affairs: a [client_data] object of
        the catalog, a custom object that looks up to one or whose name says so (Loan__c), or a
        custom object the project does not describe (it cannot be placed)."""
        key = self._key(obj)
        if key in self._client_objects:
            return True
        if "__" not in key:
            return False  # a standard object not listed: a catalog, a setup or a platform object
        return key not in self._described or bool(set(name_words(obj)) & self.catalog.client_data.object_words)

    def _on_object(self, guess: FieldClass, obj: str, spelled: str) -> FieldClass:
        """A guessed category that only objects about people make sensitive (free text), on an
        object that is not about people: of unknown sensitivity, not sensitive."""
        if guess.sensitivity is not Sensitivity.SENSITIVE \
                or guess.category not in self.catalog.client_data.categories or self.holds_client_data(obj):
            return guess
        return FieldClass(Sensitivity.UNKNOWN, guess.category,
                          f"{guess.reason}, but {spelled} holds no client data (not about a person, and no "
                          f"lookup to one)")

    def classify_object(self, obj: str) -> FieldClass:
        """A whole record of ``obj`` (SELECT FIELDS(ALL), a serialized record): as sensitive as the most
        sensitive field the catalog or the org knows on it; UNKNOWN when none of them is sensitive,
        since the fields nobody listed may still hold anything."""
        key = self._key(obj)
        spelled = self._object_names.get(key, obj)
        best: tuple[int, str, FieldClass] | None = None
        for name in self._object_fields.get(key, ()):
            klass = self.classify(FieldRef(spelled, name))
            if klass.sensitivity is Sensitivity.SENSITIVE:
                rank = _CATEGORY_RANK.get(klass.category, len(_CATEGORY_RANK))
                if best is None or rank < best[0]:
                    best = (rank, name, klass)
        if best is None:
            return FieldClass(Sensitivity.UNKNOWN, "other", f"whole {spelled} record: no field on it is known to be sensitive")
        _, name, klass = best
        return FieldClass(Sensitivity.SENSITIVE, klass.category,
                          f"whole {spelled} record, which includes {spelled}.{name} ({klass.reason})")

    def _known(self, obj: str, name: str, spelled: str) -> FieldClass | None:
        """Steps 1-3: policy, org classification, shipped catalog."""
        by_policy = self._policy(obj, name, spelled)
        if by_policy is not None:
            return by_policy
        meta = self.custom_fields.get((obj, name))
        if meta is not None:
            by_org = self._org(meta)
            if by_org is not None:
                return by_org
        row = self._rows.get((obj, name)) or self._rows.get(("*", name))
        if row is not None:
            if row.sensitivity is Sensitivity.SENSITIVE:
                return FieldClass(row.sensitivity, row.category, f"shipped catalog: {row.category}")
            return FieldClass(row.sensitivity, row.category, "shipped catalog: non-sensitive")
        return None

    def _policy(self, obj: str, name: str, spelled: str) -> FieldClass | None:
        if (obj, name) in self.policy_sensitive:
            pattern = _pattern_for(self.catalog.name_patterns, spelled)
            category = pattern.category if pattern else self._catalog_category(obj, name)
            return FieldClass(Sensitivity.SENSITIVE, category, "policy: listed in [fields] sensitive")
        if (obj, name) in self.policy_non_sensitive:
            return FieldClass(Sensitivity.NON_SENSITIVE, "other", "policy: listed in [fields] non_sensitive")
        return None

    def _catalog_category(self, obj: str, name: str) -> str:
        row = self._rows.get((obj, name))
        return row.category if row is not None and row.sensitivity is Sensitivity.SENSITIVE else "other"

    def _org(self, meta: CustomFieldMeta) -> FieldClass | None:
        """The org's own data classification; any sensitive signal beats a Public/Internal level."""
        org = self.catalog.org
        where = f" in {meta.location.path}" if meta.location is not None else ""
        signals: list[str] = []
        category = ""
        level = meta.security_classification
        if level.lower() in org.sensitive_levels:
            signals.append(f"securityClassification {level}")
        groups = [g for g in meta.compliance_groups if g.lower() in org.compliance_groups]
        if groups:
            signals.append(f"complianceGroup {';'.join(meta.compliance_groups)}")
            category = org.compliance_groups[groups[0].lower()]
        scheme = meta.encryption_scheme
        if scheme and scheme.lower() not in org.no_encryption:
            signals.append(f"encryptionScheme {scheme}")
        if meta.type.lower() in org.encrypted_types:
            signals.append(f"type {meta.type}")
        if signals:
            pattern = _pattern_for(self.catalog.name_patterns, meta.field)
            if pattern is not None:
                category = pattern.category
            return FieldClass(Sensitivity.SENSITIVE, category or "other", ", ".join(signals) + where)
        if level.lower() in org.non_sensitive_levels:
            return FieldClass(Sensitivity.NON_SENSITIVE, "other", f"securityClassification {level}{where}")
        return None

    def _guess_custom(self, spelled: str, meta: CustomFieldMeta | None) -> FieldClass:
        pattern = _pattern_for(self.catalog.name_patterns, spelled)
        rule = self._types.get(meta.type.lower()) if meta is not None and meta.type else None
        if rule is None:
            if pattern is not None:
                return FieldClass(Sensitivity.SENSITIVE, pattern.category, f"name suggests {pattern.what}")
            words = name_words(spelled)
            if len(words) > 1 and words[-1] == "id":  # Contact_Id__c: a record id kept as text
                return FieldClass(Sensitivity.NON_SENSITIVE, "other", "name suggests a record id")
            return FieldClass(Sensitivity.UNKNOWN, "other", "unclassified custom field")
        typed = f"type {meta.type}" + (f" in {meta.location.path}" if meta.location is not None else "")
        if rule.sensitivity is Sensitivity.NON_SENSITIVE:
            if pattern is not None and pattern.category == _SPECIAL:
                return FieldClass(Sensitivity.SENSITIVE, _SPECIAL, f"name suggests {pattern.what} ({typed})")
            return FieldClass(rule.sensitivity, rule.category, f"{typed}: {rule.reason}")
        if pattern is not None:
            return FieldClass(Sensitivity.SENSITIVE, pattern.category, f"name suggests {pattern.what}")
        return FieldClass(rule.sensitivity, rule.category, f"{typed}: {rule.reason}")

    def _guess_standard(self, spelled: str) -> FieldClass:
        pattern = _pattern_for(self.catalog.name_patterns, spelled)
        if pattern is not None:
            return FieldClass(Sensitivity.SENSITIVE, pattern.category, f"name suggests {pattern.what}")
        words = name_words(spelled)
        if len(words) > 1 and words[-1] == "id":
            return FieldClass(Sensitivity.NON_SENSITIVE, "other", "name suggests a record id")
        return FieldClass(Sensitivity.UNKNOWN, "other", "standard field not in the shipped catalog")

    # --- resolve -----------------------------------------------------------------------------

    def resolve(self, object: str, path: tuple[str, ...]) -> FieldRef:
        """The field a path names from ``object``: resolve("Opportunity", ("Account", "Owner", "Email")) -> User.Email.

        Every element but the last is a relationship name (standard, child, or custom ``X__r``).
        Names are case-insensitive; the result is spelled as the catalog or metadata spells it,
        else as given. An empty path gives the object with field "".
        """
        current = object
        for relationship in path[:-1]:
            current = self._follow(current, relationship)
        obj = self._key(current)
        spelled_object = self._object_names.get(obj, current)
        if not path:
            return FieldRef(spelled_object, "")
        last = path[-1]
        name = self._key(last)
        spelled_field = self._field_names.get((obj, name)) or self._field_names.get(("*", name)) or last
        return FieldRef(spelled_object, spelled_field)

    def _follow(self, obj: str, relationship: str) -> str:
        key_obj, key_rel = self._key(obj), self._key(relationship)
        if key_rel.endswith("__r"):
            base = relationship[: -len("__r")]
            lookup = self.custom_fields.get((key_obj, key_rel[: -len("__r")] + "__c"))
            if lookup is not None and lookup.reference_to:
                return lookup.reference_to
            child = self._children.get((key_obj, key_rel[: -len("__r")]))
            if child is not None:
                return child.object
            return base + "__c"
        rel = self._relationships.get((key_obj, key_rel)) or self._relationships.get(("*", key_rel))
        if rel is not None:
            return rel.to.replace("{object}", obj)
        return relationship  # standard lookups are mostly named after their object (Product2, Pricebook2)

    def _key(self, name: str) -> str:
        return _unnamespaced(name, self.namespace)


def _client_objects(listed: frozenset[str], metas: tuple[CustomFieldMeta, ...], namespace: str) -> frozenset[str]:
    """The listed objects and, transitively, every object with a lookup or master-detail field
    to one of them."""
    lookups: dict[str, set[str]] = {}
    for meta in metas:
        if meta.reference_to:
            lookups.setdefault(_unnamespaced(meta.object, namespace), set()).add(
                _unnamespaced(meta.reference_to, namespace))
    found = set(listed)
    changed = True
    while changed:
        changed = False
        for obj, targets in lookups.items():
            if obj not in found and targets & found:
                found.add(obj)
                changed = True
    return frozenset(found)


def _unnamespaced(name: str, namespace: str) -> str:
    """Lower-case, without the project's own namespace (code may add it, file names never carry it)."""
    key = name.lower()
    prefix = namespace.lower() + "__"
    return key[len(prefix):] if namespace and key.startswith(prefix) else key


def _policy_keys(entries: tuple[str, ...], key: str, namespace: str, diagnostics: list[Diagnostic]) -> frozenset[_Key]:
    keys: set[_Key] = set()
    for entry in entries:
        obj, dot, name = entry.strip().partition(".")
        if not dot or not obj or not name or "." in name:
            diagnostics.append(Diagnostic("policy", "policy", f"[fields] {key}: {entry!r} is not Object.Field; ignored"))
            continue
        keys.add((_unnamespaced(obj, namespace), _unnamespaced(name, namespace)))
    return frozenset(keys)
