import pytest

from services.intake.settings import IntakeSettings
from services.postal.settings import PostalSettings
from shared.settings import KafkaSettings, with_database


def test_a_service_keeps_its_own_database_on_the_shared_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example:5432/postgres?sslmode=require")
    settings = IntakeSettings()
    assert settings.dsn == "postgresql://u:p@db.example:5432/lienthong_intake?sslmode=require"
    assert settings.creates_own_database


def test_a_service_database_url_overrides_the_shared_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@shared/postgres")
    monkeypatch.setenv("POSTAL_DATABASE_URL", "postgresql://postal@own-server/postal")
    settings = PostalSettings()
    assert settings.dsn == "postgresql://postal@own-server/postal"
    assert not settings.creates_own_database


def test_service_variables_carry_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PORT", "18001")
    monkeypatch.setenv("POSTAL_PORT", "18004")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092,broker-2:9092")
    assert IntakeSettings().http_port == 18001
    assert PostalSettings().http_port == 18004
    assert IntakeSettings().kafka.bootstrap_servers == "broker-1:9092,broker-2:9092"


def test_default_ports_are_the_documented_ones() -> None:
    assert IntakeSettings().http_port == 8001
    assert PostalSettings().http_port == 8004


def test_sasl_settings_reach_the_kafka_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "intake")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    options = KafkaSettings().client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("intake", "s3cret")
    assert "s3cret" not in repr(KafkaSettings())


def test_a_bad_value_is_refused_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PORT", "eighty")
    with pytest.raises(ValueError, match="port"):
        IntakeSettings()


def test_with_database_replaces_only_the_database() -> None:
    assert with_database("postgresql://a@h:1/x?y=z", "w") == "postgresql://a@h:1/w?y=z"
