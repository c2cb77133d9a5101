"""The SIP2 TCP server: one asyncio task per connection, CR-terminated messages.

A connection can hold up nobody but itself: reads are non-blocking with a deadline (a
message must be complete `sip2_read_timeout_seconds` after its first byte; a connection
with nothing to say is closed after `sip2_idle_timeout_seconds`), messages longer than
`sip2_max_message_bytes` close the connection, argon2 runs off the event loop, and
database work is bounded by `sip2_max_concurrent_requests`.

Unreadable input is answered with 96 (request SC resend), which is what SIP2 sends for
a message the ACS could not take in; a client that keeps sending it is disconnected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable

from app.db import Database
from app.observability import metrics
from app.settings import Settings
from app.sip2.messages import MessageHandler, SipSession
from app.sip2.protocol import ChecksumMismatch, MalformedMessage, format_response, parse

logger = logging.getLogger("netzone.sip2")

READ_CHUNK = 4096
# Consecutive unreadable messages after which a connection is closed.
MAX_MALFORMED = 10

# The commands counted by name in the metrics (any other code is `other`).
COMMAND_NAMES = {
    "93": "login",
    "99": "sc_status",
    "23": "patron_status",
    "63": "patron_information",
    "35": "end_patron_session",
    "97": "resend",
}


def resend_request(error_detection: bool) -> bytes:
    """96: the ACS could not read the last message. Never a sequence number (SIP2 2.00)."""
    return format_response("96", [], [], codec="ascii", error_detection=error_detection)


class SipServer:
    """Serves SIP2 from a Database (the tests pass one bound to their transaction)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        max_concurrent_requests: int | None = None,
    ) -> None:
        self.settings = settings
        self.handler = MessageHandler(database, settings)
        self._gate = asyncio.Semaphore(
            max_concurrent_requests or settings.sip2_max_concurrent_requests
        )
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._per_address: Counter[str] = Counter()

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if len(self._connections) >= self.settings.sip2_max_connections:
            logger.warning("sip2 %s: refused, %d connections open", address, self.connections)
            metrics.SIP2_CONNECTIONS.labels("refused").inc()
            await _close(writer)
            return
        if self._per_address[address] >= self.settings.sip2_max_connections_per_address:
            logger.warning("sip2 %s: refused, its connection limit is reached", address)
            metrics.SIP2_CONNECTIONS.labels("refused").inc()
            await _close(writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._per_address[address] += 1
        metrics.SIP2_CONNECTIONS.labels("accepted").inc()
        metrics.SIP2_SESSIONS.inc()
        session = SipSession(address=address)
        try:
            await self._converse(reader, writer, session)
        except asyncio.CancelledError:
            pass
        except (ConnectionError, TimeoutError) as error:
            logger.info("sip2 %s: connection ended: %s", address, error)
        except Exception:
            # Fail closed: the client sees the connection end, the log has the cause.
            logger.exception("sip2 %s: unexpected error; connection closed", address)
        finally:
            metrics.SIP2_SESSIONS.dec()
            self._connections.discard(task)
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]
            self.handler.sessions.discard(session)
            await _close(writer)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: SipSession
    ) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        buffer = bytearray()
        deadline: float | None = None  # by when the message being received must be complete
        login_deadline = loop.time() + settings.sip2_login_timeout_seconds
        malformed = 0
        while True:
            while (end := _line_end(buffer)) != -1:
                # A message ends with CR, CR LF or LF alone: the LF after a CR is the empty
                # line skipped below.
                raw = bytes(buffer[:end])
                del buffer[: end + 1]
                deadline = None
                if not raw:
                    continue
                if len(raw) > settings.sip2_max_message_bytes:
                    logger.info("sip2 %s: message over the size limit", session.address)
                    return
                reply, readable = await self._answer(session, raw)
                malformed = 0 if readable else malformed + 1
                if reply is not None:
                    writer.write(reply)
                    await asyncio.wait_for(writer.drain(), settings.sip2_read_timeout_seconds)
                if session.close_after_reply or malformed >= MAX_MALFORMED:
                    return
            if len(buffer) > settings.sip2_max_message_bytes:
                logger.info("sip2 %s: message over the size limit", session.address)
                return
            if buffer.strip(b"\n"):
                if deadline is None:
                    deadline = loop.time() + settings.sip2_read_timeout_seconds
                timeout = max(0.0, deadline - loop.time())
                reason = "message not completed in time"
            else:
                timeout = settings.sip2_idle_timeout_seconds
                reason = "idle"
            if session.account is None:
                # A connection must log in soon after it opens, or make room for others.
                login_left = max(0.0, login_deadline - loop.time())
                if login_left <= timeout:
                    timeout, reason = login_left, "no login in time"
            try:
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
            except TimeoutError:
                logger.info("sip2 %s: closed: %s", session.address, reason)
                return
            if not chunk:
                return  # the client went away (possibly mid-message)
            buffer += chunk

    async def _answer(self, session: SipSession, raw: bytes) -> tuple[bytes | None, bool]:
        """The reply to one message and whether it could be read."""
        try:
            request = parse(raw)
        except ChecksumMismatch:
            logger.info("sip2 %s: checksum mismatch; asked to resend", session.address)
            metrics.SIP2_MESSAGES.labels("unreadable").inc()
            return resend_request(True), False
        except MalformedMessage as error:
            logger.info("sip2 %s: unreadable message (%s); asked to resend", session.address, error)
            metrics.SIP2_MESSAGES.labels("unreadable").inc()
            return resend_request(b"AZ" in raw), False
        command = COMMAND_NAMES.get(request.code, metrics.OTHER)
        metrics.SIP2_MESSAGES.labels(command).inc()
        started = time.perf_counter()
        try:
            async with self._gate:
                return await self.handler.handle(session, request), True
        finally:
            metrics.SIP2_DURATION.labels(command).observe(time.perf_counter() - started)


def _line_end(buffer: bytearray) -> int:
    """Where the first message in the buffer ends (its CR or LF), or -1."""
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i != -1]
    return min(ends) if ends else -1


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1)
    except (ConnectionError, TimeoutError, OSError):
        pass


async def run(
    database: Database,
    settings: Settings,
    host: str,
    port: int,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve until cancelled (the `netzone sip2` command)."""
    server = SipServer(database, settings)
    await server.start(host, port)
    if on_ready is not None:
        on_ready(server.port)
    try:
        await server.serve_forever()
    finally:
        await server.close()
