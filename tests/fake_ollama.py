"""A fake Ollama: a real HTTP server that answers the way Ollama does.

Tests talk to it through the real ``ollama`` client, so everything between the
analyzer and the socket runs as in production. The server answers
``POST /api/chat`` (non-streaming), ``GET /api/tags``, ``POST /api/show`` and
``GET /api/version``. Chat replies are scripted in order; every request is
recorded so that a test can check what was asked.
"""

import contextlib
import datetime
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class ScriptedReply:
    content: str = ""
    # An error status makes the server answer {"error": message} instead.
    status: int = 200
    message: str = ""
    # Seconds to wait before answering, to make the client time out.
    delay: float = 0.0
    done_reason: str = "stop"


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    body: Any


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = ("mistral:latest",)) -> None:
        self.models = set(models)
        self.replies: deque[ScriptedReply] = deque()
        self.received: list[ReceivedRequest] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll keeps shutdown, and so each test's teardown, quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-ollama",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # Wake handlers that are waiting out a delay, so shutdown is quick.
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reply(
        self, content: str, *, delay: float = 0.0, done_reason: str = "stop"
    ) -> None:
        """Queue the content of the next chat answer."""
        self.replies.append(
            ScriptedReply(content=content, delay=delay, done_reason=done_reason)
        )

    def reply_json(self, analysis: dict[str, Any], **options: Any) -> None:
        self.reply(json.dumps(analysis), **options)

    def fail(self, status: int, message: str) -> None:
        """Queue an error answer to the next chat request."""
        self.replies.append(ScriptedReply(status=status, message=message))

    @property
    def chats(self) -> list[dict[str, Any]]:
        """The bodies of the chat requests received, in order."""
        return [r.body for r in self.received if r.path == "/api/chat"]

    def installed(self, model: str) -> bool:
        name = model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"
        return name in self.models

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any, float]:
        """The status and body to send for a request, and how long to wait."""
        self.received.append(ReceivedRequest(method, path, body))
        if (method, path) == ("POST", "/api/chat"):
            return self._chat(body)
        if (method, path) == ("GET", "/api/tags"):
            return 200, {"models": [_model_entry(name) for name in self.models]}, 0
        if (method, path) == ("POST", "/api/show"):
            return self._show(body)
        if (method, path) == ("GET", "/api/version"):
            return 200, {"version": "0.6.8"}, 0
        return 404, "404 page not found", 0

    def _chat(self, body: Any) -> tuple[int, Any, float]:
        model = body.get("model", "")
        if not self.installed(model):
            return 404, {"error": f'model "{model}" not found, try pulling it first'}, 0
        if body.get("stream", True):
            return 400, {"error": "the fake answers only non-streaming chats"}, 0
        if not self.replies:
            return 500, {"error": "the fake has no scripted reply left"}, 0

        scripted = self.replies.popleft()
        if scripted.status != 200:
            return scripted.status, {"error": scripted.message}, scripted.delay
        return (
            200,
            {
                "model": model,
                "created_at": _now(),
                "message": {"role": "assistant", "content": scripted.content},
                "done": True,
                "done_reason": scripted.done_reason,
                "total_duration": 1_200_000_000,
                "load_duration": 50_000_000,
                "prompt_eval_count": 900,
                "prompt_eval_duration": 400_000_000,
                "eval_count": 150,
                "eval_duration": 750_000_000,
            },
            scripted.delay,
        )

    def _show(self, body: Any) -> tuple[int, Any, float]:
        model = body.get("model", "")
        if not self.installed(model):
            return 404, {"error": f"model '{model}' not found"}, 0
        return (
            200,
            {
                "modelfile": "",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": _details(),
                "model_info": {},
                "capabilities": ["completion"],
                "modified_at": _now(),
            },
            0,
        )

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _details() -> dict[str, Any]:
    return {
        "format": "gguf",
        "family": "llama",
        "parameter_size": "7.2B",
        "quantization_level": "Q4_0",
    }


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": _now(),
        "size": 4_113_301_824,
        "digest": "0" * 64,
        "details": _details(),
    }


def _handler_for(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._respond(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                self._send(400, {"error": "invalid JSON in the request"})
                return
            self._respond(body)

        def _respond(self, body: Any) -> None:
            status, payload, delay = fake.answer(self.command, self.path, body)
            if delay:
                fake.wait(delay)
            # A client that gave up waiting has closed the connection.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(status, payload)

        def _send(self, status: int, payload: Any) -> None:
            if isinstance(payload, str):
                data, kind = payload.encode(), "text/plain; charset=utf-8"
            else:
                data, kind = json.dumps(payload).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def closed_port_url() -> str:
    """The address of a local port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    server.start()
    yield server
    server.stop()
