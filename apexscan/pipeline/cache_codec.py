"""Facts <-> plain data for the facts cache, and back only through a typed check of every field.

`encode` turns a file's facts into what `marshal` writes: plain tuples, lists, strings and ints,
never pickle (loading it cannot run code, and it is several times faster than unpickling 700,000
frozen dataclasses). A dataclass is written as a list [tag, field values...], or [-tag, ...] when
no field holds another dataclass (most objects: built in one call); a tuple holding dataclasses
as a list [0, items...]; a tuple of plain values as itself.

`decode` is the inverse, for data read back from disk, so it trusts nothing: it builds an object
only after checking that the data has the shape its dataclass declares — the tag of the class the
field's type names (no other), exactly as many values as fields, each value of the declared type
(str, int, bool, None, a tuple of those, a nested dataclass), down to a bounded depth — and raises
`Invalid` on anything else. The check costs little: the types of all of an object's values are
compared with the declared ones in one step (`tuple(map(type, data))` against the few signatures
the dataclass allows), and only fields that hold containers are looked into.

Facts nest without limit in one place (a string expression: a 300-term chained ternary is 600
levels deep), so `encode` refuses (TooDeep) what `decode` would not accept: such a file is simply
not cached, and lowered again next time.
"""
from __future__ import annotations

import dataclasses
import enum
import operator
import types
import typing

from apexscan.engine import facts, model
from apexscan.frontends import metadata

MAX_DEPTH = 100  # nested encoded lists; NPSP's deepest entry has 12


class Invalid(ValueError):
    """Data that `encode` did not write: a damaged or forged cache entry."""


class TooDeep(ValueError):
    """Facts nested deeper than MAX_DEPTH: not cached (see the module docstring)."""


def _codec_classes() -> list[type]:
    """Every dataclass and enum a facts tree can hold, in a fixed order (a tag is an index + 1)."""
    found = {}
    for module in (model, facts, metadata):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ and (
                    dataclasses.is_dataclass(value) or issubclass(value, enum.Enum)):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


CLASSES = _codec_classes()
TAGS = {cls: tag for tag, cls in enumerate(CLASSES, start=1)}
# type -> (tag, a getter of every field value at once); enums have no getter.
_SPEC = {cls: (tag, operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
               if dataclasses.is_dataclass(cls) else None)
         for cls, tag in TAGS.items()}
_COMPOSITE = frozenset(_SPEC) | {tuple}


def encode(value, depth: int = 0):
    """A facts value -> marshal-able plain data (see the module docstring). Raises TooDeep."""
    if depth > MAX_DEPTH:
        raise TooDeep(f"facts nested more than {MAX_DEPTH} deep")
    kind = type(value)
    if kind is tuple:
        items = [encode(item, depth + 1) if type(item) in _COMPOSITE else item for item in value]
        if any(type(item) is list for item in items):
            return [0, *items]
        return value
    spec = _SPEC.get(kind)
    if spec is None:
        return value  # str, int, bool, None
    tag, fields = spec
    if fields is None:
        return [tag, value.value]
    values = fields(value)
    if type(values) is not tuple:  # attrgetter of a single field
        values = (values,)
    items = [encode(v, depth + 1) if type(v) in _COMPOSITE else v for v in values]
    if any(type(item) is list for item in items):
        return [tag, *items]
    return [-tag, *items]  # a leaf: no field needs decoding (Location, Ref, Param ... most objects)


# --- decoding: a checker per dataclass, generated from its declared field types ------------------------
#
# This runs for every object of every file on each warm scan (375,000 objects on NPSP), so the
# checkers are generated as straight-line Python, as `dataclasses` generates `__init__`: per field,
# one type test inlined, or one call for a field that holds another object or a tuple of them.
# A checker is `check(value, depth) -> decoded value` and raises Invalid.

_STR = frozenset({str})
_PLAIN = {str: "str", int: "int", bool: "bool"}


