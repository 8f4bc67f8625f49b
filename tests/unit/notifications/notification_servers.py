"""Real local SMTP servers for the notifications tests (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps what it receives; can refuse recipients."""

    def __init__(self, rcpt_reply: str = "250 OK") -> None:
        self.mails: list = []
        self.rcpt_reply = rcpt_reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


class LocalController(Controller):
    """aiosmtpd's Controller on an ephemeral port: bind first, then report the port."""

    def _create_server(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        return self.loop.create_server(self._factory_invoker, sock=sock, ssl=self.ssl_context)
