"""The console's pure parts: which events of the live stream a staff member sees (their own agency's; admins all),
the filters, the bounded buffer of each browser, the check that a POST came from the console's own pages, and the
language of the pages: `?lang=`, every label in both languages, the pages rendered in each."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.console.app import STREAM_TYPES, Notice, other_language, page_html
from services.console.language import LABELS, LANGUAGES, Labels, Language, choose_language
from services.console.service_calls import Answer
from services.console.session import Session, is_same_origin
from services.console.stream import EventHub, StreamFilter, TooManyClientsError, visible_to
from shared.events.catalogue import contacts, intake, routing
from shared.identity.staff import ROLES, Staff
from shared.operations.commands import LIFECYCLE_TOPICS
from shared.operations.events import EventLine
from shared.settings import KafkaSettings

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
DESK, JUSTICE, WARD, OTHER_WARD = "H29.101.1", "H29.101.2", "H29.101", "H29.102.1"
AT = datetime(2026, 12, 2, 2, tzinfo=UTC)


def line(event_type: str = "dossier.accepted", code: str = "H29.101.1-261202-0001", *agencies: str) -> EventLine:
    return EventLine(intake.TOPIC, 3, 17, AT, type=event_type, code=code, dossier_id=f"id-{code}", seq=1,
                     agencies=agencies)  # fmt: skip


def staff(agency: str, role: Any = "reception") -> Staff:
    return Staff(f"{role}@{agency}", agency, role)


# -- who sees what of the stream -------------------------------------------------------------------------------------


def test_staff_see_the_events_naming_their_own_agency_and_admins_see_every_event() -> None:
    accepted = line("dossier.accepted", "H29.101.1-261202-0001", DESK)
    transferred = line("step.transferred", "H29.101.1-261202-0001", DESK, JUSTICE)
    other_ward = line("dossier.accepted", "H29.102.1-261202-0001", OTHER_WARD)
    unnamed = line("notification.sent", "H29.101.1-261202-0001")
    malformed = EventLine(intake.TOPIC, 0, 1, AT, malformed="key=x not JSON")
    assert [visible_to(staff(DESK), e) for e in (accepted, transferred, other_ward, unnamed, malformed)] == [
        True, True, False, False, False]  # fmt: skip
    assert [visible_to(staff(JUSTICE, "processing"), e) for e in (accepted, transferred, other_ward)] == [
        False, True, False]  # fmt: skip
    admin = staff(WARD, "admin")
    assert all(visible_to(admin, e) for e in (accepted, transferred, other_ward, unnamed, malformed))


def test_an_agency_sees_exactly_its_own_events_not_those_of_its_units() -> None:
    """As the services scope staff (Staff.may_act_for): the ward's committee is not its one-stop desk."""
    assert not visible_to(staff(WARD, "head"), line("dossier.accepted", "c", DESK))
    assert visible_to(staff(WARD, "head"), line("step.transferred", "c", JUSTICE, WARD))


def test_the_filter_takes_event_types_and_a_dossier_by_code_or_id() -> None:
    accepted, started = line("dossier.accepted", "C-1", DESK), line("dossier.processing-started", "C-1", DESK)
    other = line("dossier.accepted", "C-2", DESK)
    assert all(StreamFilter().matches(e) for e in (accepted, started, other))
    by_type = StreamFilter(frozenset({"dossier.accepted"}))
    assert [by_type.matches(e) for e in (accepted, started, other)] == [True, False, True]
    by_code = StreamFilter(dossier="C-1")
    assert [by_code.matches(e) for e in (accepted, started, other)] == [True, True, False]
    assert StreamFilter(dossier="id-C-2").matches(other)
    assert not StreamFilter(frozenset({"dossier.processing-started"}), "C-2").matches(other)


