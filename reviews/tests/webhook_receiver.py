"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread of the
test process, answering as scripted and keeping every request it got."""

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    # What the receiver answered: an HTTP status, or None when it hung up without one.
    answered: int | None = None

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ReceivedRequest(path=self.path, headers=dict(self.headers.items()), body=body)
        behaviour = receiver.next_behaviour()
        with receiver.lock:
            receiver.requests.append(request)
        if behaviour == "close":
            self.close_connection = True  # hang up: the sender gets no answer at all
            return
        if behaviour.startswith("sleep:"):
            time.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = "200"
        status = int(behaviour)
        answer = b'{"received": true}' if status < 300 else b"patient text the receiver echoed back"
        try:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            self.wfile.flush()
        except OSError:  # the sender is gone (killed, or gave up waiting): no answer reached it
            self.close_connection = True
            return
        request.answered = status

    def log_message(self, format: str, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: "Receiver"


class Receiver:
    """Answers the first requests as `script` says ("500", "302", "close", "sleep:<seconds>"),
    then "200" to every request."""

    def __init__(self, script: list[str] | None = None):
        self.script = deque(script or [])
        self.requests: list[ReceivedRequest] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.receiver = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/portal"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else "200"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[ReceivedRequest]:
        """Requests answered with a 2xx: what a receiver has processed."""
        with self.lock:
            return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def accepted_event_ids(self) -> list[str]:
        return [r.event["id"] for r in self.accepted()]


def documented_verifier():
    """`verify_signature` as docs/webhooks.md shows it to receivers: the doc's first Python
    block, run as it stands, so the doc cannot drift from what the portal sends."""
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert block, "docs/webhooks.md has no ```python block"
    namespace: dict = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)
    return namespace["verify_signature"]
