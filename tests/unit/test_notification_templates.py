"""The applicants' messages: every template renders for the example of its event, in every channel and language;
SMS stay short of personal data and can be plain ASCII; a broken template stops the load, naming its fault."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from services.notification.templates import (
    TEMPLATES_DIR,
    RenderedEmail,
    RenderedSms,
    TemplateError,
    Templates,
    default_templates,
    load_templates,
)
from services.notification.text import PERSONAL_ID_MASK, Language, local_datetime, money, unaccented
from shared.events.catalogue import CATALOGUE
from shared.events.catalogue.contacts import ContactRecorded
from shared.events.examples import DOSSIER_CODE, examples

render = default_templates().render  # the shipped templates, as the service renders with them

SURVEY = {"survey_url": "https://lienthong.example/khao-sat/abc123"}
PERSONAL_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
# What domain.md says the applicant expects to hear about, by event type.
EXPECTED = {
    "dossier.accepted", "dossier.refused", "dossier.reception-supplement-requested", "dossier.supplement-requested",
    "dossier.obligation-requested", "dossier.obligation-settled", "step.transferred", "dossier.apology-issued",
    "dossier.result-ready", "shipment.dispatched", "shipment.delivered", "shipment.returned-to-agency",
    "dossier.withdrawn", "dossier.stopped", "dossier.result-returned",
}  # fmt: skip
NEVER_OPTIONAL = {
    "dossier.accepted", "dossier.refused", "dossier.reception-supplement-requested", "dossier.supplement-requested",
    "dossier.apology-issued", "dossier.result-ready",
}  # fmt: skip


def contact() -> ContactRecorded:
    recorded = examples()["contact.recorded"]
    assert isinstance(recorded, ContactRecorded)
    return recorded


def test_every_expected_event_has_a_template_and_no_other() -> None:
    assert set(default_templates().event_types()) == EXPECTED


def test_acceptance_refusal_supplement_apology_and_result_are_mandatory() -> None:
    templates = default_templates()
    assert {event for event in EXPECTED if templates.is_mandatory(event)} >= NEVER_OPTIONAL
    assert not templates.is_mandatory("step.transferred")
    assert not templates.is_mandatory("dossier.result-returned")


@pytest.mark.parametrize("event_type", sorted(EXPECTED))
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_template_renders_its_example_in_every_channel(event_type: str, language: Language) -> None:
    templates = default_templates()
    data = examples()[event_type]
    sms = templates.render(event_type, "sms", language, data, contact(), dossier_code=DOSSIER_CODE, extras=SURVEY)
    email = templates.render(event_type, "email", language, data, contact(), dossier_code=DOSSIER_CODE, extras=SURVEY)
    assert isinstance(sms, RenderedSms)
    assert isinstance(email, RenderedEmail)
    template = templates.template_for(event_type)
    assert (sms.template, sms.version) == (email.template, email.version) == (template.code, template.version)
    assert DOSSIER_CODE in sms.text
    assert "\n" not in sms.text
    assert DOSSIER_CODE in email.subject
    assert "Nguyễn Thị Lan" in email.text
    assert email.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in email.html
    assert "{{" not in sms.text + email.text + email.html


@pytest.mark.parametrize("event_type", sorted(EXPECTED))
def test_the_unaccented_sms_is_ascii_and_the_accented_one_is_vietnamese(event_type: str) -> None:
    data = examples()[event_type]
    plain = render(event_type, "sms", "vi", data, contact(), dossier_code=DOSSIER_CODE, unaccented=True, extras=SURVEY)
    accented = render(event_type, "sms", "vi", data, contact(), dossier_code=DOSSIER_CODE, extras=SURVEY)
    assert isinstance(plain, RenderedSms)
    assert isinstance(accented, RenderedSms)
    assert plain.text.isascii()
    assert not accented.text.isascii()
    assert plain.text == unaccented(accented.text)


def test_the_acceptance_shows_the_appointment_in_vietnam_time() -> None:
    data = examples()["dossier.accepted"]  # due 2026-03-09T08:15+07:00, carried in UTC
    sms = render("dossier.accepted", "sms", "vi", data, contact(), dossier_code=DOSSIER_CODE, unaccented=True)
    english = render("dossier.accepted", "sms", "en", data, contact(), dossier_code=DOSSIER_CODE)
    assert isinstance(sms, RenderedSms)
    assert isinstance(english, RenderedSms)
    assert sms.text == (
        "Ho so H21.65-260302-0011 da duoc UBND phuong Ben Nghe tiep nhan. Hen tra ket qua: 08:15 ngay 09/03/2026."
    )
    assert "09/03/2026 08:15 (Vietnam time)" in english.text


def test_the_supplement_request_lists_every_item() -> None:
    email = render(
        "dossier.supplement-requested", "email", "vi", examples()["dossier.supplement-requested"], contact(),
        dossier_code=DOSSIER_CODE,
    )  # fmt: skip
    assert isinstance(email, RenderedEmail)
    assert "- Giấy chứng sinh: không đọc được. Nộp bản chính giấy chứng sinh do cơ sở y tế cấp." in email.text
    assert "<li><strong>Giấy chứng sinh</strong>: không đọc được." in email.html


def test_an_sms_never_carries_a_personal_id_number() -> None:
    refusal = examples()["dossier.refused"].model_copy(update={"reason": "Số định danh 079123456789 không khớp."})
    for language in ("vi", "en"):
        for plain in (False, True):
            sms = render("dossier.refused", "sms", language, refusal, contact(), dossier_code=DOSSIER_CODE,
                         unaccented=plain)  # fmt: skip
            assert isinstance(sms, RenderedSms)
            assert not PERSONAL_ID.search(sms.text)
            assert PERSONAL_ID_MASK in sms.text
    for event_type in EXPECTED:
        sms = render(event_type, "sms", "vi", examples()[event_type], contact(), dossier_code=DOSSIER_CODE,
                     extras=SURVEY)  # fmt: skip
        assert isinstance(sms, RenderedSms)
        assert not PERSONAL_ID.search(sms.text)
        assert contact().phone not in sms.text


def test_html_escapes_what_staff_typed() -> None:
    refusal = examples()["dossier.refused"].model_copy(update={"reason": "<script>x</script> & co"})
    email = render("dossier.refused", "email", "en", refusal, contact(), dossier_code=DOSSIER_CODE)
    assert isinstance(email, RenderedEmail)
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in email.html
    assert "<script>x</script> & co" in email.text


def test_rendering_refuses_the_wrong_data_or_a_missing_extra() -> None:
    templates = default_templates()
    with pytest.raises(TemplateError, match=r"expects the data of dossier\.accepted"):
        templates.render("dossier.accepted", "sms", "vi", examples()["dossier.refused"], contact(), dossier_code="x")
    with pytest.raises(TemplateError, match=r"needs \['survey_url'\]"):
        templates.render(
            "dossier.result-returned", "sms", "vi", examples()["dossier.result-returned"], contact(), dossier_code="x"
        )
    with pytest.raises(TemplateError, match=r"no template tells the applicant about 'dossier\.near-due'"):
        templates.render("dossier.near-due", "sms", "vi", examples()["dossier.near-due"], contact(), dossier_code="x")


def test_text_helpers() -> None:
    assert unaccented("Đường Nguyễn Huệ \u2013 \u201csố 5\u201d") == 'Duong Nguyen Hue - "so 5"'
    assert money(1234567, "vi") == "1.234.567 đồng"
    assert money(1234567, "en") == "VND 1,234,567"
    accepted = examples()["dossier.accepted"]
    assert local_datetime(accepted.due_at, "vi") == "08:15 ngày 09/03/2026"  # type: ignore[attr-defined]


# -- broken templates fail at load, naming the file and the fault --------------------------------------------------


@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, folder)
    return folder


def load_with(folder: Path, name: str, old: str, new: str) -> Templates:
    path = folder / name
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    return load_templates(folder)


def test_the_copy_loads_as_it_is(template_copy: Path) -> None:
    assert load_templates(template_copy).event_types() == sorted(EXPECTED)


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("dossier-accepted.yaml", "{{ due_at | local_datetime }}.", "{{ due_date }}.",
         r"dossier-accepted.yaml: vi.sms: unknown placeholder\(s\) \['due_date'\]"),
        ("dossier-accepted.yaml", "{{ receiving_agency.title }} tiếp nhận", "{{ receiving_agency.name }} tiếp nhận",
         r"dossier-accepted.yaml: vi.sms: unknown placeholder\(s\) \['receiving_agency.name'\]"),
        ("dossier-refused.yaml", "Lý do: {{ reason }}", "Lý do: {{ reason }} {{ personal_id }}",
         r"dossier-refused.yaml: vi.sms: unknown placeholder\(s\) \['personal_id'\]"),
        ("dossier-supplement-requested.yaml", "- {{ item.document_title }}", "- {{ item.document_titel }}",
         r"vi.text: unknown placeholder\(s\) \['item.document_titel'\]"),
        ("dossier-accepted.yaml", "event_type: dossier.accepted", "event_type: dossier.acepted",
         "dossier-accepted.yaml: event type 'dossier.acepted' is not in the event catalogue"),
        ("dossier-accepted.yaml", "{% if fee_vnd %}", "{% if fee_vnd %",
         r"dossier-accepted.yaml: vi.text: line \d+: expected token 'end of statement block'"),
        ("dossier-accepted.yaml", "{{ due_at | local_datetime }}.", "{{ due_at | as_local }}.",
         "dossier-accepted.yaml: vi.sms: line 1: No filter named 'as_local'"),
        ("dossier-accepted.yaml", "version: 1", "version: 0",
         "dossier-accepted.yaml: version: Input should be greater than or equal to 1"),
        ("dossier-accepted.yaml", "\nen:", "\nfr:",
         "dossier-accepted.yaml: en: Field required; fr: Extra inputs are not permitted"),
        ("dossier-accepted.yaml", "mandatory: true\n", "", "dossier-accepted.yaml: mandatory: Field required"),
        ("_shared.yaml", "    illegible: không đọc được\n", "", r"_shared.yaml: labels missing .*'illegible'"),
    ],
)  # fmt: skip
def test_a_broken_template_fails_at_load_with_a_clear_message(
    template_copy: Path, name: str, old: str, new: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        load_with(template_copy, name, old, new)


def test_a_value_without_a_label_is_named(template_copy: Path) -> None:
    templates = load_with(template_copy, "dossier-refused.yaml", "Lý do: {{ reason }}", "{{ channel | label }}")
    unlabelled = re.escape("_shared.yaml: no vi label for <IntakeChannel.ONLINE: 'online'>")
    with pytest.raises(TemplateError, match=unlabelled):
        templates.render("dossier.refused", "sms", "vi", examples()["dossier.refused"], contact(), dossier_code="x")


def test_two_templates_for_one_event_type_fail_at_load(template_copy: Path) -> None:
    shutil.copy(template_copy / "dossier-accepted.yaml", template_copy / "dossier-accepted-v2.yaml")
    with pytest.raises(TemplateError, match=r"dossier-accepted.yaml: dossier.accepted already has a template"):
        load_templates(template_copy)


def test_every_template_is_for_a_catalogued_event_type() -> None:
    assert set(default_templates().event_types()) <= set(CATALOGUE)