def test_the_stream_reads_every_lifecycle_topic_and_never_the_contacts_topic() -> None:
    assert contacts.TOPIC not in LIFECYCLE_TOPICS
    assert {intake.TOPIC, routing.TOPIC} <= set(LIFECYCLE_TOPICS)
    assert len(LIFECYCLE_TOPICS) == 4
    assert "contact.recorded" not in STREAM_TYPES
    assert "dossier.accepted" in STREAM_TYPES


# -- each browser's buffer -------------------------------------------------------------------------------------------


def hub(capacity: int = 3, max_clients: int = 2) -> EventHub:
    return EventHub(KafkaSettings(), capacity, max_clients, CollectorRegistry())


def test_a_slow_browser_loses_the_oldest_lines_and_is_told_how_many() -> None:
    events = hub(capacity=3)
    with events.subscribe(staff(DESK), StreamFilter()) as subscription:
        for n in range(5):
            events.publish(line("dossier.accepted", f"C-{n}", DESK))
        events.publish(line("dossier.accepted", "C-other", OTHER_WARD))  # not theirs: neither kept nor counted
        lines, dropped = subscription.take()
        assert [e.code for e in lines] == ["C-2", "C-3", "C-4"]
        assert dropped == 2
        assert subscription.take() == ([], 0)
        events.publish(line("dossier.accepted", "C-5", DESK))
        assert [e.code for e in subscription.take()[0]] == ["C-5"]


def test_the_hub_fans_each_line_out_to_the_browsers_that_may_see_it_up_to_its_limit() -> None:
    events = hub(max_clients=2)
    with (
        events.subscribe(staff(DESK), StreamFilter()) as desk,
        events.subscribe(staff(OTHER_WARD), StreamFilter()) as other,
    ):
        assert events.clients == 2
        with pytest.raises(TooManyClientsError), events.subscribe(staff(WARD, "admin"), StreamFilter()):
            pass
        events.publish(line("dossier.accepted", "C-1", DESK))
        assert [e.code for e in desk.take()[0]] == ["C-1"]
        assert other.take() == ([], 0)
    assert events.clients == 0
    with events.subscribe(staff(WARD, "admin"), StreamFilter()) as admin:  # a place freed is a place again
        events.publish(line("dossier.accepted", "C-2", OTHER_WARD))
        assert [e.code for e in admin.take()[0]] == ["C-2"]


# -- cross-site requests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "referer", "host", "same"),
    [
        ("http://127.0.0.1:8005", None, "127.0.0.1:8005", True),
        ("https://console.example.gov.vn", None, "console.example.gov.vn", True),
        (None, "http://127.0.0.1:8005/console/operations?lang=en", "127.0.0.1:8005", True),
        ("http://127.0.0.1:8006", None, "127.0.0.1:8005", False),  # same site, another origin
        ("https://evil.example", "http://127.0.0.1:8005/console", "127.0.0.1:8005", False),  # the Origin decides
        ("null", None, "127.0.0.1:8005", False),
        (None, None, "127.0.0.1:8005", False),
        ("ftp://127.0.0.1:8005", None, "127.0.0.1:8005", False),
        ("http://127.0.0.1:8005", None, None, False),
    ],
)
def test_a_post_must_come_from_the_console_s_own_pages(
    origin: str | None, referer: str | None, host: str | None, same: bool
) -> None:
    assert is_same_origin(origin, referer, host) is same


# -- languages -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "language"), [(None, "vi"), ("", "vi"), ("vi", "vi"), ("en", "en"), (" EN ", "en"), ("fr", "vi")]
)
def test_the_pages_speak_vietnamese_unless_english_is_asked_for(asked: str | None, language: str) -> None:
    assert choose_language(asked) == language


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_every_label_is_in_both_languages_with_the_same_placeholders() -> None:
    for key, texts in LABELS.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(texts[language].strip() for language in LANGUAGES), key
        assert placeholders(texts["vi"]) == placeholders(texts["en"]), key
    assert {f"role.{role}" for role in ROLES} <= set(LABELS)


