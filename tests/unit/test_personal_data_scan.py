"""The scan of the suite's logs finds each kind of personal data where it is, and nothing in the ids, codes, numbers
and addresses of the system that the logs are full of."""

from pathlib import Path

from tests.support.personal_data import log_files, scan_logs

CLEAN = (
    '{"event": "dossier.accepted", "dossier_id": "3f0c2a9e-0912-3456-7812-079301004567", '
    '"dossier_code": "H29.101.1-261202-0001", "order_number": "H29.101.1-261202-0001-NH", '
    '"timestamp": "2026-12-02T02:00:00.123456Z", "duration_s": 0.912345678, "offset": 84912345678901, '
    '"actor": "reception@H29.101.1", "dsn": "postgresql://lienthong@127.0.0.1:28432/postgres", '
    '"desk_phone": "02838200000"}\n'
)
PLANTED = {
    "personal ID number": '{"event": "applicant.saved", "error": "duplicate 079301004567"}\n',
    "phone number": "Traceback: ValidationError input_value='+84 978 123 456'\n",
    "email address": "SMTP 550 <hanh.vo@example.org> rejected\n",
}


def test_each_planted_kind_is_found_at_its_line_masked_and_a_clean_line_passes(tmp_path: Path) -> None:
    log = tmp_path / "intake.txt"  # not a `.log`: the scan of this very run must not find what is planted here
    log.write_text(CLEAN + "".join(PLANTED.values()) + CLEAN)

    scan = scan_logs([log])

    assert (scan.files, scan.lines) == (1, 5)
    assert [(f.line, f.kind) for f in scan.findings] == [(2, "personal ID number"), (3, "phone number"),
                                                          (4, "email address")]  # fmt: skip
    assert [f.masked for f in scan.findings] == ["07********67", "+8***********56", "ha***************rg"]
    assert str(scan.findings[0]) == f"{log}:2: personal ID number 07********67"


def test_the_files_are_the_logs_under_the_folders_but_kafka_s_segments(tmp_path: Path) -> None:
    segment = tmp_path / "home" / "kafka" / "data" / "lienthong.intake.contacts.v1-0" / "00000000000000000000.log"
    segment.parent.mkdir(parents=True)
    segment.write_text("0978123456 hanh.vo@example.org\n")  # the contacts topic carries them by right
    service_log, notes = tmp_path / "home" / "logs" / "notification.log", tmp_path / "home" / "notes.txt"
    service_log.parent.mkdir()
    service_log.write_text(CLEAN)
    notes.write_text("0978123456\n")

    assert log_files([tmp_path, tmp_path / "absent"]) == [service_log]
