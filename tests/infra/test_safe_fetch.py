"""The URL guard: address checks, pinned connections, redirects, size and time limits."""

from __future__ import annotations

import http.server
import io
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tailor.domain.errors import InvalidInput, TooLarge, UpstreamUnavailable
from tailor.infra.safe_fetch import _is_public, check_public_url, fetch_to_file, fetch_url


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/host":
            self._send(200, self.headers["Host"].encode())
        elif self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect"))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(40):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/data":
            self._send(200, b"0123456789" * 100)
        else:
            self._send(404, b"no")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()


def _get(url: str, **kw: object) -> bytes:
    opts: dict = {"allow_private": True, "max_bytes": 1_000_000, "timeout_s": 5.0, "field": "image_url"} | kw
    return fetch_url(url, **opts)


@pytest.mark.parametrize(
    ("addr", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::127.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_address_classes(addr: str, public: bool) -> None:
    assert _is_public(ipaddress.ip_address(addr)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/x",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "ftp://example.com/a",
        "file:///etc/passwd",
        "gopher://x/",
        "http://user:pw@8.8.8.8/",
        "http:///nohost",
        "http://no-such-host.invalid/",
        "http://example.com:99999/",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(InvalidInput) as e:
        check_public_url(url, allow_private=False, field="image_url")
    assert e.value.field == "image_url"


def test_public_literal_is_accepted() -> None:
    check_public_url("https://8.8.8.8/a.png", allow_private=False, field="f")


def test_private_refused_before_connecting(server: str) -> None:
    with pytest.raises(InvalidInput, match="non-public"):
        fetch_url(f"{server}/data", allow_private=False, max_bytes=100_000, timeout_s=5, field="f")


def test_fetch_and_redirects(server: str) -> None:
    assert _get(f"{server}/data") == b"0123456789" * 100
    assert _get(f"{server}/redirect/data") == b"0123456789" * 100
    with pytest.raises(InvalidInput, match="redirects"):
        _get(f"{server}/loop")
    with pytest.raises(InvalidInput, match="http"):
        _get(f"{server}/to-file")  # every hop is checked again
    with pytest.raises(InvalidInput, match="404"):
        _get(f"{server}/missing")


def test_connects_to_the_checked_address(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name is resolved once and the connection goes to that address (no second lookup)."""
    port = int(server.rsplit(":", 1)[1])
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]])
    real = socket.getaddrinfo

    def once(host: str, *args: object, **kw: object) -> list:
        if host == "images.example":
            return next(answers)  # a second lookup would raise StopIteration
        return real(host, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", once)
    assert _get(f"http://images.example:{port}/host") == f"images.example:{port}".encode()


def test_size_limits(server: str) -> None:
    with pytest.raises(TooLarge):
        _get(f"{server}/big-declared", max_bytes=1_000_000)
    with pytest.raises(TooLarge):
        _get(f"{server}/big-chunked", max_bytes=1_000_000)
    with pytest.raises(TooLarge):
        _get(f"{server}/data", max_bytes=999)


def test_time_limits(server: str) -> None:
    with pytest.raises(UpstreamUnavailable):
        _get(f"{server}/slow", timeout_s=0.5)
    with pytest.raises(UpstreamUnavailable):
        _get("http://127.0.0.1:9/", timeout_s=2)  # nothing listens on the discard port


def test_fetch_to_file(server: str) -> None:
    out = io.BytesIO()
    n = fetch_to_file(
        f"{server}/data", out, allow_private=True, max_bytes=10_000, timeout_s=5, field="zip_url"
    )
    assert n == 1000 and out.getvalue() == b"0123456789" * 100
