"""A small, safe XML reader for Salesforce metadata, on top of ``xml.parsers.expat``.

Safe means: no DOCTYPE, no DTD, no entity declaration, no external entity, nothing fetched or
read from anywhere. A document that tries any of these is refused outright (``UnsafeXml``), so
"billion laughs" and XXE payloads are never expanded. Only the five predefined entities and
character references are decoded; any other entity reference is a well-formedness error.

One exception, asked for by name: ``parse(data, doctypes=("beans",))`` accepts a DOCTYPE for a
``beans`` document (Spring files such as Data Loader's process-conf.xml carry
``<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" "http://www.springframework.org/dtd/...">``)
as long as it has no internal subset, so it declares no entity. Such a declaration is blanked out
(newlines kept, so positions stay right) before expat sees the document, which is then read exactly
as one without it: the external DTD is never fetched or read, and an entity reference it might have
declared is an error, in text and in attribute values alike.

The result is a tiny immutable tree. Tags and attribute names have their namespace prefix
stripped (``xsi:nil`` -> ``nil``); ``xmlns`` declarations are dropped, but every element keeps the
namespace URI its prefix is bound to (``ns``), so that readers can match namespaces by URI, never by
a prefix the author chose; prefixed attributes are also kept with their URI (``qattrs``), and an
unprefixed attribute wins over a prefixed one of the same local name in ``attrs``. Every element
records the 1-based line and column of its start tag, and of its first CDATA section.

``parse(data)`` returns an ``Element`` or an ``XmlError`` value; ``load(data)`` raises instead.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from apexscan.engine.limits import LIMIT, LIMITS
from apexscan.engine.model import Diagnostic

__all__ = ["Element", "MalformedXml", "TooLarge", "UnsafeXml", "XmlError", "load", "parse"]

_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
# Encodings expat decodes itself; anything else is decoded by Python codecs first.
_EXPAT_NATIVE = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "utf-16", "utf-16le", "utf-16be"})


class UnsafeXml(ValueError):
    """The document uses a DTD or entity feature this reader refuses to process."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


class MalformedXml(ValueError):
    """The document is not well-formed XML (or its encoding cannot be decoded)."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


class TooLarge(ValueError):
    """The document has more elements than ``Limits.syntax_nodes``: not analysed."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


@dataclass(frozen=True, slots=True)
class XmlError:
    """Why a document could not be read. ``unsafe`` is True for refused DTD/entity features,
    ``too_large`` for a document over a resource bound (its diagnostic's stage is then LIMIT)."""

    message: str
    line: int = 0  # 1-based; 0 when unknown
    col: int = 0  # 1-based; 0 when unknown
    unsafe: bool = False
    too_large: bool = False

    def diagnostic(self, path: str, stage: str = "parse", *, not_analysed: bool = False) -> Diagnostic:
        return Diagnostic(path=path, stage=LIMIT if self.too_large else stage, message=self.message, line=self.line,
                          not_analysed=not_analysed or self.too_large)


@dataclass(frozen=True, slots=True, eq=False)
class Element:
    tag: str  # local name, namespace prefix stripped
    attrs: dict[str, str] = field(default_factory=dict)  # local names; xmlns declarations dropped
    text: str = ""  # character data directly inside this element (not inside children), unstripped
    children: tuple[Element, ...] = ()
    line: int = 0  # 1-based line of the start tag
    col: int = 0  # 1-based column of the start tag
    ns: str = ""  # namespace URI of the tag ("" when its prefix, or the default, is unbound)
    qattrs: tuple[tuple[str, str, str], ...] = ()  # (namespace URI, local name, value) of prefixed attributes
    # Where the first CDATA section's content starts (1-based line and column) and its offset in
    # `text`; 0, 0, 0 when the element has none.
    cdata_line: int = 0
    cdata_col: int = 0
    cdata_offset: int = 0

    def find(self, tag: str) -> Element | None:
        """The first direct child called ``tag``."""
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> tuple[Element, ...]:
        """Every direct child called ``tag``, in document order."""
        return tuple(child for child in self.children if child.tag == tag)

    def findtext(self, tag: str, default: str = "") -> str:
        """The stripped text of the first direct child called ``tag``, else ``default``."""
        child = self.find(tag)
        return default if child is None else child.text.strip()

    def qattr(self, ns: str, name: str, default: str = "") -> str:
        """The value of a prefixed attribute, named by its namespace URI and local name."""
        return next((v for uri, local, v in self.qattrs if uri == ns and local == name), default)

    def text_position(self, offset: int) -> tuple[int, int]:
        """(line, column) of character `offset` of `text`: exact inside the first CDATA section and
        after it, the start tag's position before it."""
        if not self.cdata_line or offset < self.cdata_offset:
            return self.line, self.col
        before = self.text[self.cdata_offset:offset]
        newlines = before.count("\n")
        if not newlines:
            return self.cdata_line, self.cdata_col + len(before)
        return self.cdata_line + newlines, len(before) - before.rfind("\n")

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        """This element and all descendants (document order), optionally only those called ``tag``."""
        stack: list[Element] = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            stack.extend(reversed(node.children))


