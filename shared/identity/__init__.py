"""Staff identity: staff act through short-lived JWTs signed with Ed25519 keys (alg EdDSA, a `kid` header);
services verify them with the public keys only, published as a JWKS, so keys rotate without downtime.

- `staff`: the `Staff` value a verified token yields, and the roles (pure).
- `keys`: the JWK format and the key folder of the issuing side (private PEMs, `jwks.json`, rotate, retire).
- `tokens`: issue a token, verify one against a JWKS (pure, apart from the wall clock).
- `jwks`: `JwksSource`, where a service reads the JWKS from (file or http(s) URL), cached and refreshed.
- `fastapi`: the route dependencies (`current_staff`, `require_role`, `ensure_agency`).
- `settings`, `commands`: the `IDENTITY_*` variables and the `lienthong staff` command.
"""
