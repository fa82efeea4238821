"""Outgoing mail. The default "sends" by logging, which is what a single-user local
server needs; a deployment passes its own Mailer to create_app."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("cloud.mail")


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    async def send(self, to: str, subject: str, body: str) -> None:
        log.info("mail", extra={"to": to, "subject": subject, "body": body})
