"""The validator's HTTP API (aiohttp): GET /status, POST /sign, GET /metrics; in the aggregate
quorum mode POST /nonces and POST /partial, its two signing rounds (docs/PROTOCOL.md section 10).

Every answer is JSON except /metrics (Prometheus text). A refusal is a 4xx (or 503 when the
validator's own nodes cannot answer) with {"error": {"code": ..., "message": ...}}, whatever
went wrong, including unknown paths and methods; an unexpected exception is logged and
answered 500, never a dead process. Bodies are read up to MAX_BODY_BYTES (a larger one is
drained up to DRAIN_LIMIT so the client reads the 413, then the connection is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from aiohttp import web

from .checks import RefusalCode, SigningRefused, http_status
from .service import ValidatorService
from .wire import (
    MAX_BODY_BYTES,
    MAX_ROUND_TWO_BYTES,
    MalformedRequest,
    encode_error,
    encode_nonce_response,
    encode_partial_response,
    encode_sign_response,
    parse_partial_request,
    parse_sign_request,
)

DRAIN_LIMIT: Final = 2 * MAX_ROUND_TWO_BYTES
BODY_TIMEOUT: Final = 10.0
MAX_IN_FLIGHT: Final = 8  # sign requests being checked at once; more are refused with 429
SIGN_THREADS: Final = 4
SHUTDOWN_TIMEOUT: Final = 5.0

log = logging.getLogger("zkstatesync.validator.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICE: Final = web.AppKey("service", ValidatorService)
EXECUTOR: Final = web.AppKey("executor", ThreadPoolExecutor)

_HTTP_CODES: Final = {404: RefusalCode.NOT_FOUND, 405: RefusalCode.METHOD_NOT_ALLOWED, 413: RefusalCode.BODY_TOO_LARGE}


def refusal_response(code: RefusalCode, message: str) -> web.Response:
    return web.json_response(encode_error(code.value, message), status=http_status(code))


@web.middleware
async def answer_everything(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every outcome as JSON, every request logged once, every refusal counted."""
    service = request.app[SERVICE]
    started = time.monotonic()
    code: RefusalCode | None = None
    message = ""
    try:
        response = await handler(request)
    except SigningRefused as exc:
        code, message = exc.code, exc.message
    except web.HTTPException as exc:  # aiohttp's own: no route, wrong method
        code, message = _HTTP_CODES.get(exc.status, RefusalCode.MALFORMED_REQUEST), exc.reason
    except Exception:  # a bug: answer and keep serving
        log.exception("http.internal_error", extra={"fields": {"path": request.path[:200]}})
        code, message = RefusalCode.INTERNAL_ERROR, "internal error (logged)"
    if code is not None:
        response = refusal_response(code, message)
        service.note_refusal(code)
    log.info(
        "http.request",
        extra={
            "fields": {
                "method": request.method,
                "path": request.path[:200],
                "status": response.status,
                "code": None if code is None else code.value,
                "message": message[:300] or None,
                "ms": round((time.monotonic() - started) * 1000, 1),
            }
        },
    )
    return response


