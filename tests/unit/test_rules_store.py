"""The rules a service keeps in memory: the catalogue, the calendar and the agencies are validated once, and again
only when a new version arrives, which a service then uses without a restart."""

from __future__ import annotations

from datetime import date

import pytest

from shared.rules.publish import RuleDocument, documents_from_folder
from shared.rules.store import RulesNotLoadedError, RulesStore
from shared.settings import KafkaSettings

BIRTH_REGISTRATION = "1.001193"


def arrive(store: RulesStore, *documents: RuleDocument) -> None:
    """Documents as the store reads them from the rules topic."""
    for document in documents:
        store._take(document.key.encode(), document.value())


@pytest.fixture
def store() -> RulesStore:
    store = RulesStore(KafkaSettings())
    arrive(store, *documents_from_folder())
    store.loaded.set()
    return store


def test_nothing_is_answered_before_the_rules_are_loaded() -> None:
    with pytest.raises(RulesNotLoadedError):
        RulesStore(KafkaSettings()).catalogue()


def test_what_the_rules_make_is_built_once(store: RulesStore) -> None:
    assert store.catalogue() is store.catalogue()
    assert store.calendar() is store.calendar()
    assert store.agencies() is store.agencies()


def test_a_new_procedure_version_is_used_once_it_arrives(store: RulesStore) -> None:
    catalogue, calendar = store.catalogue(), store.calendar()
    (current,) = [d for d in documents_from_folder() if d.key == f"procedure/{BIRTH_REGISTRATION}/v1"]
    later = {**current.data, "version": 2, "effective_from": "2100-01-01", "effective_to": None}
    arrive(store, RuleDocument("procedure", BIRTH_REGISTRATION, "v2", later))
    assert store.catalogue() is not catalogue
    assert store.procedure(BIRTH_REGISTRATION, date(2100, 1, 2)).version == 2
    assert store.procedure(BIRTH_REGISTRATION, date(2026, 3, 2)).version == 1
    assert store.calendar()[1] == calendar[1]  # rebuilt, from the same holiday years
