"""The relay's waves (shared/outbox/relay.py): a dossier never has two rows in flight at once."""

from shared.outbox.relay import waves_of


def test_the_nth_wave_holds_each_dossiers_nth_row_in_position_order() -> None:
    rows = [{"position": p, "dossier_id": d} for p, d in enumerate("AABACBA", start=1)]
    waves = [[(row["dossier_id"], row["position"]) for row in wave] for wave in waves_of(rows)]
    assert waves == [[("A", 1), ("B", 3), ("C", 5)], [("A", 2), ("B", 6)], [("A", 4)], [("A", 7)]]
    assert waves_of([]) == []
