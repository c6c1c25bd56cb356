"""The explorer on the running devnet, through its JSON API and in Debian's headless Chromium.

Four messages make their way: a deposit that is executed, a deposit above the token bucket's
capacity (executed, its value queued), a StateSync from an unknown sender that the child token
refuses (failed, retryable), and a withdrawal that is checkpointed and exited on the rootchain.
The browser follows the deposit to "executed" on the index page, opens its page, checks that its
steps link the rootchain's and the child chain's transactions, follows a link to the
transaction's receipt, and writes screenshots under build/explorer/ for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode

from bridge.chain.deploy import call, transact
from bridge.devnet import Devnet, DevnetOptions, open_devnet

from .conftest import ready_exit, wait_for

pytestmark = pytest.mark.anvil

ETHER = 10**18
CAPACITY = 3 * ETHER  # the bucket: 1 ether passes, 5 ether waits in the large-transfer lane
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "explorer"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    directory: Path = tmp_path_factory.mktemp("explorer") / "devnet"
    options = DevnetOptions(directory=directory, deposits=0, confirmations=2, bucket=(CAPACITY, 1))
    with open_devnet(options) as running:
        yield running


@pytest.fixture(scope="module")
def messages(devnet: Devnet) -> dict[str, int]:
    """The four messages, sent once for the module: their ids."""
    root, child = devnet.root, devnet.child
    user = root.accounts[1]
    small, _ = devnet.deposit(ETHER)
    large, _ = devnet.deposit(5 * ETHER)
    # Anyone may send a StateSync; the child token refuses one that is not from the RootBridge.
    stranger = root.accounts[5]
    transact(
        root,
        devnet.deployment.root.sender,
        "syncState",
        devnet.deployment.child.token.address,
        encode(["address", "uint256"], [stranger, ETHER]),
        sender=stranger,
    )
    refused = int(call(root, devnet.deployment.root.sender, "counter"))
    token = devnet.deployment.child.token
    wait_for("the small deposit", lambda: True if call(child, token, "balanceOf", user) == ETHER else None)
    exit_id, _ = devnet.withdraw(user, ETHER // 10)
    wait_for("a checkpoint covering the withdrawal", lambda: ready_exit(devnet.deployment.config, exit_id))
    devnet.execute_exit(exit_id)
    return {"small": small, "large": large, "refused": refused, "exit": exit_id}


def get(devnet: Devnet, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(devnet.relayer_url + path, timeout=30) as answer:
            body = answer.read()
            status = answer.status
            kind = answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        body, status, kind = error.read(), error.code, error.headers.get("Content-Type", "")
    return status, json.loads(body) if kind.startswith("application/json") else body.decode()


def message_in(devnet: Devnet, direction: str, message_id: int, state: str) -> dict[str, Any] | None:
    status, document = get(devnet, f"/api/v1/messages/{direction}/{message_id}")
    assert status == 200, document
    message: dict[str, Any] = document["message"]
    return message if message["state"] == state else None


def test_the_api_tells_each_message_where_it_is(devnet: Devnet, messages: dict[str, int]) -> None:
    executed = wait_for("the deposit executed", lambda: message_in(devnet, "statesync", messages["small"], "executed"))
    steps = {step["name"]: step for step in executed["steps"]}
    assert all(step["done"] for step in steps.values())
    assert steps["emitted"]["tx"]["chain"] == "rootchain" and steps["executed"]["tx"]["chain"] == "child"
    assert (
        steps["header signed"]["detail"].endswith("power (alice, bob, carol, dave)")
        or "of 10 power" in (steps["header signed"]["detail"])
    )
    # The relayer's own record of the same header: the explorer names the header the receiver accepted.
    status, header = get(devnet, f"/api/v1/headers/{executed['carrier']}")
    assert status == 200 and header["headers"][0]["status"] == "accepted"
    assert messages["small"] in header["headers"][0]["messages"]

    queued = wait_for("the large deposit queued", lambda: message_in(devnet, "statesync", messages["large"], "queued"))
    assert "wait in the token bucket" in queued["detail"]
    assert call(devnet.child, devnet.deployment.child.token, "queuedValue") == 5 * ETHER

    failed = wait_for(
        "the stranger's StateSync failed", lambda: message_in(devnet, "statesync", messages["refused"], "failed")
    )
    assert "ChildToken__UnknownSender" in failed["detail"] and "retry" in failed["detail"]

    exited = wait_for("the exit executed", lambda: message_in(devnet, "exit", messages["exit"], "executed"))
    exit_steps = {step["name"]: step for step in exited["steps"]}
    assert exit_steps["emitted"]["tx"]["chain"] == "child" and exit_steps["executed"]["tx"]["chain"] == "rootchain"
    assert exit_steps["checkpoint accepted"]["done"] and exited["carrier"] is not None

    # The receipt behind a link, as the chain gives it.
    tx = steps["executed"]["tx"]["tx_hash"]
    status, receipt = get(devnet, f"/api/v1/transactions/child/{tx}")
    assert status == 200 and receipt["receipt"]["status"] == "0x1"

    status, bridge = get(devnet, "/api/v1/bridge")
    assert status == 200 and bridge["frozen"] is False and bridge["power_online"] == bridge["power_total"] == 10
    assert bridge["queued_value"]["deposits"] == str(5 * ETHER)
    status, listed = get(devnet, "/api/v1/messages?state=failed&direction=statesync")
    assert status == 200 and [m["id"] for m in listed["messages"]] == [messages["refused"]]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/messages/statesync/999", 404, "unknown_message"),
        ("/api/v1/messages/exit/999", 404, "unknown_message"),
        ("/api/v1/headers/999999", 404, "unknown_header"),
        ("/api/v1/transactions/child/0x" + "00" * 32, 404, "unknown_transaction"),
        ("/api/v1/messages/sideways/1", 400, "bad_direction"),
        ("/api/v1/messages/statesync/-1", 400, "bad_number"),
        ("/api/v1/messages/statesync/99999999999999999999999", 400, "bad_number"),
        ("/api/v1/messages?limit=0", 400, "bad_limit"),
        ("/api/v1/messages?limit=many", 400, "bad_limit"),
        ("/api/v1/messages?state=lost", 400, "bad_state"),
        ("/api/v1/messages?colour=red", 400, "bad_query"),
        ("/api/v1/messages?limit=1&limit=2", 400, "bad_query"),
        ("/api/v1/bridge?x=1", 400, "bad_query"),
        ("/api/v1/transactions/moon/0x" + "00" * 32, 400, "bad_chain"),
        ("/api/v1/transactions/child/0x1234", 400, "bad_hash"),
        ("/api/v1/nothing", 404, "not_found"),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(devnet: Devnet, path: str, status: int, code: str) -> None:
    answer, document = get(devnet, path)
    assert answer == status and document["error"]["code"] == code and document["error"]["message"]


def test_a_foreign_host_name_cannot_read_the_loopback_explorer(devnet: Devnet) -> None:
    request = urllib.request.Request(devnet.relayer_url + "/api/v1/bridge", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403 and b"forbidden_host" in refused.value.read()


def test_a_page_that_does_not_exist_is_a_page_that_says_so(devnet: Devnet) -> None:
    status, page = get(devnet, "/explorer/messages/statesync/999")
    assert status == 404 and "StateSender logged no message 999" in page and "Traceback" not in page


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)",
)
def test_the_explorer_in_a_real_browser(devnet: Devnet, messages: dict[str, int]) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = Options()
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
    ):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    # The driver is Debian's, named here, so Selenium Manager never looks for one on the network.
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        browser.set_page_load_timeout(60)

        def state_on_index(row: str) -> str | None:
            browser.get(devnet.relayer_url + "/explorer")
            found = browser.find_elements(By.CSS_SELECTOR, f"#{row} [data-state]")
            return found[0].get_attribute("data-state") if found else None

        small = f"message-statesync-{messages['small']}"
        wait_for("the deposit shown executed", lambda: True if state_on_index(small) == "executed" else None, 120, 1)
        wait_for(
            "the exit shown executed",
            lambda: True if state_on_index(f"message-exit-{messages['exit']}") == "executed" else None,
            120,
            1,
        )
        assert state_on_index(f"message-statesync-{messages['large']}") == "queued"
        assert state_on_index(f"message-statesync-{messages['refused']}") == "failed"
        assert browser.title == "zkstatesync explorer"
        browser.save_screenshot(str(SCREENSHOTS / "index.png"))

        browser.find_element(By.CSS_SELECTOR, f"#{small} a").click()
        assert browser.title == f"state sync {messages['small']}"
        links = browser.find_elements(By.CSS_SELECTOR, "a.tx")
        chains = {link.get_attribute("data-chain") for link in links}
        assert chains == {"rootchain", "child"}
        emitted = browser.find_element(By.CSS_SELECTOR, "#step-emitted a.tx")
        assert emitted.get_attribute("data-chain") == "rootchain"
        executed = browser.find_element(By.CSS_SELECTOR, "#step-executed a.tx")
        assert executed.get_attribute("data-chain") == "child"
        browser.save_screenshot(str(SCREENSHOTS / "message.png"))

        tx_hash = executed.get_attribute("data-tx")
        executed.click()
        assert browser.title.startswith("transaction ")
        page = browser.find_element(By.TAG_NAME, "main").text
        assert tx_hash is not None and tx_hash in page and "succeeded" in page
        browser.save_screenshot(str(SCREENSHOTS / "transaction.png"))

        browser.get(devnet.relayer_url + f"/explorer/messages/exit/{messages['exit']}")
        exit_chains = [link.get_attribute("data-chain") for link in browser.find_elements(By.CSS_SELECTOR, "a.tx")]
        assert exit_chains[0] == "child" and exit_chains[-1] == "rootchain"
        browser.save_screenshot(str(SCREENSHOTS / "exit.png"))
    finally:
        browser.quit()
