"""Run by test_notifications_webhook_tls.py in a fresh interpreter (the test process's eventlet
patches TLS in a way that breaks client contexts there): a real TLS receiver on 127.0.0.1 with a
certificate for hooks.example.org, and one pinned webhook send to the URL given as argument.
Prints {"ok", "retryable", "detail", "server_names"} as JSON."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notifications.adapters.pinned_http import Connector
from services.notifications.adapters.webhook import WebhookSender

NAME = "hooks.example.org"


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` (its own authority) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def loopback_for_every_name(host, port, family=0, type=0, proto=0, flags=0):
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]


def main(url_host: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = self_signed(Path(directory), NAME)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server_names: list[str | None] = []
        context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            sender = WebhookSender(timeout=5.0, connector=Connector(allow_private_hosts=True,
                                                                    resolve=loopback_for_every_name))
            sender.session.verify = str(cert_file)
            url = f"https://{url_host}:{server.server_address[1]}/in"
            outcome = sender.send(url, "whsec_s", b"{}", "ev-1")
        finally:
            server.shutdown()
            server.server_close()
    return {"ok": outcome.ok, "retryable": outcome.retryable, "detail": outcome.detail,
            "server_names": server_names}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
