"""Field sensitivity: policy, the org's classification, the shipped catalog, heuristics; relationship paths."""
from __future__ import annotations

import pytest

from apexscan.engine.model import FieldRef, Sensitivity
from apexscan.frontends.metadata import merge, parse_metadata_file
from apexscan.salesforce.sensitivity import FieldCatalog, load_catalog, name_words, shipped_catalog

SENSITIVE, UNKNOWN, NON_SENSITIVE = Sensitivity.SENSITIVE, Sensitivity.UNKNOWN, Sensitivity.NON_SENSITIVE


def field_file(obj: str, name: str, **elements: str) -> tuple[str, bytes]:
    body = "".join(f"<{tag}>{value}</{tag}>" for tag, value in elements.items())
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
           f"<fullName>{name}</fullName>{body}</CustomField>")
    return f"objects/{obj}/fields/{name}.field-meta.xml", xml.encode()


def catalog_with(*files: tuple[str, bytes], sensitive=(), non_sensitive=(), namespace="") -> FieldCatalog:
    facts = []
    for path, data in files:
        fact, diagnostics = parse_metadata_file(path, data)
        assert diagnostics == ()
        facts.append(fact)
    return FieldCatalog.build(merge(facts).custom_fields, sensitive, non_sensitive, namespace=namespace)


@pytest.fixture(scope="module")
def plain() -> FieldCatalog:
    return FieldCatalog.build()


def classify(catalog: FieldCatalog, dotted: str):
    obj, field = dotted.split(".")
    return catalog.classify(FieldRef(obj, field))


# --- the shipped catalog -------------------------------------------------------------------------


def test_shipped_catalog_loads_cleanly_and_every_row_names_a_source():
    catalog, diagnostics = shipped_catalog()
    assert diagnostics == ()
    assert len(catalog.fields) > 300
    assert all(row.source in catalog.sources for row in catalog.fields)
    assert all(p.source in catalog.sources for p in catalog.name_patterns)
    assert all(r.source in catalog.sources for r in catalog.relationships)
    assert FieldCatalog.build().diagnostics == ()


@pytest.mark.parametrize("dotted, category", [
    ("Contact.Email", "personal"),
    ("contact.BIRTHDATE", "personal"),
    ("Contact.LastName", "personal"),
    ("Lead.Name", "personal"),
    ("Account.Name", "identifier"),
    ("Account.PersonEmail", "personal"),
    ("Account.AnnualRevenue", "financial"),
    ("Case.Description", "free-text"),
    ("Case.SuppliedEmail", "personal"),
    ("Opportunity.Amount", "financial"),
    ("User.FederationIdentifier", "identifier"),
    ("EmailMessage.TextBody", "free-text"),
    ("ContentVersion.VersionData", "free-text"),
    ("CaseComment.CommentBody", "free-text"),
    ("Individual.ConsumerCreditScore", "financial"),
    ("Individual.ConvictionsCount", "special-category"),
    ("FinServ__FinancialAccount__c.FinServ__Balance__c", "financial"),
    ("Contact.FinServ__TaxId__c", "identifier"),
    ("FinancialAccount.FinancialAccountNumber", "financial"),
])
def test_catalog_marks_personal_and_financial_fields_sensitive(plain, dotted, category):
    result = classify(plain, dotted)
    assert (result.sensitivity, result.category) == (SENSITIVE, category)
    assert result.reason == f"shipped catalog: {category}"


@pytest.mark.parametrize("dotted", [
    "Account.Industry", "Account.Type", "Opportunity.StageName", "Case.Status", "Case.Priority",
    "Contact.Id", "Loan__c.Id", "Account.CreatedDate", "Loan__c.OwnerId", "Opportunity.RecordTypeId",
    "Account.IsDeleted", "Opportunity.CurrencyIsoCode", "Individual.CanStorePiiElsewhere",
])
def test_catalog_marks_categories_ids_and_flags_non_sensitive(plain, dotted):
    result = classify(plain, dotted)
    assert result.sensitivity is NON_SENSITIVE
    assert result.reason == "shipped catalog: non-sensitive"


# --- the org's classification --------------------------------------------------------------------


def test_org_classification_beats_a_sensitive_looking_name():
    catalog = catalog_with(field_file("Account", "IBAN__c", type="Text", securityClassification="Public"))
    result = classify(catalog, "Account.IBAN__c")
    assert result.sensitivity is NON_SENSITIVE
    assert result.reason == "securityClassification Public in objects/Account/fields/IBAN__c.field-meta.xml"


