"""Staff sessions of the console: the staff token, verified with the same JWKS as every service, kept in an
HttpOnly, SameSite=Strict cookie, and verified again on every request (an expired token or a retired key ends the
session at once). Pages without a valid session send the browser to the login page; the other endpoints answer 401.

Requests that change something (log in, log out, replay) must also come from the console's own pages: their Origin
(or, without one, their Referer) must name the host they were sent to. SameSite=Strict keeps the cookie off requests
from other sites; the Origin check also refuses those from another origin of the same site (another port of the same
host), which SameSite does not tell apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

import structlog
from fastapi import Depends, HTTPException, Request, status

from services.console.language import Language, choose_language
from shared.identity.fastapi import REALM, Identity
from shared.identity.jwks import JwksUnavailableError
from shared.identity.staff import Staff
from shared.identity.tokens import TokenError

log = structlog.get_logger(__name__)

COOKIE = "lienthong_console"
COOKIE_PATH = "/console"


@dataclass(frozen=True)
class Session:
    staff: Staff
    token: str  # forwarded as `Authorization: Bearer` to the services, which decide what the staff member may do


class LoginRequiredError(Exception):
    """A page asked for without a valid session: the browser is sent to the login page."""

    def __init__(self, language: Language, expired: bool) -> None:
        super().__init__("a staff session is required")
        self.language = language
        self.expired = expired


def language_of(request: Request) -> Language:
    return choose_language(request.query_params.get("lang"))


async def verify(request: Request, token: str) -> Staff:
    """The staff member of the token; TokenError says why it is refused, 503 when no key can be read."""
    identity: Identity = request.app.state.identity
    try:
        return await identity.source.verify(token, issuer=identity.issuer)
    except JwksUnavailableError as error:
        log.error("identity.keys_unavailable", error=str(error))
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "staff keys are unavailable; try again") from error


async def current_session(request: Request) -> Session | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return Session(await verify(request, token), token)
    except TokenError as error:
        log.info("console.session_refused", reason=str(error), path=request.url.path)
        return None


async def page_session(request: Request) -> Session:
    session = await current_session(request)
    if session is None:
        raise LoginRequiredError(language_of(request), expired=COOKIE in request.cookies)
    return session


async def request_session(request: Request) -> Session:
    session = await current_session(request)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in to the console first (/console/login)",
                            headers={"WWW-Authenticate": f'Cookie realm="{REALM}"'})  # fmt: skip
    return session


def ensure_admin(session: Session) -> Session:
    if session.staff.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {session.staff.role} may not do this; it takes admin")
    return session


async def admin_request_session(session: Annotated[Session, Depends(request_session)]) -> Session:
    return ensure_admin(session)


def is_same_origin(origin: str | None, referer: str | None, host: str | None) -> bool:
    """Whether a request was sent from a page of the host it went to: its Origin names that host (a browser sends one
    with every POST), or, lacking one, its Referer does. Neither, or an opaque origin ("null"): not proven, refused."""
    sender = origin if origin is not None else referer
    if not sender or not host:
        return False
    parts = urlsplit(sender)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


async def same_origin(request: Request) -> None:
    if not is_same_origin(request.headers.get("origin"), request.headers.get("referer"), request.headers.get("host")):
        log.warning("console.cross_site_refused", path=request.url.path, origin=request.headers.get("origin"))
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused: send it from the console's pages")


PageSession = Annotated[Session, Depends(page_session)]
RequestSession = Annotated[Session, Depends(request_session)]
AdminRequestSession = Annotated[Session, Depends(admin_request_session)]
SameOrigin = Depends(same_origin)
