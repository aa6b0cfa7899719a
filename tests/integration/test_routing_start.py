"""Routing as a separate process: an accepted dossier on intake's topic starts its route — status 2 to 4 at the
first step, at the agency its role resolves to from the receiving desk, with that step's deadline."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events.catalogue.common import AgencyRef, ProcedureRef
from shared.events.envelope import Envelope
from shared.events.examples import examples
from shared.rules.publish import documents_from_folder, publish
from shared.settings import KafkaSettings
from tests.conftest import create_database, drop_database
from tests.processes import running_service, wait_for
from tests.support.messaging import envelope, send

DESK = "H29.101.1"


async def test_an_accepted_dossier_starts_its_route_once(
    kafka_settings: KafkaSettings, infrastructure_env: dict[str, str], server_database_url: str, tmp_path: Path
) -> None:
    await publish(kafka_settings, documents_from_folder())
    database = await create_database(server_database_url)
    dossier_id = str(uuid.uuid4())
    received = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    accepted = examples()["dossier.accepted"].model_copy(
        update={
            "dossier_code": f"{DESK}-261202-0042",
            "procedure": ProcedureRef(code="1.001193", catalogue_version="1", title="Đăng ký khai sinh"),
            "receiving_agency": AgencyRef(code=DESK, title="Trung tâm Phục vụ hành chính công phường Sài Gòn"),
            "received_at": received,
        }
    )
    event = envelope("dossier.accepted", dossier_id, 1, accepted.model_dump(mode="json"))
    try:
        env = {**infrastructure_env, "ROUTING_DATABASE_URL": database}
        with running_service("routing", env) as base:
            wait_for(f"{base}/readyz")
            producer = AIOKafkaProducer(**kafka_settings.client_options(), enable_idempotence=True, acks="all")
            await producer.start()
            try:
                await send(producer, "lienthong.intake.v1", event)
                await send(producer, "lienthong.intake.v1", event)  # a repeat on the topic changes nothing
            finally:
                await producer.stop()
            await routing_events(kafka_settings, dossier_id, expected=4)
            await asyncio.sleep(2)
            started = await routing_events(kafka_settings, dossier_id, expected=4)
    finally:
        await drop_database(server_database_url, database)
    # Started and handed from the desk to the first step; then the deadlines of the example's due instant (already
    # past on the real clock this test runs on) fire, each once.
    processing, transferred, *alerts = sorted(started, key=lambda event: event.dossierseq)
    assert transferred.type == "step.transferred"
    assert sorted(alert.type for alert in alerts) == ["dossier.near-due", "dossier.overdue"]
    assert [event.dossierseq for event in started] == [1, 2, 3, 4]
    assert processing.type == "dossier.processing-started"
    assert processing.causationid == event.id
    assert processing.data is not None
    assert (processing.data["status_from"], processing.data["status_to"]) == (2, 4)
    assert processing.data["step_id"] == "register"
    assert processing.data["agency"]["code"] == "H29.101.2", "the ward justice office of the receiving desk's ward"


async def routing_events(kafka: KafkaSettings, dossier_id: str, expected: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        "lienthong.routing.v1", **kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        async with asyncio.timeout(60):
            while len(found) < expected:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [
                        Envelope.from_record(r.key, r.value, r.headers) for r in records if r.key == dossier_id.encode()
                    ]
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            found += [Envelope.from_record(r.key, r.value, r.headers) for r in records if r.key == dossier_id.encode()]
    finally:
        await consumer.stop()
    return found