def test_restricted_classification_makes_a_bland_name_sensitive():
    catalog = catalog_with(field_file("Account", "Segment_Code__c", type="Text", securityClassification="Restricted"))
    result = classify(catalog, "account.segment_code__c")
    assert (result.sensitivity, result.category) == (SENSITIVE, "other")
    assert result.reason == "securityClassification Restricted in objects/Account/fields/Segment_Code__c.field-meta.xml"


def test_compliance_group_makes_a_field_sensitive_and_the_name_refines_the_category():
    catalog = catalog_with(
        field_file("Account", "Ref__c", type="Text", complianceGroup="PII;GDPR"),
        field_file("Account", "Bank_IBAN__c", type="Text", complianceGroup="PII"),
        field_file("Account", "Card_Token__c", type="Text", complianceGroup="PCI"),
        field_file("Account", "Branch_Ref__c", type="Text", complianceGroup="None"),
    )
    ref = classify(catalog, "Account.Ref__c")
    assert (ref.sensitivity, ref.category) == (SENSITIVE, "personal")
    assert ref.reason == "complianceGroup PII;GDPR in objects/Account/fields/Ref__c.field-meta.xml"
    assert classify(catalog, "Account.Bank_IBAN__c").category == "financial"
    assert classify(catalog, "Account.Card_Token__c").category == "financial"
    assert classify(catalog, "Account.Branch_Ref__c").sensitivity is UNKNOWN  # "None" is no group


def test_any_sensitive_org_signal_beats_a_public_level():
    catalog = catalog_with(field_file("Account", "Code__c", type="Text", securityClassification="Internal",
                                      encryptionScheme="ProbabilisticEncryption"))
    result = classify(catalog, "Account.Code__c")
    assert result.sensitivity is SENSITIVE
    assert result.reason.startswith("encryptionScheme ProbabilisticEncryption in ")


def test_encryption_makes_a_field_sensitive_but_scheme_none_does_not():
    catalog = catalog_with(
        field_file("Contact", "Secret_Code__c", type="EncryptedText"),
        field_file("Contact", "Plain_Code__c", type="Text", encryptionScheme="None"),
    )
    assert classify(catalog, "Contact.Secret_Code__c").reason.startswith("type EncryptedText in ")
    assert classify(catalog, "Contact.Plain_Code__c").sensitivity is UNKNOWN


def test_standard_field_stub_classification_overrides_the_catalog():
    catalog = catalog_with(field_file("Account", "Industry", securityClassification="Confidential"))
    assert classify(catalog, "Account.Industry").sensitivity is SENSITIVE


# --- policy --------------------------------------------------------------------------------------


def test_policy_lists_come_first():
    catalog = catalog_with(
        field_file("Account", "Risk_Score__c", type="Number", securityClassification="Public"),
        sensitive=("account.risk_score__c",),
        non_sensitive=("Contact.Email",),
    )
    risk = classify(catalog, "Account.Risk_Score__c")
    assert (risk.sensitivity, risk.reason) == (SENSITIVE, "policy: listed in [fields] sensitive")
    email = classify(catalog, "contact.email")
    assert (email.sensitivity, email.reason) == (NON_SENSITIVE, "policy: listed in [fields] non_sensitive")


def test_malformed_policy_entry_is_a_diagnostic_not_an_exception():
    catalog = FieldCatalog.build(sensitive=("NoDotHere",))
    assert [d.stage for d in catalog.diagnostics] == ["policy"]
    assert "NoDotHere" in catalog.diagnostics[0].message


# --- heuristics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dotted, category, reason", [
    ("Loan__c.Customer_IBAN__c", "financial", "name suggests an IBAN"),
    ("Loan__c.IBANNumber__c", "financial", "name suggests an IBAN"),
    ("Contact.Tax_Id__c", "identifier", "name suggests a tax id"),
    ("Contact.TaxID__c", "identifier", "name suggests a tax id"),
    ("Contact.SSN_Last4__c", "identifier", "name suggests a social security number"),
    ("Contact.Passport_No__c", "identifier", "name suggests a passport number"),
    ("Contact.National_Id__c", "identifier", "name suggests a national id"),
    ("Contact.DOB__c", "personal", "name suggests a date of birth"),
    ("Contact.Date_Of_Birth__c", "personal", "name suggests a date of birth"),
    ("Contact.Secondary_Email__c", "personal", "name suggests an email address"),
    ("Contact.Work_Phone__c", "personal", "name suggests a phone number"),
    ("Contact.Home_Street__c", "personal", "name suggests an address"),
    ("Contact.Annual_Salary__c", "financial", "name suggests income or salary"),
    ("Loan__c.Outstanding_Balance__c", "financial", "name suggests an account balance"),
    ("Loan__c.Bank_Account_Number__c", "financial", "name suggests a bank account number"),
    ("Loan__c.Advisor_Notes__c", "free-text", "name suggests free text"),
    ("acme__Loan__c.acme__Credit_Limit__c", "financial", "name suggests credit data"),
])
def test_name_heuristics_for_unclassified_custom_fields(plain, dotted, category, reason):
    result = classify(plain, dotted)
    assert (result.sensitivity, result.category, result.reason) == (SENSITIVE, category, reason)


