"""A minimal asyncio HTTP/1.1 client (keep-alive, Content-Length/chunked/EOF bodies) that
costs the load generator little, and the same interface over ``httpx.AsyncClient`` to show
what a heavier client adds. Bodies are sent and read as SCIM JSON."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

try:
    import orjson

    def jloads(b: bytes) -> Any:
        return orjson.loads(b)

    def jdumps(o: Any) -> bytes:
        return orjson.dumps(o)
except ImportError:  # pragma: no cover

    def jloads(b: bytes) -> Any:
        return json.loads(b)

    def jdumps(o: Any) -> bytes:
        return json.dumps(o, separators=(",", ":")).encode()


REQUEST_TIMEOUT = 30.0


class HttpError(Exception):
    pass


@dataclass
class Resp:
    status: int
    headers: dict[str, str]  # lower-case names; the last value wins
    body: bytes
    set_cookies: list[str] = field(default_factory=list)  # every Set-Cookie, in order

    def json(self) -> Any:
        return jloads(self.body) if self.body else None


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it (HTTP/1.0
    peers, or a keep-alive connection the server timed out)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.host_header = f"Host: {host}:{port}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: str = "",
        body: bytes | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Resp:
        """``headers`` is preformatted ``Name: value\\r\\n`` lines."""
        head = f"{method} {target} HTTP/1.1\r\n{headers}"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        data = b"".join((head.encode("latin-1"), self.host_header, b"\r\n", body or b""))
        for attempt in (0, 1):
            reused = self.writer is not None
            if self.writer is None:
                await self._connect()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(data)
                raw = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                # a keep-alive connection the server had closed: retry once on a new one
                if reused and attempt == 0 and not getattr(exc, "partial", b""):
                    continue
                raise HttpError(f"connection failed: {exc!r}") from exc
            return await self._read_rest(raw)
        raise HttpError("unreachable")

    async def _read_rest(self, raw: bytes) -> Resp:
        assert self.reader is not None
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        hdrs: dict[str, str] = {}
        cookies: list[str] = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            k, v = k.strip().lower(), v.strip()
            if k == "set-cookie":
                cookies.append(v)
            hdrs[k] = v
        conn = hdrs.get("connection", "").lower()
        keep = "close" not in conn and (version == "HTTP/1.1" or "keep-alive" in conn)
        if "content-length" in hdrs:
            body = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif status in ("204", "304") or status.startswith("1") or keep:
            body = b""
        else:
            body = await self.reader.read()
        if not keep:
            await self.close()
        return Resp(int(status), hdrs, body, cookies)


class RawClient:
    """SCIM JSON over one :class:`Connection` with a bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        u = urllib.parse.urlsplit(base_url)
        self.conn = Connection(u.hostname or "127.0.0.1", u.port or 80)
        self.prefix = u.path.rstrip("/")
        self.fixed = (
            f"Authorization: Bearer {token}\r\n"
            "Accept: application/scim+json\r\nUser-Agent: propylon-bench\r\n"
        )

    @property
    def connects(self) -> int:
        return self.conn.connects

    async def close(self) -> None:
        await self.conn.close()

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Resp:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        request = self.conn.request(
            method,
            self.prefix + path,
            headers=self.fixed + extra,
            body=None if body is None else jdumps(body),
            content_type="application/scim+json",
        )
        return await asyncio.wait_for(request, REQUEST_TIMEOUT)


class HttpxClient:
    """The same interface over httpx.AsyncClient (keep-alive), to measure client overhead."""

    def __init__(self, base_url: str, token: str) -> None:
        import httpx

        self.c = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
            timeout=REQUEST_TIMEOUT,
        )
        self.connects = 1

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Resp:
        r = await self.c.request(
            method,
            path,
            content=None if body is None else jdumps(body),
            headers={
                **({"Content-Type": "application/scim+json"} if body is not None else {}),
                **(headers or {}),
            },
        )
        return Resp(r.status_code, dict(r.headers), r.content)

    async def close(self) -> None:
        await self.c.aclose()
