"""Staff identity at the HTTP edge: a real FastAPI app using the dependencies of `shared.identity.fastapi`, real
tokens, and a JWKS read from a file or fetched from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from shared.identity.fastapi import CurrentStaff, current_staff, ensure_agency, require_role, use_identity
from shared.identity.jwks import JwksSource
from shared.identity.keys import JWKS_FILE, ensure_signing_key, retire_key, rotate_key
from shared.identity.staff import Role, Staff
from shared.identity.tokens import issue_token

HOUR = timedelta(hours=1)


def build_app(source: JwksSource) -> FastAPI:
    app = FastAPI()
    use_identity(app, source, issuer="lienthong")

    @app.get("/me")
    async def me(staff: CurrentStaff) -> dict[str, Any]:
        return {"staff_id": staff.staff_id, "agency": staff.agency, "role": staff.role, "demo": staff.demo}

    @app.post("/agencies/{agency}/dossiers/{code}/approve")
    async def approve(
        agency: str, code: str, staff: Annotated[Staff, Depends(require_role("head", "admin"))]
    ) -> dict[str, str]:
        ensure_agency(staff, agency)
        return {"approved": code, "by": staff.staff_id}

    return app


def token_for(folder: Path, role: Role, agency: str = "H21.65", *, now: datetime | None = None) -> str:
    staff = Staff(staff_id=f"{role}-1", agency=agency, role=role)
    return issue_token(ensure_signing_key(folder)[0], staff, lifetime=HOUR, now=now)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "identity"
    ensure_signing_key(folder)
    return folder


@pytest.fixture
async def client(keys_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(JwksSource(keys_dir / JWKS_FILE))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="lienthong"'
    assert response.json() == {"detail": "a staff token is required: send 'Authorization: Bearer <token>'"}
    basic = await client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    assert "must be 'Bearer <token>'" in basic.json()["detail"]


async def test_a_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="lienthong", error="invalid_token"')
    assert response.json()["detail"].startswith("not a JWT")


async def test_an_expired_token_is_401(client: httpx.AsyncClient, keys_dir: Path) -> None:
    expired = token_for(keys_dir, "reception", now=datetime.now(UTC) - 2 * HOUR)
    response = await client.get("/me", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json() == {"detail": "the token has expired"}
    assert 'error_description="the token has expired"' in response.headers["WWW-Authenticate"]


async def test_a_valid_token_yields_the_staff_identity(client: httpx.AsyncClient, keys_dir: Path) -> None:
    response = await client.get("/me", headers=bearer(token_for(keys_dir, "reception")))
    assert response.status_code == 200
    assert response.json() == {"staff_id": "reception-1", "agency": "H21.65", "role": "reception", "demo": False}


async def test_a_role_that_is_not_allowed_is_403(client: httpx.AsyncClient, keys_dir: Path) -> None:
    response = await client.post(
        "/agencies/H21.65/dossiers/D1/approve", headers=bearer(token_for(keys_dir, "reception"))
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "role reception may not do this; it takes head or admin"}
    head = await client.post("/agencies/H21.65/dossiers/D1/approve", headers=bearer(token_for(keys_dir, "head")))
    assert head.status_code == 200
    assert head.json() == {"approved": "D1", "by": "head-1"}


async def test_staff_of_one_agency_cannot_act_on_another_agencys_dossier_but_an_admin_can(
    client: httpx.AsyncClient, keys_dir: Path
) -> None:
    other = await client.post("/agencies/H21.66/dossiers/D2/approve", headers=bearer(token_for(keys_dir, "head")))
    assert other.status_code == 403
    assert other.json() == {"detail": "staff of agency H21.65 may not act on what belongs to agency H21.66"}
    admin = await client.post("/agencies/H21.66/dossiers/D2/approve", headers=bearer(token_for(keys_dir, "admin")))
    assert admin.status_code == 200


async def test_without_readable_keys_the_answer_is_503_not_401(tmp_path: Path, keys_dir: Path) -> None:
    app = build_app(JwksSource(tmp_path / "missing" / JWKS_FILE))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/me", headers=bearer(token_for(keys_dir, "reception")))
    assert response.status_code == 503
    assert response.json() == {"detail": "staff keys are unavailable; try again"}


async def test_a_route_test_can_stand_in_for_the_token(tmp_path: Path) -> None:
    app = build_app(JwksSource(tmp_path / "never-read.json"))
    app.dependency_overrides[current_staff] = lambda: Staff(staff_id="t", agency="H21.65", role="head")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.post("/agencies/H21.65/dossiers/D3/approve")).json() == {"approved": "D3", "by": "t"}
        assert (await http.post("/agencies/H21.66/dossiers/D3/approve")).status_code == 403


def test_require_role_takes_known_roles_only() -> None:
    with pytest.raises(ValueError, match="require_role takes roles among"):
        require_role("boss")  # type: ignore[arg-type]


@dataclass
class JwksServer:
    url: str
    fetches: list[str]


@pytest.fixture
def jwks_server(keys_dir: Path) -> Iterator[JwksServer]:
    """Publishes the key folder's `jwks.json`, and only it (never the private keys beside it), over real HTTP."""
    fetches: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            body = (keys_dir / JWKS_FILE).read_bytes()
            fetches.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="jwks-server", daemon=True)
    thread.start()
    try:
        yield JwksServer(f"http://127.0.0.1:{server.server_address[1]}/jwks.json", fetches)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_keys_rotated_behind_a_jwks_url_are_picked_up_without_rebuilding_the_app(
    jwks_server: JwksServer, keys_dir: Path
) -> None:
    clock = Clock()
    app = build_app(JwksSource(jwks_server.url, refresh_s=30, max_age_s=300, clock=clock))
    old_token = token_for(keys_dir, "processing")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        assert (await http.get("/me", headers=bearer(old_token))).status_code == 200
        assert len(jwks_server.fetches) == 1

        old_kid = ensure_signing_key(keys_dir)[0].kid
        rotate_key(keys_dir)
        new_token = token_for(keys_dir, "processing")
        clock.now += 5  # an unknown kid this soon after a read: refused, and the server is not asked again
        refused = await http.get("/me", headers=bearer(new_token))
        assert refused.status_code == 401
        assert "not a current staff key" in refused.json()["detail"]
        assert len(jwks_server.fetches) == 1

        clock.now += 30
        accepted = await http.get("/me", headers=bearer(new_token))
        assert accepted.status_code == 200
        assert accepted.json()["role"] == "processing"
        assert len(jwks_server.fetches) == 2
        assert (await http.get("/me", headers=bearer(old_token))).status_code == 200

        retire_key(keys_dir, old_kid)
        clock.now += 300  # the copy is now too old: read again, and the retired key is gone
        assert (await http.get("/me", headers=bearer(old_token))).status_code == 401
        assert (await http.get("/me", headers=bearer(new_token))).status_code == 200
        assert len(jwks_server.fetches) == 3
