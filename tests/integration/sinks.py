"""Local stand-ins for the outside world, started by tests: an HTTP webhook receiver and an SMTP
sink. Both run in threads on 127.0.0.1 with an OS-chosen port and keep what they received."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from escalation.channels import signature_is_valid


class WebhookReceiver:
    """Records every POST. Like a careful real receiver, it treats requests with an
    X-Webhook-Id it has already seen as duplicates (`unique_ids`).

    `status`: the HTTP status it answers. `block_first`: the first request waits (unanswered)
    until `release` is set, so a test can kill the sender mid-send."""

    def __init__(self, *, secret: str = "", status: int = 200, block_first: bool = False):
        self.secret = secret
        self.status = status
        self.block_first = block_first
        self.requests: list[dict] = []
        self.first_request = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                record = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "raw": raw,
                    "json": json.loads(raw or b"null"),
                }
                with receiver._lock:
                    receiver.requests.append(record)
                    is_first = len(receiver.requests) == 1
                receiver.first_request.set()
                if receiver.block_first and is_first:
                    receiver.release.wait(timeout=60)
                    return  # never answered: the sender was killed meanwhile
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def ids(self) -> list[str]:
        with self._lock:
            return [r["headers"].get("x-webhook-id") for r in self.requests]

    def unique_ids(self) -> set[str]:
        return set(self.ids())

    def signature_ok(self, record: dict) -> bool:
        headers = record["headers"]
        return signature_is_valid(self.secret, record["raw"],
                                  headers.get("x-webhook-signature", ""),
                                  headers.get("x-webhook-timestamp", ""))


class SmtpSink:
    """Just enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to accept mail."""

    def __init__(self):
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

            def handle(self):
                self.reply("220 sink ESMTP ready")
                in_data, lines = False, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    if in_data:
                        if line.rstrip(b"\r\n") == b".":
                            with sink._lock:
                                sink.messages.append(email.message_from_bytes(b"".join(lines)))
                            in_data, lines = False, []
                            self.reply("250 OK: queued")
                        else:
                            lines.append(line[1:] if line.startswith(b"..") else line)
                        continue
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.reply("250-sink")
                        self.reply("250 8BITMIME")
                    elif verb in {b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"}:
                        self.reply("250 OK")
                    elif verb == b"DATA":
                        in_data = True
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                    elif verb == b"QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> SmtpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m["Message-ID"] for m in self.messages]