@pytest.mark.parametrize("dotted", ["Product__c.Taxonomy__c", "Contact.Phonetic_Spelling__c",
                                    "Loan__c.Scorecard__c", "Account.Account_Health_Score__c"])
def test_word_matching_avoids_silly_hits(plain, dotted):
    result = classify(plain, dotted)
    assert (result.sensitivity, result.reason) == (UNKNOWN, "unclassified custom field")


def test_name_words_split_namespace_suffix_underscores_and_camel_case():
    assert name_words("FinServ__TaxId__pc") == ("tax", "id")
    assert name_words("IBANNumber__c") == ("iban", "number")
    assert name_words("Date_Of_Birth__c") == ("date", "of", "birth")
    assert name_words("MailingPostalCode") == ("mailing", "postal", "code")


def test_field_types_decide_for_custom_fields_with_bland_names():
    catalog = catalog_with(
        field_file("Case", "Advisor_Log__c", type="LongTextArea"),
        field_file("Case", "Segment__c", type="Picklist"),
        field_file("Case", "Is_VIP__c", type="Checkbox"),
        field_file("Case", "Exposure__c", type="Currency"),
        field_file("Case", "Reference__c", type="Text"),
    )
    log = classify(catalog, "Case.Advisor_Log__c")
    assert (log.sensitivity, log.category) == (SENSITIVE, "free-text")
    assert log.reason == "type LongTextArea in objects/Case/fields/Advisor_Log__c.field-meta.xml: free text"
    segment = classify(catalog, "Case.Segment__c")
    assert segment.sensitivity is NON_SENSITIVE
    assert segment.reason.endswith(": a category, not record data")
    assert classify(catalog, "Case.Is_VIP__c").sensitivity is NON_SENSITIVE
    assert classify(catalog, "Case.Exposure__c").category == "financial"
    assert classify(catalog, "Case.Reference__c").reason == "unclassified custom field"


def test_picklist_with_a_sensitive_name_is_still_a_category():
    catalog = catalog_with(field_file("Contact", "Email_Preference__c", type="Picklist"))
    assert classify(catalog, "Contact.Email_Preference__c").sensitivity is NON_SENSITIVE


@pytest.mark.parametrize("name, kind", [("Religion__c", "Picklist"), ("Ethnic_Origin__c", "MultiselectPicklist"),
                                        ("Has_Disability__c", "Checkbox"), ("Health_Condition__c", "Picklist"),
                                        ("Trade_Union_Member__c", "Checkbox")])
def test_special_category_names_make_even_picklists_sensitive(name, kind):
    catalog = catalog_with(field_file("Contact", name, type=kind))
    result = classify(catalog, f"Contact.{name}")
    assert (result.sensitivity, result.category) == (SENSITIVE, "special-category")
    assert f"(type {kind} in objects/Contact/fields/{name}.field-meta.xml)" in result.reason


def test_person_account_field_takes_the_contact_fields_classification():
    catalog = catalog_with(field_file("Contact", "Risk_Band__c", type="Text", securityClassification="Restricted"))
    result = classify(catalog, "Account.Risk_Band__pc")
    assert result.sensitivity is SENSITIVE
    assert result.reason.startswith("person-account field, classified as Contact.Risk_Band__c: securityClassification")
    assert classify(catalog, "Account.FinServ__AnnualIncome__pc").category == "financial"


def test_standard_fields_outside_the_catalog_use_name_heuristics(plain):
    assert classify(plain, "Contact.AlternateEmail").reason == "name suggests an email address"
    assert classify(plain, "Asset.SerialNumberId").sensitivity is NON_SENSITIVE
    unknown = classify(plain, "Asset.Quantity")
    assert (unknown.sensitivity, unknown.reason) == (UNKNOWN, "standard field not in the shipped catalog")


def test_project_namespace_is_ignored_when_matching_metadata():
    catalog = catalog_with(field_file("Loan__c", "Ref__c", type="Text", securityClassification="Restricted"),
                           namespace="acme")
    assert classify(catalog, "acme__Loan__c.acme__Ref__c").sensitivity is SENSITIVE