def decode(data, expected):
    """Encoded data -> the facts value, checked against `expected` (CODE_FACTS, METADATA_FACTS or
    DIAGNOSTICS: what a cache entry may hold). Raises Invalid."""
    return _ROOTS[expected](data, 0)


def _plain_tuple(value, depth):
    """A bare `tuple` field (a string expression's part: ("lit", "x"), ("ref", Ref), nested parts)."""
    if depth > MAX_DEPTH:
        raise Invalid("nested too deep")
    if type(value) is tuple:
        items = value
    elif type(value) is list and value and value[0] == 0:
        items = value[1:]
    else:
        raise Invalid("expected a tuple")
    out = []
    for v in items:
        kind = type(v)
        if kind is str or kind is int or kind is bool or v is None:
            out.append(v)
        elif kind is tuple or (kind is list and v and v[0] == 0):
            out.append(_plain_tuple(v, depth + 1))
        elif kind is list and v and (v[0] == _REF_TAG or v[0] == -_REF_TAG):
            out.append(_generated["c_Ref"](v, depth + 1))
        else:
            raise Invalid("a value a string expression cannot hold")
    return tuple(out)


_REF_TAG = TAGS[facts.Ref]


class _Generator:
    """Writes the checkers of the dataclasses reachable from some roots (see `_build_checkers`)."""

    def __init__(self):
        self.lines: list[str] = []
        self.names: dict[str, str] = {}  # repr of a type -> name of its checker
        self.namespace: dict = {"Invalid": Invalid, "_STR": _STR, "MAX_DEPTH": MAX_DEPTH,
                                "_plain_tuple": _plain_tuple}

    def checker(self, hint) -> str:
        """The name of the checker of `hint`, written if need be."""
        if hint is tuple:  # any plain tuple (a string expression's part): one shared checker
            return "_plain_tuple"
        key = repr(hint)
        if key in self.names:
            return self.names[key]
        name = self.names[key] = f"c{len(self.names)}_{getattr(hint, '__name__', 'tuple')}"
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            self._object(name, hint)
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            self.namespace[f"{name}_members"] = {m.value: m for m in hint}
            self._function(name, [
                f"if type(value) is not list or len(value) != 2 or value[0] != {TAGS[hint]} "
                f"or type(value[1]) is not str or value[1] not in {name}_members:",
                f"    raise Invalid('not a {hint.__name__}')",
                f"return {name}_members[value[1]]"])
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            self._tuple_of(name, args[0])
        elif origin is tuple:
            self._fixed_tuple(name, args)
        elif origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
            inner = self.checker(next(a for a in args if a is not type(None)))
            self._function(name, ["return None if value is None else " + f"{inner}(value, depth)"])
        else:
            raise TypeError(f"the facts cache cannot hold a value of type {hint!r}")
        return name

    def test(self, hint, var: str) -> tuple[str, str | None]:
        """(a condition true when `var` cannot be a value of `hint`, or "", and the expression that
        decodes it when it needs decoding, else None)."""
        if hint in _PLAIN:
            return f"type({var}) is not {_PLAIN[hint]}", None
        if hint == tuple[str, ...]:
            return f"type({var}) is not tuple or not _STR.issuperset(map(type, {var}))", None
        args = typing.get_args(hint)
        if typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in args:
            inner = next(a for a in args if a is not type(None))
            if inner in _PLAIN:
                return f"{var} is not None and type({var}) is not {_PLAIN[inner]}", None
        return "", f"{self.checker(hint)}({var}, depth)"

    def _object(self, name: str, cls: type) -> None:
        hints = typing.get_type_hints(cls)
        fields = [f"f{i}" for i in range(len(dataclasses.fields(cls)))]
        tag = TAGS[cls]
        body = [f"if type(value) is not list or len(value) != {len(fields) + 1}:",
                f"    raise Invalid('not a {cls.__name__}')",
                f"tag, {', '.join(fields)}, = value",
                f"if tag != {tag} and tag != {-tag}:",
                f"    raise Invalid('not a {cls.__name__}')",
                "if depth > MAX_DEPTH:",
                "    raise Invalid('nested too deep')",
                "depth += 1"]
        for var, field in zip(fields, dataclasses.fields(cls)):
            condition, decoded = self.test(hints[field.name], var)
            if condition:
                body += [f"if {condition}:", f"    raise Invalid('{cls.__name__}.{field.name}: wrong type')"]
            if decoded:
                body.append(f"{var} = {decoded}")
        self.namespace[f"{name}_cls"] = cls
        body.append(f"return {name}_cls({', '.join(fields)})")
        self._function(name, body)

    def _tuple_of(self, name: str, item) -> None:
        condition, decoded = self.test(item, "v")
        if decoded is None:  # plain items (tuple[tuple[str, ...], ...]): never encoded as a list
            self._function(name, [
                "if type(value) is not tuple:", "    raise Invalid('expected a tuple')",
                "for v in value:", f"    if {condition}:", "        raise Invalid('an item of the wrong type')",
                "return value"])
            return
        self._function(name, [
            "if depth > MAX_DEPTH:", "    raise Invalid('nested too deep')",
            "depth += 1",
            "if type(value) is tuple:", "    items = value",
            "elif type(value) is list and value and value[0] == 0:", "    items = value[1:]",
            "else:", "    raise Invalid('expected a tuple')",
            f"return tuple([{decoded} for v in items])"])

    def _fixed_tuple(self, name: str, args) -> None:
        items = [f"v{i}" for i in range(len(args))]
        body = ["if type(value) is tuple:", "    items = value",
                "elif type(value) is list and value and value[0] == 0:", "    items = value[1:]",
                "else:", "    raise Invalid('expected a tuple')",
                f"if len(items) != {len(args)}:", f"    raise Invalid('expected {len(args)} items')",
                f"{', '.join(items)}, = items"]
        for var, hint in zip(items, args):
            condition, decoded = self.test(hint, var)
            if condition:
                body += [f"if {condition}:", "    raise Invalid('an item of the wrong type')"]
            if decoded:
                body.append(f"{var} = {decoded}")
        body.append(f"return ({', '.join(items)},)")
        self._function(name, body)

    def _function(self, name: str, body: list[str]) -> None:
        self.lines += [f"def {name}(value, depth):", *(f"    {line}" for line in body), ""]


