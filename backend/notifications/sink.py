"""A local SMTP server for the demo (`yunjian mailsink`): keeps every message it receives
as an .eml file and prints one line per message, so people trying the system can read the
alert e-mails leaders would get. Production points the SMTP settings at a real server."""

from __future__ import annotations

import email
import email.policy
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        data: bytes = envelope.original_content or envelope.content
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:05d}.eml"
        path.write_bytes(data)
        msg = email.message_from_bytes(data, policy=email.policy.default)
        print(f"[mailsink] to {', '.join(envelope.rcpt_tos)}: {msg['subject']}  ({path.name})", flush=True)
        return "250 OK"


def serve(host: str, port: int, folder: Path) -> None:
    """Run until SIGINT/SIGTERM."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    print(f"[mailsink] SMTP on {host}:{port}, messages kept in {folder}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
