"""Server-side URL fetches that cannot be aimed at the server's own network.

Every URL is checked before it is fetched: the scheme must be http or https and every address its
host resolves to must be public (not loopback, private, link-local, multicast, reserved,
unspecified, shared, or an IPv4-mapped/compatible form of those). The connection then goes to the
very address that was checked (the ``Host`` header and TLS SNI/certificate check keep the original
name), so a DNS answer that changes between the check and the connection (DNS rebinding) cannot
redirect it. Each redirect hop is checked the same way. Downloads are streamed with a byte cap and
a hard wall-clock deadline (``infra.outbound.Watchdog``): connecting, waiting for headers and a
slow-drip body all end when it passes.

Errors: :class:`InvalidInput` (bad or blocked URL, HTTP error status), :class:`TooLarge` (over
``max_bytes``), :class:`UpstreamUnavailable` (unreachable, timed out).

Residual risk: proxies configured in the environment are ignored (``trust_env=False``); a host that
resolves to several public addresses is reached at the first one only.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx

from tailor.domain.errors import InvalidInput, TooLarge, UpstreamUnavailable
from tailor.infra.outbound import Watchdog

MAX_REDIRECTS = 5

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _is_public(addr: IpAddress) -> bool:
    """True when ``addr`` is a globally routable unicast address."""
    if isinstance(addr, ipaddress.IPv6Address):
        inner = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if inner is not None and not _is_public(inner):
            return False
        # IPv4-compatible (::a.b.c.d, deprecated) forms
        if int(addr) >> 32 == 0 and int(addr) > 1:
            return _is_public(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return not (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )


def _split(url: str, field: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or InvalidInput."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidInput(f"not a valid URL: {e}", field=field) from e
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise InvalidInput("only http and https URLs are accepted", field=field)
    host = parts.hostname
    if not host:
        raise InvalidInput("the URL has no host", field=field)
    if parts.username or parts.password:
        raise InvalidInput("URLs with credentials are not accepted", field=field)
    return scheme, host, port or (443 if scheme == "https" else 80)


def _resolve(host: str, port: int, field: str) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidInput(f"the host {host!r} cannot be resolved", field=field) from e
    addrs: list[IpAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        addr = ipaddress.ip_address(raw)
        if addr not in addrs:
            addrs.append(addr)
    if not addrs:
        raise InvalidInput(f"the host {host!r} cannot be resolved", field=field)
    return addrs


def checked_address(url: str, *, allow_private: bool, field: str) -> tuple[str, str, int, IpAddress]:
    scheme, host, port = _split(url, field)
    addrs = _resolve(host, port, field)
    if not allow_private:
        for addr in addrs:
            if not _is_public(addr):
                raise InvalidInput(
                    f"the URL's host resolves to a non-public address ({addr}); refused",
                    field=field,
                )
    return scheme, host, port, addrs[0]


def check_public_url(url: str, *, allow_private: bool, field: str) -> None:
    """Raise InvalidInput unless ``url`` is http(s) and its host resolves only to public addresses."""
    checked_address(url, allow_private=allow_private, field=field)


def _pinned_request(
    client: httpx.Client, url: str, addr: IpAddress, host: str, watchdog: Watchdog
) -> httpx.Request:
    """A GET of ``url`` that connects to ``addr`` but presents ``host`` (Host header, SNI), its
    sockets watched by ``watchdog``."""
    parts = httpx.URL(url)
    ip_host = str(addr)
    pinned = parts.copy_with(host=ip_host)
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    return client.build_request(
        "GET",
        pinned,
        headers={"Host": host_header, "Accept-Encoding": "identity"},
        extensions={"sni_hostname": host, "trace": watchdog.trace},
    )


def _stream(
    url: str,
    sink: BinaryIO | bytearray,
    *,
    allow_private: bool,
    max_bytes: int,
    timeout_s: float,
    field: str,
) -> int:
    deadline = time.monotonic() + timeout_s
    timeout = httpx.Timeout(timeout_s)
    watchdog = Watchdog(timeout_s)
    try:
        with watchdog, httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            current = url
            for _hop in range(MAX_REDIRECTS + 1):
                _scheme, host, _port, addr = checked_address(
                    current, allow_private=allow_private, field=field
                )
                request = _pinned_request(client, current, addr, host, watchdog)
                resp = client.send(request, stream=True)
                try:
                    if resp.is_redirect:
                        location = resp.headers.get("location")
                        if not location:
                            raise InvalidInput("redirect without a Location header", field=field)
                        current = urljoin(current, location)
                        continue
                    if resp.status_code >= 400:
                        raise InvalidInput(f"fetching the URL answered HTTP {resp.status_code}", field=field)
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise TooLarge(
                            f"the resource is larger than the limit of {max_bytes} bytes", field=field
                        )
                    total = 0
                    for chunk in resp.iter_raw():  # as the bytes arrive: the deadline is checked per read
                        total += len(chunk)
                        if total > max_bytes:
                            raise TooLarge(
                                f"the resource is larger than the limit of {max_bytes} bytes",
                                field=field,
                            )
                        if time.monotonic() > deadline:
                            raise UpstreamUnavailable(
                                f"fetching the URL took longer than {timeout_s:g}s", field=field
                            )
                        if isinstance(sink, bytearray):
                            sink.extend(chunk)
                        else:
                            sink.write(chunk)
                    if watchdog.expired:  # the socket was shut down: a body read to "close" is cut short
                        raise UpstreamUnavailable(
                            f"fetching the URL took longer than {timeout_s:g}s", field=field
                        )
                    return total
                finally:
                    resp.close()
            raise InvalidInput(f"more than {MAX_REDIRECTS} redirects", field=field)
    except httpx.TimeoutException as e:
        raise UpstreamUnavailable(f"fetching the URL timed out after {timeout_s:g}s", field=field) from e
    except httpx.HTTPError as e:
        if watchdog.expired:
            raise UpstreamUnavailable(f"fetching the URL took longer than {timeout_s:g}s", field=field) from e
        raise UpstreamUnavailable(f"the URL could not be fetched: {e}", field=field) from e


def fetch_url(url: str, *, allow_private: bool, max_bytes: int, timeout_s: float, field: str) -> bytes:
    """Download ``url`` into memory under the size and time limits (see the module docstring)."""
    buf = bytearray()
    _stream(url, buf, allow_private=allow_private, max_bytes=max_bytes, timeout_s=timeout_s, field=field)
    return bytes(buf)


def fetch_to_file(
    url: str,
    dest: BinaryIO,
    *,
    allow_private: bool,
    max_bytes: int,
    timeout_s: float,
    field: str,
) -> int:
    """Stream ``url`` into ``dest`` under the size and time limits; returns the bytes written."""
    return _stream(
        url, dest, allow_private=allow_private, max_bytes=max_bytes, timeout_s=timeout_s, field=field
    )
