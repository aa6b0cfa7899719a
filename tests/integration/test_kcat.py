"""Operators read lienthong topics with a standard Kafka tool: Debian's kcat prints the CloudEvents headers of
every record, and filtering on `ce_type` picks one event type (the command README.md documents)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid

from aiokafka import AIOKafkaProducer

from shared.settings import KafkaSettings
from tests.support.messaging import create_topics, envelope, send, unique


async def test_kcat_reads_the_topic_and_filters_by_ce_type(kafka_settings: KafkaSettings) -> None:
    kcat = shutil.which("kcat")
    assert kcat, "kcat is a test prerequisite: apt-get install kcat (README.md)"
    topic = unique("test-kcat")
    await create_topics(kafka_settings, topic)
    accepted, refused = str(uuid.uuid4()), str(uuid.uuid4())
    producer = AIOKafkaProducer(**kafka_settings.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await send(producer, topic, envelope("dossier.accepted", accepted, 1, {"note": "đã tiếp nhận"}))
        await send(producer, topic, envelope("dossier.refused", refused, 1))
    finally:
        await producer.stop()

    # The README's command: consume to the end, one line per record (headers, a tab, the value), then filter.
    command = [kcat, "-C", "-b", kafka_settings.bootstrap_servers, "-t", topic, "-e", "-q", "-f", "%h\\t%s\\n"]
    finished = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=True, timeout=60)
    output = finished.stdout
    lines = [line for line in output.splitlines() if line]
    assert len(lines) == 2
    selected = [line for line in lines if "ce_type=dossier.accepted" in line.split("\t")[0].split(",")]
    assert len(selected) == 1
    headers, value = selected[0].split("\t")
    assert f"ce_dossierid={accepted}" in headers.split(",")
    assert "ce_specversion=1.0" in headers.split(",")
    assert value == '{"note":"đã tiếp nhận"}'