def _build_checkers(roots: dict) -> dict:
    """name -> checker, for each root type and every type reachable from it."""
    generator = _Generator()
    names = {root: generator.checker(hint) for root, hint in roots.items()}
    exec("\n".join(generator.lines), generator.namespace)  # noqa: S102 - our own generated source, see above
    generator.namespace["c_Ref"] = generator.namespace[generator.checker(facts.Ref)]
    return {root: generator.namespace[name] for root, name in names.items()} | {"c_Ref": generator.namespace["c_Ref"]}


# What a cache entry holds: a code file's facts (or None: test classes only), a metadata file's
# facts, and the file's diagnostics.
CODE_FACTS, METADATA_FACTS, DIAGNOSTICS = "code facts", "metadata facts", "diagnostics"
_PAIR = "code and metadata facts"  # a code file that also configures the project (a Mule flow file's configs)
_generated = _build_checkers({CODE_FACTS: facts.FileFacts | None, METADATA_FACTS: metadata.MetadataFacts,
                              DIAGNOSTICS: tuple[model.Diagnostic, ...],
                              _PAIR: tuple[facts.FileFacts, metadata.MetadataFacts]})


def _code_facts(value, depth):
    """A code file's facts: FileFacts or None, or the (FileFacts, MetadataFacts) pair of a frontend
    whose files also hold project configuration (pipeline.lowering: `code_facts`, `metadata_of`)."""
    if type(value) is tuple or (type(value) is list and value and value[0] == 0):
        return _generated[_PAIR](value, depth)
    return _generated[CODE_FACTS](value, depth)


_ROOTS = {CODE_FACTS: _code_facts, METADATA_FACTS: _generated[METADATA_FACTS], DIAGNOSTICS: _generated[DIAGNOSTICS]}
