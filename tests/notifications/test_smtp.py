"""SMTP delivery against real aiosmtpd servers: STARTTLS with authentication, implicit TLS,
and errors classified as temporary or permanent."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from backend.notifications import smtp
from backend.notifications.smtp import DeliveryError, SmtpConfig


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, crt


class Sink:
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.lock:
            self.received.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


def _auth(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"yunjian" and data.password == b"s3cret"
    # handled=False: let the server answer 535 itself on failure.
    return AuthResult(success=ok, handled=False)


def _msg() -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "yunjian@wuhai.example", "leader@wuhai.example", "【红色预警】测试"
    m.set_content("正文")
    return m


@pytest.fixture()
def starttls_server(cert: tuple[Path, Path]) -> Iterator[tuple[int, Sink]]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[1]), str(cert[0]))
    sink, port = Sink(), _port()
    c = Controller(sink, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                   authenticator=_auth, auth_required=True)
    c.start()
    yield port, sink
    c.stop()


def test_mail_goes_through_starttls_with_authentication(starttls_server: tuple[int, Sink], cert: tuple[Path, Path]):
    port, sink = starttls_server
    cfg = SmtpConfig("127.0.0.1", port, security="starttls", username="yunjian", password="s3cret",
                     ca_file=str(cert[1]))
    smtp.send(cfg, _msg())
    assert len(sink.received) == 1 and b"leader@wuhai.example" in sink.received[0]


def test_wrong_credentials_are_a_permanent_failure(starttls_server: tuple[int, Sink], cert: tuple[Path, Path]):
    port, sink = starttls_server
    cfg = SmtpConfig("127.0.0.1", port, security="starttls", username="yunjian", password="wrong",
                     ca_file=str(cert[1]))
    with pytest.raises(DeliveryError) as e:
        smtp.send(cfg, _msg())
    assert e.value.permanent and sink.received == []


def test_a_server_requiring_starttls_refuses_plain_mail(starttls_server: tuple[int, Sink]):
    port, sink = starttls_server
    with pytest.raises(DeliveryError):
        smtp.send(SmtpConfig("127.0.0.1", port), _msg())
    assert sink.received == []


def test_an_untrusted_certificate_is_refused_and_worth_retrying(starttls_server: tuple[int, Sink]):
    port, _ = starttls_server
    with pytest.raises(DeliveryError) as e:
        smtp.send(SmtpConfig("127.0.0.1", port, security="starttls", username="yunjian", password="s3cret"), _msg())
    assert not e.value.permanent


def test_mail_goes_through_implicit_tls(cert: tuple[Path, Path]):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[1]), str(cert[0]))
    sink, port = Sink(), _port()
    c = Controller(sink, hostname="127.0.0.1", port=port, ssl_context=ctx, authenticator=_auth,
                   auth_required=True, auth_require_tls=False)
    c.start()
    try:
        smtp.send(SmtpConfig("127.0.0.1", port, security="tls", username="yunjian", password="s3cret",
                             ca_file=str(cert[1])), _msg())
    finally:
        c.stop()
    assert len(sink.received) == 1


def test_no_server_is_a_temporary_failure():
    with pytest.raises(DeliveryError) as e:
        smtp.send(SmtpConfig("127.0.0.1", _port(), timeout_s=2), _msg())
    assert not e.value.permanent


def test_backoff_doubles_up_to_a_cap():
    assert [smtp.backoff_seconds(n) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
    assert smtp.backoff_seconds(20) == 1800.0
