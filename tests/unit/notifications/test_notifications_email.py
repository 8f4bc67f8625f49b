"""Email to a real aiosmtpd server on 127.0.0.1, in the recipient's language."""

import datetime as dt
import socket
import ssl

import pytest
from aiosmtpd.smtp import AuthResult
from notification_builders import NOW, event, status_payload
from notification_servers import Inbox

from services.notifications.adapters.smtp import SmtpSender, SmtpSettings
from services.notifications.domain.message import REFERRAL_STATUS_CHANGED, message_for
from services.notifications.domain.rendering import Renderer


def spanish_status_email():
    message = message_for(event("referral.status_changed",
                                status_payload(to_status="on-hold", reason_code="stated")),
                          REFERRAL_STATUS_CHANGED)
    return Renderer("https://network.example").email(message, "es", "America/New_York")


def test_email_arrives_in_the_recipients_language(smtp_server):
    inbox = Inbox()
    server = smtp_server(inbox)
    sender = SmtpSender(SmtpSettings("127.0.0.1", server.port, starttls=False,
                                     sender="avisos@network.example"))

    outcome = sender.send("intake@peers.example", spanish_status_email(), "ev-1")

    assert outcome.ok, outcome.detail
    [mail] = inbox.mails
    assert mail["Subject"] == "La derivación rf-1 está ahora en pausa"
    assert mail["To"] == "intake@peers.example"
    assert mail["Content-Language"] == "es"
    assert mail["X-Notification-Id"] == "ev-1"
    body = mail.get_content()
    assert "pasó de aceptada a en pausa" in body
    assert "https://network.example/v1/referrals/rf-1" in body


def test_login_with_the_configured_user_and_password(smtp_server):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    inbox = Inbox()
    server = smtp_server(inbox, authenticator=authenticator, auth_require_tls=False)
    good = SmtpSettings("127.0.0.1", server.port, starttls=False, username="relay",
                        password="s3cret")
    assert SmtpSender(good).send("a@peers.example", spanish_status_email(), "ev-1").ok
    assert seen == [(b"relay", b"s3cret")] and len(inbox.mails) == 1

    bad = SmtpSettings("127.0.0.1", server.port, starttls=False, username="relay",
                       password="wrong-password")
    outcome = SmtpSender(bad).send("a@peers.example", spanish_status_email(), "ev-2")
    assert not outcome.ok and not outcome.retryable
    assert "wrong-password" not in outcome.detail and "relay" not in outcome.detail


def self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_upgrades_before_sending(smtp_server, tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    server = smtp_server(inbox, tls_context=server_tls, require_starttls=True)
    client_tls = ssl.create_default_context(cafile=str(cert_file))
    client_tls.check_hostname = False  # the certificate names localhost, we dial 127.0.0.1

    plain = SmtpSettings("127.0.0.1", server.port, starttls=False)
    assert not SmtpSender(plain).send("a@peers.example", spanish_status_email(), "ev-1").ok
    secure = SmtpSettings("127.0.0.1", server.port, starttls=True, ssl_context=client_tls)
    assert SmtpSender(secure).send("a@peers.example", spanish_status_email(), "ev-1").ok
    assert len(inbox.mails) == 1


@pytest.mark.parametrize("reply, retryable", [("550 5.1.1 <a@peers.example> unknown", False),
                                              ("451 4.3.0 try again later", True)])
def test_refused_recipient_outcome_keeps_the_code_not_the_address(smtp_server, reply, retryable):
    server = smtp_server(Inbox(rcpt_reply=reply))
    sender = SmtpSender(SmtpSettings("127.0.0.1", server.port, starttls=False))
    outcome = sender.send("a@peers.example", spanish_status_email(), "ev-1")
    assert not outcome.ok and outcome.retryable is retryable
    assert reply[:3] in outcome.detail and "peers.example" not in outcome.detail


def test_unreachable_smtp_server_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connection refused
        sender = SmtpSender(SmtpSettings("127.0.0.1", port, starttls=False, timeout=1))
        outcome = sender.send("a@peers.example", spanish_status_email(), "ev-1")
    assert not outcome.ok and outcome.retryable