# --- resolve -------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj, path, expected", [
    ("Opportunity", ("Account", "Owner", "Email"), "User.Email"),
    ("opportunity", ("ACCOUNT", "owner", "email"), "User.Email"),
    ("Contact", ("ReportsTo", "MobilePhone"), "Contact.MobilePhone"),
    ("Account", ("Parent", "Name"), "Account.Name"),
    ("Case", ("Parent", "Subject"), "Case.Subject"),
    ("CaseComment", ("Parent", "Description"), "Case.Description"),
    ("Account", ("PersonContact", "Birthdate"), "Contact.Birthdate"),
    ("Case", ("CreatedBy", "Name"), "User.Name"),
    ("Account", ("Contacts", "Email"), "Contact.Email"),
    ("Account", ("Opportunities", "Amount"), "Opportunity.Amount"),
    ("Case", ("CaseComments", "CommentBody"), "CaseComment.CommentBody"),
    ("Task", ("Who", "Email"), "Name.Email"),
    ("Contact", ("Email",), "Contact.Email"),
    ("Contact", ("email",), "Contact.Email"),
    ("Widget__c", ("Colour__c",), "Widget__c.Colour__c"),
])
def test_resolve_follows_standard_and_child_relationships(plain, obj, path, expected):
    assert str(plain.resolve(obj, path)) == expected


def test_resolve_custom_relationships_from_field_metadata():
    catalog = catalog_with(
        field_file("Loan__c", "Primary_Holder__c", type="Lookup", referenceTo="Contact", relationshipName="Loans"),
        field_file("Loan__c", "Collateral_Value__c", type="Currency"),
    )
    assert catalog.resolve("Loan__c", ("Primary_Holder__r", "Email")) == FieldRef("Contact", "Email")
    assert catalog.resolve("loan__c", ("primary_holder__r", "owner", "email")) == FieldRef("User", "Email")
    # child relationship: from the parent, Loans__r is the list of Loan__c records
    assert catalog.resolve("Contact", ("Loans__r", "collateral_value__c")) == FieldRef("Loan__c", "Collateral_Value__c")
    # unknown lookup: assume X__r points at object X__c
    assert catalog.resolve("Loan__c", ("Branch__r", "Name")) == FieldRef("Branch__c", "Name")


def test_catalog_can_be_built_from_project_metadata_directly():
    path, data = field_file("Loan__c", "Ref__c", type="Text", securityClassification="Restricted")
    facts, _ = parse_metadata_file(path, data)
    catalog = FieldCatalog.build(merge([facts]))
    assert classify(catalog, "Loan__c.Ref__c").sensitivity is SENSITIVE


def test_whole_record_is_as_sensitive_as_its_most_sensitive_known_field(plain):
    contact = plain.classify_object("contact")
    assert (contact.sensitivity, contact.category) == (SENSITIVE, "personal")
    assert contact.reason == "whole Contact record, which includes Contact.AssistantName (shipped catalog: personal)"
    catalog = catalog_with(field_file("Loan__c", "Amount_Due__c", type="Currency"))
    loan = catalog.classify_object("Loan__c")
    assert (loan.sensitivity, loan.category) == (SENSITIVE, "financial")
    assert "Loan__c.Amount_Due__c" in loan.reason
    widget = plain.classify_object("Widget__c")
    assert widget.sensitivity is UNKNOWN


def test_resolved_field_can_be_classified(plain):
    ref = plain.resolve("Opportunity", ("Account", "Owner", "Email"))
    assert plain.classify(ref).sensitivity is SENSITIVE


# --- catalog loading -----------------------------------------------------------------------------


def test_bad_catalog_rows_become_diagnostics():
    document = """
fields = [
  {object = "Contact", field = "Email", sensitivity = "sensitive", category = "personal", source = "m"},
  {object = "Contact", field = "Phone", sensitivity = "very", category = "personal", source = "m"},
  {object = "Contact", field = "Fax", sensitivity = "sensitive", category = "personal", source = "nowhere"},
  {object = "Contact", sensitivity = "sensitive", category = "personal", source = "m"},
]
[sources]
m = "manual"
"""
    catalog, diagnostics = load_catalog(document, "custom.toml")
    assert [row.field for row in catalog.fields] == ["Email"]
    assert [d.message.split(":")[0] for d in diagnostics] == ["fields[1]", "fields[2]", "fields[3]"]
    assert all(d.path == "custom.toml" and d.stage == "catalog" for d in diagnostics)


def test_invalid_catalog_toml_is_a_diagnostic():
    catalog, (diagnostic,) = load_catalog(b"fields = [", "broken.toml")
    assert catalog.fields == ()
    assert "not valid TOML" in diagnostic.message


