"""``request``: one HTTP exchange with a server outside, through the guard.

Every hop goes to an address :mod:`propylon.outbound.addresses` checked, with the name kept
for ``Host`` and for TLS (SNI and the certificate check). Redirects are followed by hand, each
hop checked again, at most ``max_redirects``, and only for GET (a POST's redirect is returned
as it is: RFC 9110 §15.4 lets a client turn it into a GET, which a token request must never
become). Credentials (``Authorization``, ``Cookie``) are dropped when a redirect leaves the
origin. The body is read up to the bound, never whole first, and the whole exchange, name
resolution included, ends within the time bound. Proxies and ``.netrc`` from the environment
are not used (``trust_env=False``): nothing outside the policy decides where a request goes.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import certifi
import httpx

from propylon.outbound.addresses import checked_addresses, is_public
from propylon.outbound.errors import OutboundError
from propylon.outbound.policy import OutboundPolicy

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: Mapping[str, str]
    """Names in lower case; repeated headers joined with ``", "``."""
    body: bytes
    url: str
    """The URL that answered (after redirects), as named, not as the address reached."""


async def request(
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
) -> OutboundResponse:
    """GET or POST ``url`` (``form``: an ``application/x-www-form-urlencoded`` body) under
    ``policy``. Raises :class:`OutboundError`; any HTTP status is an answer, not an error."""
    if method not in ("GET", "POST") or (form is not None and method != "POST"):
        raise ValueError(f"unsupported: {method} {'with' if form is not None else 'without'} form")
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            return await _exchange(policy, method, url, dict(headers or {}), form, follow_redirects)
    except (TimeoutError, httpx.TimeoutException):
        raise OutboundError("timeout", f"no answer within {policy.timeout_seconds:g} s") from None


async def _exchange(
    policy: OutboundPolicy,
    method: str,
    url: str,
    headers: dict[str, str],
    form: Mapping[str, str] | None,
    follow_redirects: bool,
) -> OutboundResponse:
    target = parse_url(url)
    headers.setdefault("Accept-Encoding", "identity")  # the bound counts the bytes we hold
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(policy.timeout_seconds),
        follow_redirects=False,
        verify=_tls_context(),
        trust_env=False,
    ) as client:
        for _ in range(policy.max_redirects + 1):
            got = await _hop(client, policy, method, target, headers, form, follow_redirects)
            if isinstance(got, OutboundResponse):
                return got
            if _origin(got) != _origin(target):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIALS}
            target = got
    raise OutboundError("too_many_redirects", f"redirected more than {policy.max_redirects} times")


async def _hop(
    client: httpx.AsyncClient,
    policy: OutboundPolicy,
    method: str,
    url: httpx.URL,
    headers: Mapping[str, str],
    form: Mapping[str, str] | None,
    follow_redirects: bool,
) -> OutboundResponse | httpx.URL:
    """The answer, or where a GET is redirected. The host's addresses are tried in turn (a
    name with an IPv6 address the network cannot reach still works over IPv4)."""
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = await checked_addresses(url.host, port, allow_private=policy.allow_private)
    # checked at every hop, so neither a redirect nor a changed DNS record sends a request
    # out in the clear
    public = any(is_public(ipaddress.ip_address(a)) for a in addresses)
    if url.scheme != "https" and not policy.http_allowed_to(public):
        raise OutboundError(
            "scheme_not_allowed",
            f"{url.scheme} to {url.host!r} is not allowed: https, or plain http only to a "
            "loopback or private host with PROPYLON_OUTBOUND_ALLOW_PRIVATE_HOSTS=true",
        )
    unreachable: Exception | None = None
    for address in addresses:
        try:
            async with client.stream(
                method,
                url.copy_with(host=address),
                headers={**headers, "Host": url.netloc.decode("ascii")},
                data=dict(form) if form is not None else None,
                extensions={"sni_hostname": url.host},
            ) as response:
                location = response.headers.get("location")
                redirect = response.status_code in _REDIRECTS and location
                if follow_redirects and method == "GET" and redirect:
                    return parse_url(str(url.join(location)))
                return OutboundResponse(
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=await _bounded(response, policy.max_bytes),
                    url=str(url),
                )
        except httpx.ConnectError as exc:
            if _tls_failure(exc):
                raise OutboundError("tls", f"TLS with {url.host!r} failed") from None
            unreachable = exc
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            raise OutboundError("transport", f"request failed: {type(exc).__name__}") from None
    raise OutboundError("unreachable", f"could not connect: {type(unreachable).__name__}")


def parse_url(url: str) -> httpx.URL:
    """An absolute http(s) URL with a host and no credentials in it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise OutboundError("invalid_url", "not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise OutboundError("invalid_url", "the URL must be http(s) with a host")
    if parsed.userinfo:
        raise OutboundError("invalid_url", "the URL must not carry credentials")
    return parsed


def _tls_failure(exc: BaseException) -> bool:
    """Whether a connect error is TLS refusing the peer (its certificate, for the name)."""
    seen: BaseException | None = exc
    for _ in range(8):  # httpx → httpcore → the socket's error
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


async def _bounded(response: httpx.Response, max_bytes: int) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise OutboundError("transport", f"unrequested content encoding {encoding!r}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundError("too_large", f"response too large (over {max_bytes} bytes)")
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise OutboundError("too_large", f"response too large (over {max_bytes} bytes)")
    return bytes(body)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context for the process (building one reads the CA bundle)."""
    return ssl.create_default_context(cafile=certifi.where())
