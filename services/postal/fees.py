"""The fee of a shipment, from a table that is data (`deploy/rules/postal-fees.yaml`, or the file named by
`POSTAL_FEES_FILE`): per direction, the carrier's service code and the fee of each weight class. A tariff change is
a change of that file, not of code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Self

from pydantic import Field, ValidationError, model_validator

from shared.events.catalogue.common import Vnd
from shared.events.catalogue.postal import Direction
from shared.rules.agencies import RulesFileError, RulesModel, read_rules_yaml

SHIPPED_FEES = Path(__file__).resolve().parents[2] / "deploy" / "rules" / "postal-fees.yaml"


class TooHeavyError(ValueError):
    """The package is heavier than the table's last class: the service does not carry it at a known fee."""


@dataclass(frozen=True)
class ShipmentFee:
    service_code: str
    fee_vnd: int
    up_to_g: int  # the weight class the package fell in


class WeightClass(RulesModel):
    up_to_g: int = Field(gt=0, description="The heaviest package of the class, in grams.")
    fee_vnd: Vnd = Field(description="The fee of a package of the class, in đồng.")


class DirectionFees(RulesModel):
    service_code: str = Field(min_length=1, description="The carrier's service code for this direction.")
    weight_classes: list[WeightClass] = Field(min_length=1, description="From the lightest class up.")

    @model_validator(mode="after")
    def _lightest_first(self) -> Self:
        limits = [weight_class.up_to_g for weight_class in self.weight_classes]
        if limits != sorted(set(limits)):
            raise ValueError("weight classes go from the lightest up, each heavier than the one before")
        return self


class FeeTable(RulesModel):
    source: str = Field(min_length=1, description="Where the tariff comes from.")
    directions: dict[Direction, DirectionFees] = Field(description="The fees of each direction.")

    @model_validator(mode="after")
    def _both_directions(self) -> Self:
        if missing := set(Direction) - set(self.directions):
            raise ValueError(f"the table gives no fees for {sorted(missing)}")
        return self

    def fee(self, direction: Direction, weight_g: int) -> ShipmentFee:
        """The fee of a package of `weight_g` grams travelling in `direction`."""
        if weight_g <= 0:
            raise ValueError(f"a package weighs something, not {weight_g} g")
        fees = self.directions[direction]
        for weight_class in fees.weight_classes:
            if weight_g <= weight_class.up_to_g:
                return ShipmentFee(fees.service_code, weight_class.fee_vnd, weight_class.up_to_g)
        heaviest = fees.weight_classes[-1].up_to_g
        raise TooHeavyError(f"a {direction} package of {weight_g} g is heavier than the last class ({heaviest} g)")


@cache
def load_fee_table(path: Path | None = None) -> FeeTable:
    """The table of the file (`POSTAL_FEES_FILE`); none: the shipped one. Read once per process, as the service
    starts: a tariff change takes a restart."""
    path = path or SHIPPED_FEES
    try:
        return FeeTable.model_validate(read_rules_yaml(path))
    except ValidationError as error:
        raise RulesFileError(f"{path}: {error}") from error
