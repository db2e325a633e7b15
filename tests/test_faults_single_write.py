"""gunicorn sends each response's head and body in one write (webapp/single_write.py), so a worker killed between them cannot cut one short."""

from __future__ import annotations

from gunicorn.config import Config
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.http.wsgi import Response

from webapp.single_write import install


class Recording:
    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sends.append(bytes(data))


def respond(body: list[bytes], method: str = "GET") -> list[bytes]:
    install()
    cfg = Config()
    request = Request(cfg, IterUnreader([f"{method} /api/search?q=x HTTP/1.1\r\nHost: a\r\n\r\n".encode()]), ("127.0.0.1", 1))
    sock = Recording()
    response = Response(request, sock, cfg)
    length = sum(map(len, body))
    response.start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(length))])
    for chunk in body:
        response.write(chunk)
    response.close()
    return sock.sends


def test_head_and_body_leave_in_one_write() -> None:
    sends = respond([b'{"ok": true}'])
    assert len(sends) == 1
    assert sends[0].startswith(b"HTTP/1.1 200 OK\r\n") and sends[0].endswith(b'\r\n\r\n{"ok": true}')


def test_a_response_without_a_body_still_sends_its_head() -> None:
    sends = respond([])
    assert len(sends) == 1 and sends[0].startswith(b"HTTP/1.1 200 OK\r\n") and sends[0].endswith(b"\r\n\r\n")


def test_later_chunks_are_sent_as_they_come() -> None:
    sends = respond([b"a" * 10, b"b" * 10])
    assert len(sends) == 2 and sends[0].endswith(b"a" * 10) and sends[1] == b"b" * 10

