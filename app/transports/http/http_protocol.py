"""uvicorn's HTTP protocol with a read deadline and a cap on header bytes, which uvicorn lacks, and JSON for the
errors it writes itself.

A client has READ_TIMEOUT_S from its first byte (or from connecting) to send a request's complete
headers and body. Past it the client gets a 408 when an answer is still possible, and the
connection is closed; a request that was waiting for its body sees the client as gone.

A request head (request line and headers) over MAX_HEADER_BYTES gets a 431 before the app runs: the
parser never holds more than that plus one read of the socket. The connection then stops sending and drops
what still arrives for up to a second before it closes, so a client still sending reads the 431, not a reset.
"""

import asyncio
from typing import Any, Literal, TypedDict

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.transports.http.errors import error_response

Phase = Literal["idle", "headers", "body"]
SWEEP_ATTRIBUTE = "read_deadline_sweep"
LINGER_S = 1.0
"""How long a connection refused with 431 drops what its client still sends before closing."""


class HeadTooLarge(Exception):
    """Raised from the parser's callback when a complete head is over MAX_HEADER_BYTES."""


class LifespanState(TypedDict):
    """What the app's lifespan hands the server's protocol (uvicorn passes it to every connection)."""

    read_timeout_s: float
    max_header_bytes: int


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """httptools protocol that cuts off a client too slow to send its request.

    Each connection only notes its deadline (no timer per request, which costs throughput); one sweep
    per server, every tenth of READ_TIMEOUT_S (at most a second), cuts off those past theirs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout_s: float = self.app_state["read_timeout_s"]
        self.max_header_bytes: int = self.app_state["max_header_bytes"]
        self._head_bytes = 0
        self._head_refused = False
        self.deadline: float | None = None
        self._phase: Phase = "idle"
        self._path = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.deadline = self.loop.time() + self.read_timeout_s
        _DeadlineSweep.ensure(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.deadline = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "headers"
        self.deadline = self.loop.time() + self.read_timeout_s

    def data_received(self, data: bytes) -> None:
        """Feed the parser; 431 and close once a request's head is over MAX_HEADER_BYTES."""
        if self._head_refused:
            return
        if self._phase == "body":
            super().data_received(data)
            return
        self._head_bytes += len(data)
        super().data_received(data)
        # A head completed in this read reset the count: one still over the cap is incomplete.
        if self._head_bytes > self.max_header_bytes and not self._head_refused and not self.transport.is_closing():
            self._write_431()

    def on_headers_complete(self) -> None:
        # Only when this read took the head's bytes past the cap: measure the head itself (the read may hold
        # some body too). Raising stops the parser before the app runs; send_400_response writes the 431.
        if self._head_bytes > self.max_header_bytes and self._head_size() > self.max_header_bytes:
            raise HeadTooLarge
        super().on_headers_complete()
        self._head_bytes = 0
        self._phase = "body"
        self._path = self.scope["path"]

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "idle"
        self.deadline = None

    def expire(self) -> None:
        """Cut off this connection: its client did not send its request in time."""
        self.deadline = None
        if self.transport.is_closing():
            return
        if self._phase == "headers":
            self._write_408("")
        elif self._phase == "body":
            cycle = self.cycle
            if not cycle.response_started:
                self._write_408(self._path)
            cycle.response_started = cycle.response_complete = cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes that are not HTTP (or to a head over the cap), as JSON like every other error."""
        if self._head_bytes > self.max_header_bytes:
            self._write_431()
            return
        self._write_error(400, b"Bad Request", "", msg)
        self.transport.close()

    def _write_431(self) -> None:
        """The 431, then no more sending; what the client still sends is dropped until the linger ends."""
        self.deadline = None
        self._head_refused = True
        message = f"the request's headers are larger than {self.max_header_bytes} bytes (MAX_HEADER_BYTES)"
        self._write_error(431, b"Request Header Fields Too Large", "", message)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

    def _write_408(self, path: str) -> None:
        late = f"the request was not received in full within {self.read_timeout_s:g} s (READ_TIMEOUT_S)"
        self._write_error(408, b"Request Timeout", path, late)

    def _write_error(self, status: int, reason: bytes, path: str, message: str) -> None:
        """A JSON error written straight to the socket, for answers the app never sees."""
        response = error_response({"path": path}, status, message)
        head = [b"HTTP/1.1 %d %s" % (status, reason)]
        head += [name + b": " + value for name, value in [*self.server_state.default_headers, *response.raw_headers]]
        head += [b"connection: close", b"", b""]
        self.transport.write(b"\r\n".join(head) + response.body)


class _DeadlineSweep:
    """Runs while a server has connections: expires every connection whose read deadline has passed."""

    def __init__(self, protocol: DeadlineHttpToolsProtocol) -> None:
        self.loop = protocol.loop
        self.state = protocol.server_state
        self.connections = self.state.connections
        self.interval = min(1.0, max(0.05, protocol.read_timeout_s / 10))

    @classmethod
    def ensure(cls, protocol: DeadlineHttpToolsProtocol) -> None:
        """Start the sweep of this protocol's server unless it is running."""
        state = protocol.server_state
        if getattr(state, SWEEP_ATTRIBUTE, None) is None:
            sweep = cls(protocol)
            setattr(state, SWEEP_ATTRIBUTE, sweep)
            sweep.loop.call_later(sweep.interval, sweep.run)

    def run(self) -> None:
        now = self.loop.time()
        for connection in list(self.connections):
            deadline = getattr(connection, "deadline", None)
            if deadline is not None and deadline <= now:
                connection.expire()  # type: ignore[union-attr]
        if self.connections:
            self.loop.call_later(self.interval, self.run)
        else:
            setattr(self.state, SWEEP_ATTRIBUTE, None)