def test_every_label_the_templates_and_the_script_name_exists() -> None:
    templates = "\n".join(path.read_text() for path in (CONSOLE / "templates").glob("*.html"))
    # A key ending in a dot is completed in the template (`"role." ~ role`): the roles' labels are checked above.
    named = {key for key in re.findall(r"""\bt\(["']([\w.]+)["']""", templates) if not key.endswith(".")}
    assert named, "the templates name their labels"
    assert named - set(LABELS) == set()
    script = (CONSOLE / "static" / "console.js").read_text()
    used = set(re.findall(r"\blabels\.(\w+)", script))
    assert used
    assert used <= set(Labels("en").prefixed("events"))


SESSION = Session(staff(WARD, "admin"), "token")
DEAD_LETTER = {"id": 7, "event_type": "dossier.accepted", "dossier_code": "H29.101.1-261202-0001", "dossier_id": "d",
               "topic": intake.TOPIC, "partition": 3, "offset": 17, "attempts": 5, "error": "unknown version",
               "dead_at": "2026-12-02T02:00:00+00:00"}  # fmt: skip
JUSTICE_FIGURES = {
    "agency": JUSTICE, "received": 4, "in_progress": {"not_yet_due": 1, "near_late": 1, "late": 1},
    "finished": {"early": 0, "on_time": 1, "late": 0}, "on_time_rate": 0.875, "apologies": 1,
    "satisfaction": {"dossiers": 2, "counted_against": 1, "index": 0.5},
}  # fmt: skip
ROUTING_GROUP = {
    "service": "routing",
    "dead_letters": Answer("routing", 200, {"group": "lienthong.routing", "dead_letters": [DEAD_LETTER]}),
    "blocked": Answer("routing", 0, "ConnectError at http://127.0.0.1:8002"),
}
PAGES: dict[str, dict[str, Any]] = {
    "login.html": {"expired": True, "error": "the token has expired"},
    "events.html": {"types": STREAM_TYPES, "event_type": "", "dossier": "", "source": "/s", "labels_json": "{}"},
    "board.html": {"first_day": AT.date(), "last_day": AT.date(), "agency": "", "agencies": [JUSTICE_FIGURES]},
    "operations.html": {
        "notice": Notice(7, Answer("routing", 409, {"detail": "its precondition is still not met"})),
        "groups": [ROUTING_GROUP],
    },
    "forbidden.html": {},
}
# A label of each page, with what it says in each language.
SAYS = {"login.html": "login.expired", "events.html": "events.scope.admin", "board.html": "board.near_late",
        "operations.html": "operations.replay", "forbidden.html": "admins_only"}  # fmt: skip


@pytest.mark.parametrize("template", sorted(PAGES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_page_is_rendered_in_the_language_asked_for(template: str, language: Language) -> None:
    html = page_html(template, language, None if template == "login.html" else SESSION, "/x", **PAGES[template])
    other = other_language(language)
    assert f'<html lang="{language}">' in html
    said = Labels(language)(SAYS[template])
    assert said.replace("'", "&#39;") in html
    assert LABELS[SAYS[template]][other] not in html
    assert LABELS["console"][language] in html


def test_the_board_shows_rates_as_each_language_writes_them() -> None:
    vietnamese = page_html("board.html", "vi", SESSION, "/x", **PAGES["board.html"])
    english = page_html("board.html", "en", SESSION, "/x", **PAGES["board.html"])
    assert "87,5 %" in vietnamese
    assert "87.5 %" in english
    assert 'data-value="0.875"' in english


def test_the_operations_page_says_what_each_service_answered() -> None:
    html = page_html("operations.html", "en", SESSION, "/x", **PAGES["operations.html"])
    assert "routing refused (409): its precondition is still not met" in html
    assert "routing does not answer: ConnectError at http://127.0.0.1:8002" in html
    assert 'action="/console/operations/routing/dead-letters/7/replay?lang=en"' in html
    assert "2026-12-02 09:00" in html  # the dead letter's instant, in Vietnam's time
