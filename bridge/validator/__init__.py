"""One validator of the bridge network: it signs a proposed header only after checking it against its own nodes.

`python -m bridge.validator run --config FILE` (or `zkstatesync validator --config FILE`) runs
it as a long-lived process with an HTTP API (server.py). The modules, in the order a request
meets them: wire.py parses the request strictly; checks.py decides from what rpc.py's nodes say
(rootchain.py); slashing.py records the signature before it leaves the process; service.py
ties them together with the key (bridge.keystore) and the metrics.
"""
