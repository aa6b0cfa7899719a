"""The example subscriber of docs/events.md (examples/subscriber.py), run as an integrator runs it — its own consumer
group on routing's topic of the whole stack — receives the events of an end-to-end flow: a birth registration
handed in at the counter, processed by the justice officer, signed by the ward chairman and handed back at the
desk. It prints each of the dossier's routing events once, in the dossier's order."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.flows import COMMITTEE, JUSTICE, EndToEnd, has
from tests.support.messaging import unique
from tests.support.stack import StackCommand
from tests.support.subscriber import subscriber
from tests.support.topics import ROUTING

BIRTH = {
    "procedure_code": "1.001193",
    "documents": [{"code": "declaration"}, {"code": "birth_certificate_medical"}],
    "applicant": {"full_name": "Đỗ Văn Hùng", "phone": "0971234570", "email": "hung.do@example.org",
                  "notify_by": "both"},
}  # fmt: skip
CERTIFICATE = [{"code": "birth_certificate", "title": "Giấy khai sinh"}]


async def test_the_example_subscriber_receives_the_events_of_a_flow(stack: StackCommand, tmp_path: Path) -> None:
    bootstrap_servers = stack.env_file()["KAFKA_BOOTSTRAP_SERVERS"]
    log = tmp_path / "subscriber.log"
    async with (
        subscriber(bootstrap_servers, unique("integrator"), ROUTING, log) as running,
        httpx.AsyncClient(timeout=30) as http,
    ):
        e2e = EndToEnd(stack, http)
        dossier = await e2e.register(BIRTH)
        await e2e.accept(dossier)
        await e2e.in_processing(dossier)
        for step, agency, result in [("register", JUSTICE, None), ("sign", COMMITTEE, CERTIFICATE)]:
            body = {"note": "Xong", **({"result": {"decision": "granted", "documents": result}} if result else {})}
            done = await e2e.act(dossier, f"steps/{step}/complete", agency, body)
            assert done.status_code == 200, done.text
        await e2e.hand_over(dossier, CERTIFICATE)
        streams = await e2e.published(dossier, lambda s: has(s, ROUTING, "dossier.result-returned"))
        published = streams[ROUTING].events
        printed = await running.printed([event.id for event in published])

    ours = [event_id for event_id in printed if event_id in {event.id for event in published}]
    assert ours == [event.id for event in sorted(published, key=lambda e: e.dossierseq)], "each once, in order"
    lines = [line for line in running.lines if dossier.code in line]
    assert len(lines) == len(published)
    assert any(f"{dossier.code} #1 dossier.processing-started" in line for line in lines), lines
    assert "gap" not in log.read_text(), "the dossier's sequence has no hole"