def parse(data: bytes | str, *, doctypes: tuple[str, ...] = (), max_elements: int = LIMITS.syntax_nodes) -> Element | XmlError:
    """Parse a whole document; never raises for bad input. ``doctypes``, ``max_elements``: see ``load``."""
    try:
        return load(data, doctypes=doctypes, max_elements=max_elements)
    except UnsafeXml as exc:
        return XmlError(str(exc), exc.line, exc.col, unsafe=True)
    except MalformedXml as exc:
        return XmlError(str(exc), exc.line, exc.col)
    except TooLarge as exc:
        return XmlError(str(exc), exc.line, exc.col, too_large=True)


def load(data: bytes | str, *, doctypes: tuple[str, ...] = (), max_elements: int = LIMITS.syntax_nodes) -> Element:
    """Parse a whole document; raise ``UnsafeXml`` or ``MalformedXml`` for bad input, ``TooLarge``
    past ``max_elements`` elements (each costs a few hundred bytes here, and more in the facts).

    ``doctypes``: document type names (``"beans"``) whose DOCTYPE declaration is accepted when it has
    no internal subset; every other DOCTYPE is refused. Nothing the declaration names is read."""
    builder = _Builder(max_elements)
    parser = builder.parser
    try:
        parser.Parse(_without_doctype(_decoded(data), doctypes) if doctypes else _decoded(data), True)
    except expat.ExpatError as exc:
        message = expat.errors.messages.get(exc.code, str(exc))
        raise MalformedXml(f"malformed XML: {message} at line {exc.lineno}", exc.lineno, exc.offset + 1) from None
    except (UnsafeXml, MalformedXml, TooLarge):
        raise
    except (ValueError, LookupError) as exc:  # pyexpat: "multi-byte encodings are not supported", ...
        line = parser.CurrentLineNumber
        raise MalformedXml(f"cannot decode XML: {exc}", line, parser.CurrentColumnNumber + 1) from None
    return builder.root()


def _decoded(data: bytes | str) -> bytes | str:
    """Bytes expat can decode itself, or text decoded by Python for any other declared encoding."""
    if isinstance(data, str):
        return data
    if data.startswith(_UTF8_BOM):
        return data[len(_UTF8_BOM):]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data  # UTF-16 with BOM: expat handles it
    match = _DECLARED_ENCODING.match(data)
    if match is None:
        return data
    name = match.group(1).decode("ascii").lower()
    if name in _EXPAT_NATIVE:
        return data
    try:
        return data.decode(codecs.lookup(name).name)
    except LookupError:
        raise MalformedXml(f"unknown encoding {name!r} in the XML declaration", 1, 1) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MalformedXml(f"bytes at offset {exc.start} are not valid {name}", line, 0) from None


# An XML declaration, comments and processing instructions (atomic: no backtracking into them, so
# linear on any input), then a DOCTYPE with an optional external ID and no internal subset ("["
# cannot match), then ">".
_QUOTED = r"""(?:"[^"]*"|'[^']*')"""
_DOCTYPE = (r"""\A(?>\s+|<\?.*?\?>|<!--.*?-->)*+(<!DOCTYPE\s+([A-Za-z_][\w.:-]*)"""
            r"(?:\s+(?:SYSTEM\s+" + _QUOTED + r"|PUBLIC\s+" + _QUOTED + r"\s+" + _QUOTED + r"))?\s*>)")
_DOCTYPE_TEXT = re.compile(_DOCTYPE, re.DOTALL)
_DOCTYPE_BYTES = re.compile(_DOCTYPE.encode("ascii"), re.DOTALL)


def _without_doctype(source: bytes | str, doctypes: tuple[str, ...]) -> bytes | str:
    """`source` with an accepted DOCTYPE declaration replaced by spaces (and its newlines)."""
    match = (_DOCTYPE_TEXT if isinstance(source, str) else _DOCTYPE_BYTES).match(source)
    if match is None:
        return source  # none, or one expat will refuse (internal subset, UTF-16, another place)
    name = match.group(2)
    if _local(name if isinstance(name, str) else name.decode("ascii")) not in doctypes:
        return source
    start, end = match.span(1)
    declaration = source[start:end]
    if isinstance(declaration, str):
        blank = "".join(c if c == "\n" else " " for c in declaration)
    else:
        blank = bytes(c if c == 0x0A else 0x20 for c in declaration)
    return source[:start] + blank + source[end:]


