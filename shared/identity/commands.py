"""`lienthong staff ...`: issue staff tokens and manage the keys that sign them (argument parsing is in
`shared/cli.py`). Tokens go to stdout alone, so that `TOKEN=$(lienthong staff token ...)` works; everything an
operator should read goes to stderr."""

from __future__ import annotations

import sys
from datetime import timedelta

from shared.identity.keys import KeyFolderError, ensure_signing_key, list_keys, retire_key, rotate_key
from shared.identity.settings import IdentitySettings
from shared.identity.staff import Role, Staff
from shared.identity.tokens import issue_token


def print_token(
    settings: IdentitySettings,
    *,
    agency: str,
    role: Role,
    staff_id: str | None = None,
    lifetime: timedelta | None = None,
    demo: bool = False,
) -> int:
    try:
        staff = Staff(staff_id=staff_id or f"{role}@{agency}", agency=agency, role=role, demo=demo)
        key, created = ensure_signing_key(settings.keys_dir)
    except (ValueError, KeyFolderError) as error:
        return _fail(error)
    if created:
        _tell(f"created signing key {key.kid} in {settings.keys_dir}")
    lifetime = lifetime or timedelta(minutes=settings.token_minutes)
    print(issue_token(key, staff, lifetime=lifetime, issuer=settings.issuer))
    return 0


def manage_keys(settings: IdentitySettings, action: str, kid: str | None = None) -> int:
    folder = settings.keys_dir
    try:
        if action == "rotate":
            new = rotate_key(folder)
            _tell(f"{new} signs new tokens; older keys still verify theirs until `lienthong staff keys retire KID`")
            print(new)
        elif action == "retire":
            if kid is None:
                raise KeyFolderError("retire needs the kid of the key to retire")
            retire_key(folder, kid)
            _tell(f"retired {kid}: its tokens are refused once the services reload {folder / 'jwks.json'}")
        else:
            found = list_keys(folder)
            if not found:
                _tell(f"no keys in {folder}; `lienthong staff keys rotate` creates one")
            for info in found:
                state = "signing" if info.signing else "verifying"
                print(f"{info.kid:<20} {state:<10} {'' if info.has_private_key else '(public key only)'}".rstrip())
    except KeyFolderError as error:
        return _fail(error)
    return 0


def _tell(message: str) -> None:
    print(message, file=sys.stderr)


def _fail(error: Exception) -> int:
    _tell(f"lienthong staff: {error}")
    return 1
