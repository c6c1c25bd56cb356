"""The bridge explorer: each message's journey both ways, headers, checkpoints and validators, from
the chains' logs and the relayer's store, as server-rendered pages and a JSON API (docs in README)."""
