"""FastAPI dependencies for routes that staff use.

Wiring: the service's composition root builds one `JwksSource` (`IdentitySettings().jwks_source()`) and calls
`use_identity(app, source, issuer=...)`, which keeps it in `app.state`. Routes then declare

    async def accept(staff: CurrentStaff) -> ...                      # any staff member with a valid token
    async def approve(staff: Annotated[Staff, Depends(require_role("head"))]) -> ...
        ensure_agency(staff, dossier.agency)                           # 403 unless it is their agency's

Why `app.state` rather than a closure built per source: `current_staff` stays one module-level function, so
every route, and every `require_role`, depends on the same callable. A test of identity itself builds a real app
with a real source (tests/integration/test_identity_http.py); a test of a route that does not care about tokens
replaces it for the whole app with `app.dependency_overrides[current_staff] = lambda: Staff(...)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.identity.jwks import JwksSource, JwksUnavailableError
from shared.identity.staff import ROLES, Role, Staff
from shared.identity.tokens import DEFAULT_ISSUER, TokenError

log = structlog.get_logger(__name__)

REALM = "lienthong"

# auto_error=False: its own error would lack the WWW-Authenticate details and our message; it still documents
# the bearer scheme in the OpenAPI page.
bearer = HTTPBearer(auto_error=False, description="A staff token (`lienthong staff token`).")


@dataclass(frozen=True)
class Identity:
    source: JwksSource
    issuer: str = DEFAULT_ISSUER


def use_identity(app: FastAPI, source: JwksSource, *, issuer: str = DEFAULT_ISSUER) -> None:
    app.state.identity = Identity(source, issuer)


async def current_staff(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Staff:
    """The staff member of the request's bearer token; 401 without a valid one."""
    if credentials is None:
        if "authorization" in request.headers:
            raise _unauthorized("the Authorization header must be 'Bearer <token>'", invalid=True)
        raise _unauthorized("a staff token is required: send 'Authorization: Bearer <token>'", invalid=False)
    identity = getattr(request.app.state, "identity", None)
    if not isinstance(identity, Identity):
        raise RuntimeError("staff identity is not wired: the composition root must call use_identity(app, ...)")
    try:
        return await identity.source.verify(credentials.credentials, issuer=identity.issuer)
    except TokenError as error:
        log.info("identity.token_refused", reason=str(error), path=request.url.path)
        raise _unauthorized(str(error), invalid=True) from error
    except JwksUnavailableError as error:
        log.error("identity.keys_unavailable", error=str(error))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "staff keys are unavailable; try again") from error


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require_role(*roles: Role) -> Callable[[Staff], Awaitable[Staff]]:
    """A dependency yielding the current staff member if their role is one of `roles` (admin is not implied),
    else 403."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_role takes roles among {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")

    async def staff_in_role(staff: CurrentStaff) -> Staff:
        if staff.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {staff.role} may not do this; it takes {' or '.join(roles)}"
            )
        return staff

    return staff_in_role


def ensure_agency(staff: Staff, agency: str) -> None:
    """403 unless `staff` may act on what belongs to `agency` (their own agency; admins everywhere)."""
    if not staff.may_act_for(agency):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"staff of agency {staff.agency} may not act on what belongs to agency {agency}",
        )


def _unauthorized(message: str, *, invalid: bool) -> HTTPException:
    # RFC 6750 §3: a request without credentials gets the bare challenge, a bad token error="invalid_token".
    challenge = f'Bearer realm="{REALM}"'
    if invalid:
        # A header value is ASCII and this one is a quoted string.
        description = message.encode("ascii", "replace").decode().replace("\\", "").replace('"', "'")
        challenge += f', error="invalid_token", error_description="{description}"'
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": challenge})
