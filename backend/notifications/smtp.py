"""Sending one e-mail over SMTP, with errors that say whether trying again can help.

Security: ``none`` (plain, for a local relay), ``starttls`` (upgrade on port 587) or ``tls``
(implicit TLS, port 465); authentication when a username is set. Temporary failures are
network errors, timeouts and 4xx replies; permanent ones are 5xx replies (a mailbox that
does not exist, a rejected sender, failed authentication).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout_s: float = 10.0
    ca_file: str = ""  # extra trusted CA (a private relay's certificate); empty: the system's


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def _context(cfg: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cfg.ca_file or None)


def send(cfg: SmtpConfig, msg: EmailMessage) -> None:
    """Deliver ``msg``; raises DeliveryError (temporary or permanent) on failure."""
    if cfg.security not in ("none", "starttls", "tls"):
        raise DeliveryError(f"unknown SMTP security {cfg.security!r}", permanent=True)
    try:
        client: smtplib.SMTP
        if cfg.security == "tls":
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=_context(cfg))
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        with client:
            client.ehlo()
            if cfg.security == "starttls":
                client.starttls(context=_context(cfg))
                client.ehlo()
            if cfg.username:
                client.login(cfg.username, cfg.password)
            refused = client.send_message(msg)
            if refused:
                codes = {code for code, _ in refused.values()}
                raise DeliveryError(f"recipients refused: {refused}", permanent=all(c >= 500 for c in codes))
    except DeliveryError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        raise DeliveryError(f"recipients refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused connection, timeout, TLS failure, disconnect
        raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from exc


def backoff_seconds(attempts: int, base: float = 30.0, cap: float = 1800.0) -> float:
    """Delay before retry number ``attempts`` (1-based): 30 s, 60 s, 120 s ... at most 30 min."""
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))