async def read_body(request: web.Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The body, at most `max_bytes`; SigningRefused(body_too_large) beyond, after draining what is reasonable."""
    if request.content_length is not None and request.content_length > DRAIN_LIMIT:
        raise SigningRefused(RefusalCode.BODY_TOO_LARGE, f"the body may have at most {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(BODY_TIMEOUT):
        while size <= DRAIN_LIMIT:
            chunk = await request.content.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size <= max_bytes:
                chunks.append(chunk)
    if size > max_bytes:
        raise SigningRefused(RefusalCode.BODY_TOO_LARGE, f"the body may have at most {max_bytes} bytes")
    return b"".join(chunks)


async def handle_status(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    status = await asyncio.get_running_loop().run_in_executor(request.app[EXECUTOR], service.status)
    return web.json_response(status)


async def handle_metrics(request: web.Request) -> web.Response:
    body, content_type = request.app[SERVICE].metrics.render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


CHECKPOINT_PATH: Final = "/sign-checkpoint"
NONCES_PATH: Final = "/nonces"
CHECKPOINT_NONCES_PATH: Final = "/nonces-checkpoint"
PARTIAL_PATH: Final = "/partial"
_CHECKPOINT_PATHS: Final = frozenset({CHECKPOINT_PATH, CHECKPOINT_NONCES_PATH})


class SignHandler:
    """Every signing path: a signature, round one's nonce or round two's partial signature."""

    def __init__(self) -> None:
        self.in_flight = 0

    async def __call__(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            raise SigningRefused(RefusalCode.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json")
        round_two = request.path == PARTIAL_PATH
        try:
            body = await read_body(request, MAX_ROUND_TWO_BYTES if round_two else MAX_BODY_BYTES)
        except TimeoutError as exc:
            raise SigningRefused(
                RefusalCode.MALFORMED_REQUEST, f"the body did not arrive within {BODY_TIMEOUT} s"
            ) from exc
        service = request.app[SERVICE]
        if round_two:  # before parsing: the other mode's slots would make a wrong 400
            service.require_mode(aggregate=True)
        try:
            if round_two:
                partial_request = parse_partial_request(body, service.slot_count())
            else:
                sign_request = parse_sign_request(body, checkpoint=request.path in _CHECKPOINT_PATHS)
        except MalformedRequest as exc:
            raise SigningRefused(RefusalCode.MALFORMED_REQUEST, str(exc)) from exc
        if self.in_flight >= MAX_IN_FLIGHT:
            raise SigningRefused(RefusalCode.BUSY, f"{MAX_IN_FLIGHT} requests are being checked; ask again")
        self.in_flight += 1
        try:
            loop, executor = asyncio.get_running_loop(), request.app[EXECUTOR]
            if round_two:
                partial = await loop.run_in_executor(executor, service.sign_round_two, partial_request)
                return web.json_response(encode_partial_response(partial))
            if request.path in (NONCES_PATH, CHECKPOINT_NONCES_PATH):
                nonce = await loop.run_in_executor(executor, service.commit_nonce, sign_request)
                return web.json_response(encode_nonce_response(nonce))
            response = await loop.run_in_executor(executor, service.sign, sign_request)
            return web.json_response(encode_sign_response(response))
        finally:
            self.in_flight -= 1


def build_app(service: ValidatorService, executor: ThreadPoolExecutor) -> web.Application:
    # client_max_size only bounds aiohttp's own readers; /sign reads its body itself (read_body).
    app = web.Application(middlewares=[answer_everything], client_max_size=MAX_BODY_BYTES)
    app[SERVICE] = service
    app[EXECUTOR] = executor
    app.router.add_get("/status", handle_status)
    app.router.add_get("/metrics", handle_metrics)
    # One handler for both paths: the bound on requests in flight is the validator's, not a path's.
    sign = SignHandler()
    for path in ("/sign", CHECKPOINT_PATH, NONCES_PATH, CHECKPOINT_NONCES_PATH, PARTIAL_PATH):
        app.router.add_post(path, sign)
    return app


async def serve(service: ValidatorService, host: str, port: int, poll_interval: float) -> None:
    """Serve until SIGTERM or SIGINT, polling the rootchain head meanwhile; then stop cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    executor = ThreadPoolExecutor(max_workers=SIGN_THREADS, thread_name_prefix="validator")
    runner = web.AppRunner(build_app(service, executor), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await site.start()
        log.info(
            "validator.listening",
            extra={
                "fields": {"name": service.identity.name, "host": host, "port": port, "url": f"http://{host}:{port}"}
            },
        )
        poller = asyncio.create_task(_poll(service, executor, poll_interval, stop))
        await stop.wait()
        log.info("validator.stopping", extra={"fields": {"name": service.identity.name}})
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
    finally:
        await runner.cleanup()
        executor.shutdown(wait=True, cancel_futures=True)


async def _poll(service: ValidatorService, executor: ThreadPoolExecutor, interval: float, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            await loop.run_in_executor(executor, service.poll)
        except Exception:  # the poller only observes: it must never stop the process
            log.exception("poll.failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
