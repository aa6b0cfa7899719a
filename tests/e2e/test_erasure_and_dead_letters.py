"""On the whole stack: an erasure at the desk removes the applicant's contact data from every service that held a
copy; a malformed record on a lifecycle topic ends in the dead-letter topic of each group that consumes it, and
nowhere else."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events.catalogue import SUBSCRIPTIONS, topics
from shared.settings import with_database
from tests.support.messaging import eventually
from tests.support.stack import StackCommand, demo_token

DESK = "H29.101.1"
# The groups that consume each topic (the catalogue's subscriptions, design.md's table), whose dead-letter topics a
# record nobody can read reaches: every group that reads the topic, whatever event types it handles there.
CONSUMERS = {
    topic: {group.removeprefix("lienthong.") for group, read in SUBSCRIPTIONS.items() if topic in read}
    for topic in topics()
}


async def test_an_erasure_removes_the_contact_from_every_service(stack: StackCommand) -> None:
    env = stack.env_file()
    intake = env["INTAKE_URL"]
    applicant = {"full_name": "Đỗ Minh Khang", "phone": "0966123456", "email": "khang@example.org",
                 "notify_by": "both"}  # fmt: skip
    body = {"procedure_code": "1.001193", "applicant": applicant,
            "documents": [{"code": "declaration"}, {"code": "birth_certificate_medical"}]}  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as http:
        registered = (await http.post(f"{intake}/desk/dossiers", json=body,
                                      headers=demo_token(stack, DESK, "reception"))).json()  # fmt: skip
        dossier_id = uuid.UUID(registered["id"])
        copies = {service: with_database(env["DATABASE_URL"], f"lienthong_{service}")
                  for service in ("notification", "postal")}  # fmt: skip

        async def record_in(service: str) -> Any:
            conn = await asyncpg.connect(copies[service])
            try:
                return await conn.fetchrow("SELECT record, erased_at FROM contacts WHERE dossier_id = $1", dossier_id)
            finally:
                await conn.close()

        async def copied() -> bool:
            return all([await record_in(service) for service in copies])

        await eventually(copied, what="notification and postal hold a copy of the contact")
        erased = await http.post(f"{intake}/desk/dossiers/{dossier_id}/erase-contact",
                                 headers=demo_token(stack, None, "admin"))  # fmt: skip
        assert erased.status_code in (200, 204), erased.text

        async def gone() -> bool:
            rows = [await record_in(service) for service in copies]
            return all(row["record"] is None and row["erased_at"] is not None for row in rows)

        await eventually(gone, what="every copy of the contact erased")
        conn = await asyncpg.connect(with_database(env["DATABASE_URL"], "lienthong_notification"))
        try:
            leftover = await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE dossier_id = $1 AND recipient IN ($2, $3)",
                dossier_id, applicant["phone"], applicant["email"],
            )  # fmt: skip
        finally:
            await conn.close()
        assert leftover == 0, "no notification keeps the phone or the email"


async def test_a_malformed_record_ends_in_the_dead_letters_of_each_consuming_group(stack: StackCommand) -> None:
    env = stack.env_file()
    kafka = env["KAFKA_BOOTSTRAP_SERVERS"]
    marks = {topic: f"malformed-{uuid.uuid4()}" for topic in CONSUMERS}
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        for topic, mark in marks.items():  # no CloudEvents headers, no JSON: nobody can apply it
            await producer.send_and_wait(topic, b"{not json", key=mark.encode(), headers=[("ce_type", b"broken")])
    finally:
        await producer.stop()
    dead_letter_topics = [f"lienthong.{group}.dlq" for group in ("intake", "routing", "notification", "postal")]

    async def dead_letters() -> dict[str, set[str]]:
        consumer = AIOKafkaConsumer(*dead_letter_topics, bootstrap_servers=kafka, auto_offset_reset="earliest",
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        found: dict[str, set[str]] = {mark: set() for mark in marks.values()}
        try:
            while batches := await consumer.getmany(timeout_ms=1500):
                for records in batches.values():
                    for record in records:
                        key = (record.key or b"").decode()
                        if key in found:
                            found[key].add(record.topic.split(".")[1])
        finally:
            await consumer.stop()
        return found

    async def all_dead_lettered() -> bool:
        found = await dead_letters()
        return all(found[marks[topic]] >= groups for topic, groups in CONSUMERS.items())

    await eventually(all_dead_lettered, timeout_s=60, what="each consuming group dead-lettered the record")
    await asyncio.sleep(1)
    found = await dead_letters()
    assert len(CONSUMERS) == 5, "the four lifecycle topics and the contacts topic"
    assert {topic: found[mark] for topic, mark in marks.items()} == CONSUMERS
