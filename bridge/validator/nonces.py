"""The aggregate mode's round-one nonces, by session, in this process's memory only.

A nonce is drawn only after the proposal passed every check and was recorded (the slashing
database decides what may be signed); round two takes it out once, whatever then happens, so it
can never sign twice. Nothing is written to disk: a restarted validator has no sessions, and the
relayer's round two is answered `unknown_session`, which costs it one retry of round one, never
a key. Sessions are bounded in number and age, so an unfinished round holds no memory for long.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from statesync.aggregate import NonceCommitment, SecretNonce, generate_nonce
from statesync.errors import ZkStateSyncError
from statesync.model import Signed

MAX_SESSIONS: Final = 4096
SESSION_TTL: Final = 300.0  # seconds from round one to round two


class UnknownSession(ZkStateSyncError):
    """No open session has this id: never opened, already used, expired, or opened before a restart."""


@dataclass(frozen=True)
class OpenSession:
    nonce: SecretNonce  # consumed by the partial signature; refuses copy and pickle
    proposal: Signed
    signing_message: int
    header_hash: int


class NonceBook:
    def __init__(
        self, capacity: int = MAX_SESSIONS, ttl: float = SESSION_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, tuple[float, OpenSession]] = OrderedDict()

    def open(self, proposal: Signed, signing_message: int, header_hash: int) -> tuple[str, NonceCommitment]:
        """A fresh nonce for a checked and recorded proposal; its session id and public commitment."""
        nonce = generate_nonce()
        session_id = secrets.token_hex(16)
        entry = OpenSession(nonce, proposal, signing_message, header_hash)
        with self._lock:
            self._expire()
            while len(self._sessions) >= self.capacity:
                self._sessions.popitem(last=False)  # the oldest round that never came back
            self._sessions[session_id] = (self.clock(), entry)
        return session_id, nonce.commitment

    def take(self, session_id: str) -> OpenSession:
        """The session, removed: a second take of the same id is UnknownSession."""
        with self._lock:
            self._expire()
            found = self._sessions.pop(session_id, None)
        if found is None:
            raise UnknownSession(
                f"no open session {session_id}: unknown, used, older than {self.ttl:g} s, or from before a restart; "
                "start again from round one"
            )
        return found[1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _expire(self) -> None:
        cutoff = self.clock() - self.ttl
        while self._sessions:
            opened, _ = next(iter(self._sessions.values()))
            if opened >= cutoff:
                break
            self._sessions.popitem(last=False)
