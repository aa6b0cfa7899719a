"""Who acts: the identity a verified staff token carries. Pure; no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["reception", "processing", "head", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

# Agency codes are unit codes such as "H21.65" or "000.00.15.H29": letters, digits, dots, dashes, no spaces.
AGENCY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Staff:
    """A staff member acting for one agency in one role; `demo` marks the identities of demo tokens."""

    staff_id: str
    agency: str
    role: Role
    demo: bool = False

    def __post_init__(self) -> None:
        if not self.staff_id or len(self.staff_id) > 128:
            raise ValueError("staff id must be 1 to 128 characters")
        if not AGENCY_CODE.fullmatch(self.agency):
            raise ValueError(f"agency {self.agency!r} is not an agency code (such as H21.65)")
        if self.role not in ROLES:
            raise ValueError(f"role {self.role!r} is not one of {', '.join(ROLES)}")

    def may_act_for(self, agency: str) -> bool:
        """A staff member acts only on what belongs to their own agency; admins act everywhere."""
        return self.role == "admin" or self.agency == agency
