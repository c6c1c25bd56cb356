"""A client of the validator API (the relayer collects signatures with it; the tests attack with it)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from statesync.errors import ZkStateSyncError
from statesync.model import Checkpoint, Signed

from .wire import (
    MalformedRequest,
    NonceResponse,
    PartialRequest,
    SignResponse,
    encode_partial_request,
    encode_sign_request,
    parse_json_strictly,
    parse_nonce_response,
    parse_partial_response,
    parse_sign_response,
)

DEFAULT_TIMEOUT: Final = 60.0
T = TypeVar("T")


class ValidatorRefused(ZkStateSyncError):
    """The validator answered with an error: `status`, and its machine-readable `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"validator refused ({status} {code}): {message}")


class ValidatorUnreachable(ZkStateSyncError):
    """No HTTP answer (connection refused, timeout) or an answer that is not the API's."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


class ValidatorClient:
    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"a validator URL is http://host:port, got {url!r}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> HttpAnswer:
        """One HTTP exchange on a fresh connection; any status is returned, not raised."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return HttpAnswer(response.status, response.read(), response.getheader("Content-Type", ""))
        except (OSError, http.client.HTTPException) as exc:
            raise ValidatorUnreachable(f"{self.url}{path}: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()

    def post_json(self, path: str, body: bytes) -> HttpAnswer:
        return self.request("POST", path, body, {"Content-Type": "application/json"})

    def status(self) -> dict[str, Any]:
        answer = self.request("GET", "/status")
        if answer.status != 200:
            raise ValidatorUnreachable(f"{self.url}/status answered {answer.status}")
        document = answer.json()
        if not isinstance(document, dict):
            raise ValidatorUnreachable(f"{self.url}/status is not a JSON object")
        return document

    def sign(self, proposal: Signed, parent: Signed) -> SignResponse:
        """The validator's signature on `proposal` (a header or a checkpoint); ValidatorRefused otherwise."""
        path = "/sign-checkpoint" if isinstance(proposal, Checkpoint) else "/sign"
        return self._exchange(path, encode_sign_request(proposal, parent), parse_sign_response)

    def nonces(self, proposal: Signed, parent: Signed) -> NonceResponse:
        """Round one of the aggregate mode: the validator's nonce commitment for `proposal`."""
        path = "/nonces-checkpoint" if isinstance(proposal, Checkpoint) else "/nonces"
        return self._exchange(path, encode_sign_request(proposal, parent), parse_nonce_response)

    def partial(self, request: PartialRequest) -> int:
        """Round two: the validator's partial signature in its session, for these participants."""
        return self._exchange("/partial", encode_partial_request(request), parse_partial_response)

    def _exchange(self, path: str, body: bytes, parse: Callable[[bytes], T]) -> T:
        """POST `body`; a 200 parsed by `parse` (else ValidatorUnreachable), any other status the refusal."""
        answer = self.post_json(path, body)
        if answer.status != 200:
            raise decode_refusal(answer)
        try:
            return parse(answer.body)
        except MalformedRequest as exc:
            raise ValidatorUnreachable(f"{self.url}{path} answered 200 with {exc}") from exc


def decode_refusal(answer: HttpAnswer) -> ValidatorRefused | ValidatorUnreachable:
    try:
        error = parse_json_strictly(answer.body)["error"]
        return ValidatorRefused(answer.status, str(error["code"]), str(error["message"]))
    except (MalformedRequest, KeyError, TypeError):
        return ValidatorUnreachable(f"an answer {answer.status} without the API's error object")
