"""Demo staff for a local stack: one token per agency and role of the shipped agency list, so that a newcomer can
call every API at once (`.local/demo-tokens.json`). The tokens are marked demo and signed with the stack's own
key; nothing outside this stack accepts them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.identity.keys import ensure_signing_key
from shared.identity.staff import Role, Staff
from shared.identity.tokens import issue_token
from shared.rules.agencies import load_agencies
from shared.rules.publish import SHIPPED_RULES

LIFETIME = timedelta(days=30)
RENEW_BEFORE = timedelta(days=7)


def demo_staff() -> list[Staff]:
    agencies = load_agencies(SHIPPED_RULES / "agencies.yaml").agencies
    staff: list[Staff] = []
    for agency in agencies:
        roles: tuple[Role, ...] = ("reception", "head") if agency.has_one_stop_desk else ("processing", "head")
        staff += [Staff(f"demo-{role}@{agency.code}", agency.code, role, demo=True) for role in roles]
    staff.append(Staff(f"demo-admin@{agencies[0].code}", agencies[0].code, "admin", demo=True))
    return staff


def write_demo_tokens(identity: Path, path: Path) -> bool:
    """Writes the tokens unless valid ones are there for at least another week; True when it wrote."""
    now = datetime.now(UTC)
    if path.exists():
        current: dict[str, Any] = json.loads(path.read_text())
        if datetime.fromisoformat(current["expires_at"]) - now > RENEW_BEFORE:
            return False
    key, _ = ensure_signing_key(identity)
    tokens = [
        {"agency": s.agency, "role": s.role, "staff_id": s.staff_id, "token": issue_token(key, s, lifetime=LIFETIME)}
        for s in demo_staff()
    ]
    document = {"expires_at": (now + LIFETIME).isoformat(), "demo": True, "tokens": tokens}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    path.chmod(0o600)
    return True