def _local(name: str) -> str:
    return name.rpartition(":")[2]


_NO_NAMESPACES: dict[str, str] = {"xml": "http://www.w3.org/XML/1998/namespace"}


class _Builder:
    """Collects expat events into Elements; refuses every DTD/entity event."""

    __slots__ = ("_done", "_left", "_stack", "max_elements", "parser")

    def __init__(self, max_elements: int = LIMITS.syntax_nodes) -> None:
        self.max_elements = self._left = max_elements
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.ordered_attributes = False
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        parser.StartCdataSectionHandler = self._cdata
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.UnparsedEntityDeclHandler = self._entity
        parser.NotationDeclHandler = self._notation
        parser.ExternalEntityRefHandler = self._external
        parser.SkippedEntityHandler = self._skipped
        self.parser = parser
        # Each frame: [tag, attrs, text parts, children, line, col, ns, qattrs, namespace scope, cdata]
        self._stack: list[list] = []
        self._done: Element | None = None

    def root(self) -> Element:
        if self._done is None:  # expat reports "no element found" first; this is belt and braces
            raise MalformedXml("malformed XML: no root element", 1, 1)
        return self._done

    # --- elements -------------------------------------------------------------------------

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._left -= 1
        if self._left < 0:
            p = self.parser
            raise TooLarge(f"more than {self.max_elements:,} XML elements; not analysed",
                           p.CurrentLineNumber, p.CurrentColumnNumber + 1)
        scope = self._stack[-1][8] if self._stack else _NO_NAMESPACES
        qattrs: tuple[tuple[str, str, str], ...] = ()
        if attrs:
            declared = {key[6:]: value for key, value in attrs.items() if key.startswith("xmlns:")}
            if "xmlns" in attrs:
                declared[""] = attrs["xmlns"]
            if declared:
                scope = {**scope, **declared}
            plain: dict[str, str] = {}
            prefixed: dict[str, str] = {}
            qualified = []
            for key, value in attrs.items():
                if key == "xmlns" or key.startswith("xmlns:"):
                    continue
                prefix, colon, local = key.rpartition(":")
                if colon:
                    prefixed.setdefault(local, value)
                    qualified.append((scope.get(prefix, ""), local, value))
                else:
                    plain[key] = value
            attrs = {**prefixed, **plain} if prefixed else plain
            qattrs = tuple(qualified)
        prefix, colon, local = name.rpartition(":")
        ns = scope.get(prefix if colon else "", "")
        p = self.parser
        self._stack.append([local, attrs, [], [], p.CurrentLineNumber, p.CurrentColumnNumber + 1, ns, qattrs,
                            scope, None])

    def _end(self, name: str) -> None:
        tag, attrs, text, children, line, col, ns, qattrs, _scope, cdata = self._stack.pop()
        cdata_line, cdata_col, cdata_offset = cdata or (0, 0, 0)
        element = Element(tag, attrs, "".join(text), tuple(children), line, col, ns, qattrs,
                          cdata_line, cdata_col, cdata_offset)
        if self._stack:
            self._stack[-1][3].append(element)
        else:
            self._done = element

    def _chars(self, data: str) -> None:
        if self._stack:
            self._stack[-1][2].append(data)

    def _cdata(self) -> None:
        if self._stack and self._stack[-1][9] is None:
            frame, p = self._stack[-1], self.parser
            # the content starts after "<![CDATA[" (9 characters)
            frame[9] = (p.CurrentLineNumber, p.CurrentColumnNumber + 1 + 9, sum(len(t) for t in frame[2]))

    # --- refused features -----------------------------------------------------------------

    def _refuse(self, message: str) -> None:
        p = self.parser
        raise UnsafeXml(
            f"{message} at line {p.CurrentLineNumber}", p.CurrentLineNumber, p.CurrentColumnNumber + 1
        )

    def _doctype(self, *_args: object) -> None:
        self._refuse("DOCTYPE declarations are not allowed (possible XML entity expansion attack)")

    def _entity(self, *_args: object) -> None:
        self._refuse("entity declarations are not allowed (possible XML entity expansion attack)")

    def _notation(self, *_args: object) -> None:
        self._refuse("notation declarations are not allowed")

    def _external(self, *_args: object) -> int:
        self._refuse("external entity references are not allowed (possible XXE attack)")
        return 0

    def _skipped(self, name: str, _is_parameter: bool) -> None:
        self._refuse(f"entity reference &{name}; is not allowed")
