"""The relayer: moves StateSync events from the rootchain to the child chain's ZkStateReceiver.

`zkstatesync relay --config FILE` (or `python -m bridge.relayer run --config FILE`). The modules,
in the order one step meets them: chain.py reads both chains into a ChainView (over rpc.py's
failover JSON-RPC); plan.py decides the next action from it alone; signing.py collects a
quorum of validator signatures; proving.py proves with a warm prover, bounded in time;
submit.py signs, records and sends the transaction; store.py keeps all of it in SQLite;
service.py is the loop that ties them together and reconciles the store with the receiver;
metrics.py serves /metrics and /status; settings.py reads the `[relayer]` section.
"""