# --- free text on objects that hold no client data -----------------------------------------------


@pytest.mark.parametrize("dotted", ["Product2.Description", "Pricebook2.Description",
                                    "Knowledge__kav.Summary"])
def test_free_text_of_catalog_objects_is_at_most_unknown(dotted):
    catalog = catalog_with(field_file("Knowledge__kav", "Body__c", type="LongTextArea"))
    result = classify(catalog, dotted)
    assert (result.sensitivity, result.category) == (UNKNOWN, "free-text")
    assert result.reason.startswith("name suggests free text, but ")
    assert "holds no client data" in result.reason


@pytest.mark.parametrize("dotted", ["Contact.Description", "Case.Comments", "Task.Description",
                                    "Opportunity.NextStep", "EmailMessage.TextBody", "Lead.Notes__c"])
def test_free_text_about_people_stays_sensitive(plain, dotted):
    assert classify(plain, dotted).sensitivity is SENSITIVE


def test_custom_object_looking_up_to_a_person_holds_client_data():
    catalog = catalog_with(
        field_file("Experience__c", "Location__c", type="TextArea"),
        field_file("Session__c", "Experience__c", type="Lookup", referenceTo="Experience__c"),
        field_file("Session__c", "Notes__c", type="LongTextArea"),
        field_file("Booking__c", "Contact__c", type="Lookup", referenceTo="Contact"),
        field_file("Booking__c", "Special_Requests__c", type="LongTextArea"),
        field_file("Booking_Note__c", "Booking__c", type="MasterDetail", referenceTo="Booking__c"),
        field_file("Booking_Note__c", "Text__c", type="LongTextArea"),
    )
    assert classify(catalog, "Experience__c.Location__c").sensitivity is UNKNOWN  # a catalog entry
    assert classify(catalog, "Session__c.Notes__c").sensitivity is UNKNOWN  # looks up to the catalog only
    assert classify(catalog, "Booking__c.Special_Requests__c").sensitivity is SENSITIVE
    assert classify(catalog, "Booking_Note__c.Text__c").sensitivity is SENSITIVE  # through Booking__c
    assert catalog.holds_client_data("Booking_Note__c") and not catalog.holds_client_data("experience__c")


def test_custom_object_the_project_does_not_describe_counts_as_client_data(plain):
    # No field metadata for Claim_Note__c: it cannot be placed, so its free text stays sensitive.
    assert classify(plain, "Claim_Note__c.Description__c").sensitivity is SENSITIVE
    assert plain.holds_client_data("acme__Claim_Note__c")


def test_explicit_classification_of_catalog_free_text_wins():
    catalog = catalog_with(field_file("Product2", "Internal_Notes__c", type="LongTextArea",
                                      securityClassification="Confidential"))
    assert classify(catalog, "Product2.Internal_Notes__c").sensitivity is SENSITIVE
    assert classify(catalog, "ContentVersion.Description").sensitivity is SENSITIVE  # a catalog row


def test_client_data_table_with_unknown_category_is_a_diagnostic():
    _, diagnostics = load_catalog('[client_data]\nobjects = ["Contact"]\ncategories = ["gossip"]\n', "x.toml")
    assert [d.message for d in diagnostics] == ["client_data.categories: unknown categories gossip"]


def test_catalog_amounts_are_at_most_unknown_but_client_amounts_stay_sensitive():
    catalog = catalog_with(field_file("Fund__c", "Management_Fee__c", type="Currency"),
                           field_file("Loan_Application__c", "Requested_Amount__c", type="Currency"))
    assert classify(catalog, "Fund__c.Management_Fee__c").sensitivity is UNKNOWN
    assert classify(catalog, "Loan_Application__c.Requested_Amount__c").sensitivity is SENSITIVE  # its name
    assert classify(catalog, "Product2.Amount_Limit__c").sensitivity is UNKNOWN
    assert classify(catalog, "Opportunity.Discount_Amount__c").sensitivity is SENSITIVE


@pytest.mark.parametrize(("dotted", "sensitivity"), [
    ("MessagingSession.Contact_Id__c", NON_SENSITIVE), ("Order__c.External_Order_Id__c", NON_SENSITIVE),
    ("Contact.National_Id__c", SENSITIVE), ("Contact.Tax_Id__c", SENSITIVE), ("Contact.Passport_Id__c", SENSITIVE),
])
def test_custom_text_field_named_like_a_record_id_is_an_id(plain, dotted, sensitivity):
    assert classify(plain, dotted).sensitivity is sensitivity
