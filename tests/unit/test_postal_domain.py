"""Postal's rules without I/O: the moves of a shipment in each direction, what the carrier's raw codes mean, how
reported status events apply whatever order and however often they arrive, the fee table, and the chain of
custody's value types."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.postal.custody import Collection, Custodian, DocumentCheck, FeeReceipt, Handover, Seal, Signature
from services.postal.domain import (
    RAW_CODES,
    CarrierStatus,
    MoveRefusedError,
    ShipmentState,
    Tracking,
    Verdict,
    canonical_state,
    is_final,
    may_move,
    reachable,
    report,
)
from services.postal.fees import SHIPPED_FEES, TooHeavyError, load_fee_table
from services.postal.settings import PostalSettings
from shared.events.catalogue.common import DocumentRef
from shared.events.catalogue.postal import Direction
from shared.rules.agencies import RulesFileError

S = ShipmentState
PICKUP, RETURN = Direction.PICKUP, Direction.RETURN
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PICKUP_PATH = [S.REQUESTED, S.SCHEDULED, S.PICKED_UP, S.IN_TRANSIT, S.HANDED_TO_AGENCY]
RETURN_PATH = [S.REQUESTED, S.SCHEDULED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]


def status(event_id: str, code: int, minutes: int, reason: str | None = None) -> CarrierStatus:
    return CarrierStatus(event_id, code, T0 + timedelta(minutes=minutes), reason)


def reported(tracking: Tracking, *statuses: CarrierStatus) -> tuple[list[Verdict], Tracking]:
    verdicts = []
    for one in statuses:
        verdict, tracking = report(tracking, one)
        verdicts.append(verdict)
    return verdicts, tracking


# -- moves -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "path"), [(PICKUP, PICKUP_PATH), (RETURN, RETURN_PATH)])
def test_each_direction_moves_one_step_at_a_time_to_its_end(direction: Direction, path: list[ShipmentState]) -> None:
    for state, following in itertools.pairwise(path):
        assert may_move(direction, state, following)
    assert not any(may_move(direction, state, later) for state, later in zip(path, path[2:], strict=False))
    assert is_final(direction, path[-1])
    assert not any(is_final(direction, state) for state in path[:-1])


def test_a_pickup_ends_at_the_agency_and_a_return_at_the_applicant_or_back_at_the_agency() -> None:
    assert reachable(PICKUP, S.REQUESTED) == {*PICKUP_PATH[1:], S.CANCELLED}
    assert reachable(RETURN, S.IN_TRANSIT) == {S.OUT_FOR_DELIVERY, S.DELIVERED, S.DELIVERY_FAILED,
                                               S.RETURNED_TO_AGENCY}  # fmt: skip
    ends = {direction: {state for state in reachable(direction, S.REQUESTED) if is_final(direction, state)}
            for direction in Direction}  # fmt: skip
    assert ends == {PICKUP: {S.HANDED_TO_AGENCY, S.CANCELLED},
                    RETURN: {S.DELIVERED, S.RETURNED_TO_AGENCY, S.CANCELLED}}  # fmt: skip


def test_a_failed_delivery_is_tried_again_or_goes_back_to_the_agency() -> None:
    assert may_move(RETURN, S.DELIVERY_FAILED, S.OUT_FOR_DELIVERY)
    assert may_move(RETURN, S.DELIVERY_FAILED, S.RETURNED_TO_AGENCY)
    assert S.DELIVERY_FAILED in reachable(RETURN, S.DELIVERY_FAILED)  # through another attempt
    assert not may_move(RETURN, S.DELIVERY_FAILED, S.DELIVERED)


@pytest.mark.parametrize("direction", list(Direction))
def test_only_a_shipment_not_yet_picked_up_can_be_cancelled(direction: Direction) -> None:
    can_cancel = {state for state in S if may_move(direction, state, S.CANCELLED)}
    assert can_cancel == {S.REQUESTED, S.SCHEDULED}


def test_our_own_commands_move_one_allowed_step() -> None:
    scheduled = Tracking(PICKUP).moved(S.SCHEDULED)
    assert scheduled.state is S.SCHEDULED
    assert scheduled.moved(S.CANCELLED).state is S.CANCELLED
    with pytest.raises(MoveRefusedError, match="pickup shipment cannot move from scheduled to in-transit"):
        scheduled.moved(S.IN_TRANSIT)
    with pytest.raises(MoveRefusedError):
        Tracking(PICKUP, state=S.PICKED_UP).moved(S.CANCELLED)


# -- raw codes ---------------------------------------------------------------------------------------------------


def test_the_table_names_every_raw_code_from_0_to_22() -> None:
    assert sorted(RAW_CODES) == list(range(23))
    assert all(raw.meaning for raw in RAW_CODES.values())
    assert canonical_state(RETURN, 23) is None


@pytest.mark.parametrize(
    ("code", "pickup", "return_"),
    [(1, S.REQUESTED, S.REQUESTED), (4, S.SCHEDULED, S.SCHEDULED), (5, S.SCHEDULED, S.SCHEDULED),
     (6, S.PICKED_UP, S.PICKED_UP), (10, S.IN_TRANSIT, S.IN_TRANSIT), (12, S.IN_TRANSIT, S.OUT_FOR_DELIVERY),
     (14, S.HANDED_TO_AGENCY, S.DELIVERED), (15, None, S.DELIVERY_FAILED), (16, None, S.DELIVERY_FAILED),
     (17, None, S.DELIVERY_FAILED), (18, None, S.RETURNED_TO_AGENCY), (20, None, None), (22, S.CANCELLED, S.CANCELLED)],
)  # fmt: skip
def test_raw_codes_mean_a_state_per_direction(code: int, pickup: S | None, return_: S | None) -> None:
    assert (canonical_state(PICKUP, code), canonical_state(RETURN, code)) == (pickup, return_)


@pytest.mark.parametrize("direction", list(Direction))
def test_every_mapped_code_names_a_state_its_direction_can_be_in(direction: Direction) -> None:
    states = {canonical_state(direction, code) for code in RAW_CODES} - {None}
    assert states <= reachable(direction, S.REQUESTED) | {S.REQUESTED}


# -- reported status events --------------------------------------------------------------------------------------


def test_reports_in_order_move_the_shipment_and_keep_the_raw_code() -> None:
    verdicts, tracking = reported(
        Tracking(RETURN), status("a", 2, 1), status("b", 6, 2), status("c", 10, 3), status("d", 12, 4),
        status("e", 14, 5),
    )  # fmt: skip
    assert verdicts == [Verdict.APPLIED] * 5
    assert (tracking.state, tracking.raw_code, len(tracking.history)) == (S.DELIVERED, 14, 5)


def test_a_repeated_status_event_is_a_duplicate_and_not_recorded_again() -> None:
    _, tracking = reported(Tracking(PICKUP), status("a", 2, 1), status("b", 4, 2))
    verdict, again = report(tracking, status("b", 4, 2))
    assert (verdict, again) == (Verdict.DUPLICATE, tracking)


def test_an_older_event_arriving_late_is_recorded_but_does_not_move_the_shipment_back() -> None:
    _, tracking = reported(Tracking(RETURN), status("a", 2, 1), status("d", 12, 4))
    assert tracking.state is S.OUT_FOR_DELIVERY  # the missing stages skipped
    verdict, later = report(tracking, status("c", 10, 3))
    assert verdict is Verdict.STALE
    assert (later.state, later.raw_code) == (S.OUT_FOR_DELIVERY, 12)
    assert [(r.status.event_id, r.verdict) for r in later.history][-1] == ("c", Verdict.STALE)
    assert later.applied_until() == T0 + timedelta(minutes=4)


def test_events_of_the_same_instant_are_not_stale() -> None:
    verdicts, tracking = reported(Tracking(RETURN), status("a", 12, 4), status("b", 15, 4))
    assert (verdicts, tracking.state) == ([Verdict.APPLIED, Verdict.APPLIED], S.DELIVERY_FAILED)


@pytest.mark.parametrize(
    ("direction", "earlier", "code"),
    [(PICKUP, [status("a", 6, 1)], 15),  # no failed delivery at the agency's desk
     (RETURN, [status("a", 12, 1)], 6),  # newer, but backwards
     (RETURN, [status("a", 14, 1)], 15),  # after the end
     (RETURN, [], 20)],  # lost: no state of ours
)  # fmt: skip
def test_a_code_that_cannot_follow_is_unexpected_recorded_and_ignored(
    direction: Direction, earlier: list[CarrierStatus], code: int
) -> None:
    _, tracking = reported(Tracking(direction), *earlier)
    verdict, after = report(tracking, status("z", code, 9))
    assert verdict is Verdict.UNEXPECTED
    assert (after.state, after.raw_code) == (tracking.state, tracking.raw_code)
    assert after.history[-1].verdict is Verdict.UNEXPECTED
    assert after.applied_until() == tracking.applied_until()


def test_a_shipment_we_cancelled_takes_no_later_carrier_progress() -> None:
    cancelled = Tracking(PICKUP).moved(S.SCHEDULED).moved(S.CANCELLED)
    verdict, after = report(cancelled, status("a", 6, 1))
    assert (verdict, after.state) == (Verdict.UNEXPECTED, S.CANCELLED)
    assert report(cancelled, status("b", 22, 1))[0] is Verdict.APPLIED  # the carrier confirms it


FAILED_RETURN = [status(f"e{n}", code, n) for n, code in enumerate([2, 6, 10, 12, 15, 12, 15, 16, 17, 18], start=1)]


@given(st.permutations(FAILED_RETURN), st.lists(st.sampled_from(FAILED_RETURN), max_size=5))
def test_in_any_order_and_with_repeats_the_newest_event_decides(
    arrivals: list[CarrierStatus], repeats: list[CarrierStatus]
) -> None:
    verdicts, tracking = reported(Tracking(RETURN), *arrivals, *repeats)
    assert (tracking.state, tracking.raw_code) == (S.RETURNED_TO_AGENCY, 18)
    assert sorted(r.status.event_id for r in tracking.history) == sorted(s.event_id for s in FAILED_RETURN)
    assert verdicts[len(arrivals) :] == [Verdict.DUPLICATE] * len(repeats)
    assert Verdict.UNEXPECTED not in verdicts


# -- fees --------------------------------------------------------------------------------------------------------


def test_the_shipped_table_gives_the_fee_of_the_first_class_a_package_fits_in() -> None:
    table = load_fee_table(PostalSettings().fees_file)
    assert table == load_fee_table(SHIPPED_FEES)
    assert table.fee(PICKUP, 1).fee_vnd == table.fee(PICKUP, 500).fee_vnd == 26000
    assert (table.fee(PICKUP, 501).fee_vnd, table.fee(PICKUP, 501).up_to_g) == (32000, 2000)
    assert table.fee(RETURN, 5000).service_code == "BCCI-TR"
    with pytest.raises(TooHeavyError, match="heavier than the last class"):
        table.fee(RETURN, 5001)
    with pytest.raises(ValueError, match="weighs something"):
        table.fee(RETURN, 0)


def table() -> dict[str, Any]:
    def direction(service_code: str) -> dict[str, Any]:
        classes = [{"up_to_g": 100, "fee_vnd": 1000}, {"up_to_g": 900, "fee_vnd": 9000}]
        return {"service_code": service_code, "weight_classes": classes}

    return {"source": "test", "directions": {"pickup": direction("P"), "return": direction("R")}}


def written(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_table_is_data_read_from_a_file(tmp_path: Path) -> None:
    settings = PostalSettings(fees_file=written(tmp_path / "fees.yaml", table()))
    fee = load_fee_table(settings.fees_file).fee(RETURN, 101)
    assert (fee.service_code, fee.fee_vnd, fee.up_to_g) == ("R", 9000, 900)


def _heaviest_first(data: dict[str, Any]) -> None:
    data["directions"]["pickup"]["weight_classes"].reverse()


def _no_return(data: dict[str, Any]) -> None:
    del data["directions"]["return"]


def _unknown_key(data: dict[str, Any]) -> None:
    data["directions"]["pickup"]["weight_classes"][0]["vat_vnd"] = 100


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [(_heaviest_first, "from the lightest up"), (_no_return, "no fees for"), (_unknown_key, "vat_vnd")],
)
def test_a_wrong_table_is_refused_naming_the_file(
    tmp_path: Path, spoil: Callable[[dict[str, Any]], None], problem: str
) -> None:
    data = table()
    spoil(data)
    path = written(tmp_path / "fees.yaml", data)
    with pytest.raises(RulesFileError, match=problem) as refused:
        load_fee_table(path)
    assert str(path) in str(refused.value)


# -- chain of custody --------------------------------------------------------------------------------------------

BIRTH_FORM = DocumentRef(code="TK-KS", title="Tờ khai đăng ký khai sinh")
BIRTH_PROOF = DocumentRef(code="GCS", title="Giấy chứng sinh")
LOCAL = timezone(timedelta(hours=7))


def collection(found: frozenset[str], *, taker: Custodian = Custodian.CARRIER, seal_found: str = "S-1") -> Collection:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=LOCAL)
    handover = Handover(
        Signature(Custodian.APPLICANT, "applicant", at), Signature(taker, "BT-0042", at), at, seal_found, True
    )
    return Collection(
        DocumentCheck((BIRTH_FORM, BIRTH_PROOF), found), Seal("S-1", at), FeeReceipt("BL-7", 8000, at), handover
    )


def test_a_collection_has_every_listed_document_sealed_and_signed_by_both() -> None:
    done = collection(frozenset({"TK-KS", "GCS"}))
    assert done.documents.complete
    assert done.handover.at == datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # instants held in UTC
    assert DocumentCheck((BIRTH_FORM, BIRTH_PROOF), frozenset({"GCS"})).missing == (BIRTH_FORM,)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"found": frozenset({"GCS"})}, "every listed document"),
     ({"found": frozenset({"TK-KS", "GCS"}), "taker": Custodian.AGENCY}, "applicant handing the package"),
     ({"found": frozenset({"TK-KS", "GCS"}), "seal_found": "S-2"}, "under the seal")],
)  # fmt: skip
def test_a_collection_that_breaks_the_rules_is_refused(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        collection(**kwargs)


def test_custody_facts_refuse_what_cannot_be() -> None:
    at = datetime(2026, 3, 2, 9, 30, tzinfo=LOCAL)
    with pytest.raises(ValueError, match="time zone"):
        Seal("S-1", datetime(2026, 3, 2, 9, 30))
    with pytest.raises(ValueError, match="positive amount"):
        FeeReceipt("BL-7", 0, at)
    agency = Signature(Custodian.AGENCY, "CB-01", at)
    with pytest.raises(ValueError, match="two different custodians"):
        Handover(agency, agency, at, "S-1", True)
