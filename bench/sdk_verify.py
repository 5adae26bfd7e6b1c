"""Benchmark: SDK access-token verifications per second on one core, with the revocation and
entitlement checks on, beside a bare ``cryptography`` signature verification of the same
token, measured in the same run (rounds interleaved).

Prints ONE JSON document on stdout (progress on stderr). Run::

    python3 bench/sdk_verify.py            # 5 rounds of 2 s per side
    python3 bench/sdk_verify.py --quick    # 2 rounds of 1 s

The token is an ES256 RFC 9068 access token shaped like Propylon's (identity, ``sid``,
``grant_id``, roles, tier, programs, ``entitlements_version``), signed here with
``cryptography``. ``sdk`` is ``Propylon.verify(token)``: split and base64url-decode, header
(kept by its encoded form), key by ``kid``, the ECDSA check, the claims JSON, ``iss``/``aud``/
``exp``/``nbf``/``iat``/lifetime, then the local view, fresh, holding 10,000 revoked
sessions, 10,000 revoked grants, 10,000 user cutoffs, 1,000 tenant cutoffs and 10,000 users'
entitlements (one of them newer than the token's, so the principal's roles come from the
view), and the typed ``Principal``. ``bare`` is ``public_key.verify(der_signature,
signing_input, ECDSA(SHA256()))`` with the DER signature and the signing input prepared
beforehand: the signature alone. Target: ``ratio`` = sdk / bare >= 0.5 (the median of the
rounds' ratios: each round runs both sides back to back, so a shared machine's load skews
both alike; ``*_per_s`` are the best rounds). ``distinct_tokens``
is the same comparison over 10,000 different tokens taken in turn (each SDK call parses its
payload afresh: the verifier keeps parsed payloads, never signature results, of at most 4,096
tokens; with the same token every call still checks the signature). The process is pinned
to one CPU (``sched_setaffinity``) when it can be.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sdk" / "src"))

from benchkit.measure import log  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature,
    encode_dss_signature,
)

from propylon.sdk import Propylon  # noqa: E402

ISSUER = "https://id.example.test"
DISTINCT = 10_000
"""More tokens than the verifier keeps parsed payloads of (4,096): every call parses."""
AUDIENCE = "app_bench"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_and_key(
    key: ec.EllipticCurvePrivateKey | None = None, jti: str = "j" * 22
) -> tuple[str, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    header = {"alg": "ES256", "kid": "k1", "typ": "at+jwt"}
    claims = {
        "sub": "usr_00000000000000000001", "org_id": "ten_0000000000001", "org_slug": "acme",
        "email": "ada@acme.test", "given_name": "Ada", "family_name": "Lovelace",
        "name": "Ada Lovelace", "amr": ["saml"], "auth_method": "saml", "idp": "conn_1",
        "sid": "ses_0000000000000000000001", "iss": ISSUER, "aud": AUDIENCE,
        "client_id": AUDIENCE, "iat": now, "exp": now + 3000, "jti": jti,
        "scope": "openid profile email", "grant_id": "grt_000000000000000001",
        "roles": ["viewer", "editor"], "programs": ["beta"], "tier": "gold",
        "entitlements_version": 3,
    }  # fmt: skip
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}", key


def sdk_client(key: ec.EllipticCurvePrivateKey) -> Propylon:
    pub = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
           "x": b64(pub.x.to_bytes(32, "big")), "y": b64(pub.y.to_bytes(32, "big"))}  # fmt: skip
    propylon = Propylon(ISSUER, audience=AUDIENCE, staleness=1e9)
    propylon.jwks.load({"keys": [jwk]})
    view = propylon.view
    now = time.time()
    for i in range(10_000):
        view.apply(
            {
                "seq": 4 * i + 1,
                "type": "session.revoked",
                "created_at": now,
                "data": {"session": {"id": f"ses_r{i}"}},
            }
        )
        view.apply(
            {
                "seq": 4 * i + 2,
                "type": "grant.revoked",
                "created_at": now,
                "data": {"grant_id": f"grt_r{i}"},
            }
        )
        view.apply(
            {
                "seq": 4 * i + 3,
                "type": "user.sessions_revoked",
                "created_at": now,
                "data": {"user_id": f"usr_r{i}", "before": now},
            }
        )
        view.apply(
            {
                "seq": 4 * i + 4,
                "type": "user.entitlements_changed",
                "created_at": now,
                "data": {
                    "user": {"id": f"usr_e{i}"},
                    "entitlements": {"version": 2, "roles": ["r"], "tier": None, "programs": []},
                },
            }
        )
    for i in range(1_000):
        view.apply({"seq": 50_000 + i, "type": "tenant.sessions_revoked", "created_at": now,
                    "data": {"tenant_id": f"ten_r{i}", "auth_methods": ["password"],
                             "before": now}})  # fmt: skip
    view.apply({"seq": 60_000, "type": "user.entitlements_changed", "created_at": now,
                "data": {"user": {"id": "usr_00000000000000000001"}, "entitlements":
                         {"version": 4, "roles": ["admin"], "tier": "gold",
                          "programs": ["beta"]}}})  # fmt: skip
    view.heartbeat(60_000)
    return propylon


def rate(fn: Any, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        n += 200
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds, seconds = (2, 1.0) if args.quick else (5, 2.0)
    pinned = False
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        pinned = True
    token, key = token_and_key()
    propylon = sdk_client(key)
    principal = propylon.verify(token)
    assert principal.roles == ("admin",) and principal.source == "view", principal
    signing_input, _, sig = token.rpartition(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public, data, algo = key.public_key(), signing_input.encode(), ec.ECDSA(hashes.SHA256())

    def bare() -> None:
        public.verify(der, data, algo)

    def sdk() -> None:
        propylon.verify(token)

    log(f"signing {DISTINCT} distinct tokens", name="sdk")
    many = [token_and_key(key, f"jti-{i:018d}")[0] for i in range(DISTINCT)]
    many_der = []
    for t in many:
        si, _, sg = t.rpartition(".")
        r = base64.urlsafe_b64decode(sg + "==")
        d = encode_dss_signature(int.from_bytes(r[:32], "big"), int.from_bytes(r[32:], "big"))
        many_der.append((d, si.encode()))
    cursor = [0]

    def bare_distinct() -> None:
        i = cursor[0] = (cursor[0] + 1) % DISTINCT
        d, si = many_der[i]
        public.verify(d, si, algo)

    def sdk_distinct() -> None:
        i = cursor[0] = (cursor[0] + 1) % DISTINCT
        propylon.verify(many[i])

    bare_rates, sdk_rates, bare_d, sdk_d = [], [], [], []
    for i in range(rounds):
        bare_rates.append(rate(bare, seconds))
        sdk_rates.append(rate(sdk, seconds))
        bare_d.append(rate(bare_distinct, seconds))
        sdk_d.append(rate(sdk_distinct, seconds))
        log(
            f"round {i + 1}: same token bare {bare_rates[-1]:.0f}/s sdk {sdk_rates[-1]:.0f}/s;"
            f" distinct tokens bare {bare_d[-1]:.0f}/s sdk {sdk_d[-1]:.0f}/s",
            name="sdk",
        )
    bare_best, sdk_best = max(bare_rates), max(sdk_rates)
    result = {
        "benchmark": "sdk_verify",
        "token": {"alg": "ES256", "chars": len(token)},
        "one_core": pinned,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "bare_cryptography_per_s": round(bare_best),
        "sdk_verify_per_s": round(sdk_best),
        "sdk_us_per_verify": round(1e6 / sdk_best, 2),
        "bare_us_per_verify": round(1e6 / bare_best, 2),
        "ratio": round(
            statistics.median(s / b for s, b in zip(sdk_rates, bare_rates, strict=True)), 3
        ),
        "ratio_of_best_rounds": round(sdk_best / bare_best, 3),
        "target_ratio": 0.5,
        "ok": statistics.median(s / b for s, b in zip(sdk_rates, bare_rates, strict=True)) >= 0.5,
        "rounds_per_s": {
            "bare": [round(r) for r in bare_rates],
            "sdk": [round(r) for r in sdk_rates],
        },
        "distinct_tokens": {
            "tokens": DISTINCT,
            "bare_cryptography_per_s": round(max(bare_d)),
            "sdk_verify_per_s": round(max(sdk_d)),
            "ratio": round(statistics.median(s / b for s, b in zip(sdk_d, bare_d, strict=True)), 3),
        },
        "view": {
            "revoked_sessions": len(propylon.view.revoked_sessions),
            "revoked_grants": len(propylon.view.revoked_grants),
            "user_cutoffs": len(propylon.view.user_cutoffs),
            "tenant_cutoffs": len(propylon.view.tenant_cutoffs),
            "entitlements": len(propylon.view.entitlements),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
