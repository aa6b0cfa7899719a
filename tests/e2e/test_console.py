"""The web console on the whole stack, in headless Chromium (tests/support/browser.py), as staff use it: log in with a
staff token; follow the live stream while a dossier is accepted, filtered to one dossier in a second page; read the
accountability board with routing's figures; as an admin, see a dead letter and the dossier it blocks, and replay it
once its cause is fixed; the English page in English; a cross-origin form refused. Each step leaves a screenshot in
the tier's folder (`screenshots/` under pytest's base temporary folder: .local/test-runs/e2e/screenshots)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser, Page, ViewportSize, expect

from shared.rules.publish import publish
from shared.settings import KafkaSettings
from tests.support.browser import chromium
from tests.support.console import staff_token
from tests.support.driver import INTAKE
from tests.support.flows import DESK, JUSTICE, EndToEnd, stack_clock
from tests.support.messaging import eventually
from tests.support.routing import RoutingDriver, procedure_version
from tests.support.stack import StackCommand

APPLICANT = {"full_name": "Lý Thị Mai", "phone": "0977000201", "notify_by": "sms"}
BIRTH_REGISTRATION = {"procedure_code": "1.001193", "applicant": APPLICANT,
                      "documents": [{"code": "declaration"}, {"code": "birth_certificate_medical"}]}  # fmt: skip
WAIT_MS = 30_000
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@contextlib.asynccontextmanager
async def signed_in(browser: Browser, stack: StackCommand, token: str, language: str = "vi") -> AsyncIterator[Page]:
    """A browser of its own (its own cookies), logged in through the login page with `token`."""
    context = await browser.new_context(
        base_url=stack.env_file()["CONSOLE_URL"], viewport={"width": 1400, "height": 900}
    )
    try:
        page = await context.new_page()
        await page.goto(f"/console/login?lang={language}")
        await page.fill("#token", token)
        await page.click("#login")
        await page.wait_for_url("**/console/events?**")
        yield page
    finally:
        await context.close()


async def following_live(page: Page) -> None:
    await expect(page.locator("#stream")).to_have_attribute("data-following", "true", timeout=WAIT_MS)


def line_of(page: Page, code: str, event_type: str) -> Any:
    return page.locator(f'#lines li[data-code="{code}"][data-type="{event_type}"]').first


async def test_staff_log_in_and_follow_their_agency_s_events_live(
    stack: StackCommand, browser: Browser, screenshots: Path
) -> None:
    anonymous = await browser.new_context(base_url=stack.env_file()["CONSOLE_URL"])
    page = await anonymous.new_page()
    await page.goto("/console/events")
    assert urlsplit(page.url).path == "/console/login", "no session: the login page"
    await expect(page.locator("h1")).to_have_text("Đăng nhập")
    await page.screenshot(path=screenshots / "01-login.png", full_page=True)
    await anonymous.close()

    async with (
        httpx.AsyncClient(timeout=30) as http,
        signed_in(browser, stack, staff_token(stack, DESK, "reception")) as desk,
    ):
        flows = EndToEnd(stack, http)
        await expect(desk.locator("#who")).to_contain_text(f"reception@{DESK}")
        await following_live(desk)
        first, second = await flows.register(BIRTH_REGISTRATION), await flows.register(BIRTH_REGISTRATION)
        # A second page of the same session, following only the second dossier's acceptance.
        only_second = await desk.context.new_page()
        await only_second.goto(f"/console/events?type=dossier.accepted&dossier={second.code}")
        await following_live(only_second)

        await flows.accept(first)
        await flows.accept(second)
        await expect(line_of(desk, first.code, "dossier.accepted")).to_be_visible(timeout=WAIT_MS)
        await expect(line_of(desk, second.code, "dossier.accepted")).to_be_visible(timeout=WAIT_MS)
        await expect(line_of(only_second, second.code, "dossier.accepted")).to_be_visible(timeout=WAIT_MS)
        await expect(desk.locator("#lines li").filter(has_text=first.code).first).to_contain_text(f"agency={DESK}")
        await asyncio.sleep(1)  # both lines came to the first page: the second had every chance to show the first
        assert await only_second.locator(f'#lines li[data-code="{first.code}"]').count() == 0
        assert await only_second.locator("#dossier").input_value() == second.code
        await desk.screenshot(path=screenshots / "02-live-events.png", full_page=True)
        await only_second.screenshot(path=screenshots / "03-live-events-one-dossier.png", full_page=True)


async def test_the_board_shows_routing_s_figures_for_the_staff_member_s_agency(
    stack: StackCommand, browser: Browser, screenshots: Path
) -> None:
    token = staff_token(stack, JUSTICE, "processing")
    async with httpx.AsyncClient(timeout=30) as http, signed_in(browser, stack, token, "en") as page:
        flows = EndToEnd(stack, http)
        dossier = await flows.register(BIRTH_REGISTRATION)
        await flows.accept(dossier)
        await flows.in_processing(dossier)  # its first step is at the ward's justice office
        await page.goto("/console/board?lang=en")
        period = {"from": await page.locator("#from").input_value(), "to": await page.locator("#to").input_value()}
        assert period["from"] == f"{stack_clock(stack).now():%Y-%m}-01", "this month, by the stack's clock"
        shown: dict[str, dict[str, str]] = {}
        served: dict[str, dict[str, str]] = {}

        async def the_same() -> bool:  # the figures move with the stack's other dossiers: compare one reading
            nonlocal shown, served
            await page.reload()
            shown = await board_rows(page)
            answer = await http.get(f"{flows.routing}/accountability", params=period,
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            served = {agency["agency"]: figures_of(agency) for agency in answer.json()["agencies"]}
            return shown == served

        await eventually(the_same, what="the board's figures equal to routing's")
        assert set(shown) == {JUSTICE}, "routing serves staff their own agency's figures"
        assert int(shown[JUSTICE]["received"]) >= 1
        await expect(page.locator("thead")).to_contain_text("Near-late")
        await page.screenshot(path=screenshots / "04-board.png", full_page=True)


def figures_of(agency: dict[str, Any]) -> dict[str, str]:
    """Routing's figures of one agency as the board's cells carry them."""
    in_progress = agency["in_progress"]
    return {"received": str(agency["received"]), "not_yet_due": str(in_progress["not_yet_due"]),
            "near_late": str(in_progress["near_late"]), "late": str(in_progress["late"]),
            "finished": str(sum(agency["finished"].values())), "on_time_rate": str(agency["on_time_rate"]),
            "apologies": str(agency["apologies"]), "satisfaction": str(agency["satisfaction"]["index"])}  # fmt: skip


async def board_rows(page: Page) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = await page.eval_on_selector_all(
        "#board tr[data-agency]",
        """rows => Object.fromEntries(rows.map(row => [row.dataset.agency, Object.fromEntries(
             [...row.querySelectorAll("td[data-figure]")].map(cell => [cell.dataset.figure,
               cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim()]))]))""",
    )
    return rows


async def test_an_admin_sees_a_dead_letter_and_replays_it_once_its_cause_is_fixed(
    stack: StackCommand, browser: Browser, screenshots: Path
) -> None:
    env = stack.env_file()
    kafka = KafkaSettings(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    unpublished = 200_000 + int(time.time()) % 100_000  # a catalogue version no run published
    producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        async with httpx.AsyncClient(base_url=env["ROUTING_URL"], timeout=30) as http:
            # What intake would publish for a dossier accepted under that version: routing cannot apply it.
            driver = RoutingDriver(http, producer, stack.home, INTAKE)
            dossier = await driver.publish_accepted("1.001193", 1, DESK, stack_clock(stack).now(),
                                                    named_version=unpublished)  # fmt: skip
    finally:
        await producer.stop()

    async with signed_in(browser, stack, staff_token(stack, None, "admin"), "en") as page:
        letter = page.locator(f'#group-routing tr[data-dead-letter][data-dossier="{dossier.code}"]')
        blocked = page.locator(f'#group-routing table.blocked tr[data-dossier="{dossier.code}"]')
        await page.goto("/console/operations?lang=en")
        await reloaded_until(page, lambda: letter.count(), what=f"routing's dead letter of {dossier.code}")
        await expect(letter).to_contain_text(f"v{unpublished}")
        await expect(blocked).to_have_count(1)
        for service in ("intake", "routing", "notification", "postal"):
            await expect(page.locator(f"#group-{service} h2")).to_contain_text(f"lienthong.{service}")
        await page.screenshot(path=screenshots / "05-dead-letters.png", full_page=True)

        await publish(kafka, [procedure_version(unpublished)])  # the cause, fixed

        async def replayed() -> bool:  # refused (409) until routing has loaded the version just published
            await letter.locator("button.replay").click()
            await page.wait_for_load_state()
            if "replayed in group lienthong.routing: applied" in await page.locator("#notice").inner_text():
                return True
            await asyncio.sleep(1)
            return False

        await eventually(replayed, timeout_s=60, what=f"the dead letter of {dossier.code} replayed")
        await expect(letter).to_have_count(0)
        await expect(blocked).to_have_count(0)
        await page.screenshot(path=screenshots / "06-replayed.png", full_page=True)
    async with httpx.AsyncClient(timeout=30) as http:
        desk = {"Authorization": f"Bearer {staff_token(stack, DESK, 'reception')}"}
        taken = await http.get(f"{env['ROUTING_URL']}/processing/dossiers/{dossier.code}", headers=desk)
        assert taken.status_code == 200, "the replayed acceptance started the dossier's processing"


async def reloaded_until(page: Page, count: Callable[[], Awaitable[int]], what: str) -> None:
    async def shown() -> bool:
        if await count():
            return True
        await asyncio.sleep(1)
        await page.reload()
        return False

    await eventually(shown, timeout_s=90, what=what)


async def test_the_english_pages_have_english_labels_and_the_default_is_vietnamese(
    stack: StackCommand, browser: Browser, screenshots: Path
) -> None:
    async with signed_in(browser, stack, staff_token(stack, DESK, "reception")) as page:
        await expect(page.locator("h1")).to_have_text("Sự kiện trực tiếp")
        await expect(page.locator("header nav")).to_contain_text("Bảng đánh giá cơ quan")
        await page.click("#language")
        await page.wait_for_url("**lang=en**")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("h1")).to_have_text("Live events")
        await expect(page.locator("header nav")).to_have_text("Live events Accountability board", use_inner_text=True)
        await expect(page.locator("#scope")).to_have_text(
            f"You see the events of agency {DESK}'s dossiers, from now on."
        )
        await expect(page.locator("#logout")).to_have_text("Log out")
        await expect(page.locator("label").first).to_contain_text("Event type")
        await page.screenshot(path=screenshots / "07-english.png", full_page=True)
        await page.goto("/console/board?lang=en")
        await expect(page.locator("thead")).to_contain_text("On-time rate")
        await expect(page.locator("thead")).to_contain_text("Satisfaction (766)")
        await page.goto("/console/board")
        await expect(page.locator("thead")).to_contain_text("Tỷ lệ đúng hạn")


async def test_a_form_of_another_origin_cannot_replay(stack: StackCommand, browser: Browser, screenshots: Path) -> None:
    """Another port of the same host is the same site: the SameSite=Strict cookie goes along, and only the console's
    Origin check stands between that page and the replay."""
    console = stack.env_file()["CONSOLE_URL"]
    port = urlsplit(console).port
    assert port is not None
    attacker = f"http://127.0.0.1:{port + 1}/prize"  # another origin of the same host, played by the browser
    form = (f'<form method="post" action="{console}/console/operations/routing/dead-letters/987654321/replay">'
            '<button id="claim">Claim your prize</button></form>')  # fmt: skip
    async with signed_in(browser, stack, staff_token(stack, None, "admin")) as page:
        await page.route(attacker, lambda route: route.fulfill(status=200, content_type="text/html", body=form))
        await page.goto(attacker)
        async with page.expect_navigation() as navigation:
            await page.click("#claim")
        answer = await navigation.value
        assert answer is not None
        assert answer.status == 403
        assert "cross-site request refused" in await page.content()
        await page.screenshot(path=screenshots / "08-cross-origin-refused.png", full_page=True)
