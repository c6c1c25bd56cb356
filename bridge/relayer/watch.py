"""The equivocation duty alone, run inside another process: a validator node submits evidence itself.

A validator's `[validator] evidence = "watch.toml"` names a relayer file with `evidence_only = true`
(its own data directory and child-chain account, which pays for freezeWithHeader): the node then
runs this relayer in a thread beside its API. It reads both chains as a relayer does; when the
receiver accepted a header the rootchain does not give, it has the validators (this one included)
sign the canonical header at that number, proves it and freezes the receiver; it relays nothing
else (docs/PROTOCOL.md section 9).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Final

from ..config import ConfigError
from .cli import read_account, store_identity
from .metrics import RelayerMetrics
from .service import Relayer
from .settings import load_relayer_config
from .store import DB_NAME, RelayerStore, lock_data_dir

STOP_SECONDS: Final = 30.0  # a step in flight (a proof, a receipt) is given this long to end

log = logging.getLogger("zkstatesync.watch")


class EvidenceWatcher:
    """An evidence-only relayer in a daemon thread: start() after the node is up, stop() on the way out."""

    def __init__(self, config_path: Path) -> None:
        self.config = load_relayer_config(config_path)
        if not self.config.node.evidence_only:
            raise ConfigError(f"{config_path}: an evidence watcher's [relayer] needs evidence_only = true")
        self.account = read_account(self.config)
        self.stopping = threading.Event()
        self.metrics = RelayerMetrics()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        node = self.config.node
        lock = lock_data_dir(node.data_dir)
        try:
            store = RelayerStore(node.data_dir / DB_NAME, store_identity(self.config))
            try:
                relayer = Relayer(
                    self.config, account=self.account, store=store, metrics=self.metrics, stopping=self.stopping
                )
            except BaseException:
                store.close()
                raise
        except BaseException:
            lock.release()
            raise
        self.relayer = relayer

        def run() -> None:
            try:
                relayer.run()
            except Exception:  # a configuration the chains refuse: logged; the validator goes on signing
                log.exception("watch.stopped_by_error", extra={"fields": {}})
            finally:
                store.close()
                lock.release()

        self._thread = threading.Thread(target=run, name="evidence-watcher", daemon=True)
        self._thread.start()
        log.info("watch.started", extra={"fields": {"account": self.account.address, "data_dir": str(node.data_dir)}})

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
