"""Inline completions over stdio: the real daemon, its model faked on the wire.

Each test opens a buffer and asks ``textDocument/inlineCompletion`` as an editor does; the
fake server records what the model was sent, so the tests assert both the suggestion the
editor gets and the prompt behind it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from protocol import errors as codes
from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.llm_server import LLMServer, Reply, Text

MAIN = (
    "from billing.tax import vat_rate\n\n\n"
    "def total(order):\n"
    "    rate = vat_rate(order.country)\n"
    "    return order.amount * (1 + rate)\n\n\n"
    "def invoice(order):\n"
    "    \n"
)
CURSOR = types.Position(line=9, character=4)  # in invoice's empty body


class Editor:
    """A daemon on a workspace, with the fake model, as one editor session."""

    def __init__(self, workspace: Path, tmp_path: Path, llm: LLMServer) -> None:
        self.workspace = workspace
        self.tmp_path = tmp_path
        self.llm = llm
        self.client: DaemonClient | None = None
        self.versions: dict[str, int] = {}

    async def start(self, model: str | None = "local", **env: str) -> DaemonClient:
        url = self.llm.url + "/v1"
        servers = {name: {"base_url": url} for name in ("ollama", "codestral", "deepseek")}
        values = {
            "DEPUTYDEV_PROVIDERS__SERVERS": json.dumps(servers),
            "DEPUTYDEV_PROVIDERS__OPENAI": json.dumps({"base_url": url}),
            "ANTHROPIC_BASE_URL": self.llm.url,
            "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "CODESTRAL_API_KEY": "cs-test-key",
            "DEEPSEEK_API_KEY": "ds-test-key",
            "DEPUTYDEV_INDEX__ENABLED": "false",
            **env,
        }
        if model is not None:
            values["DEPUTYDEV_COMPLETION__MODEL"] = model
        self.client = await start_daemon(
            self.workspace, stderr_path=self.tmp_path / "daemon.stderr", env=values
        )
        return self.client

    def uri(self, name: str) -> str:
        return (self.workspace / name).as_uri()

    def open(self, name: str, text: str) -> None:
        assert self.client is not None
        self.versions[name] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(self.uri(name), "python", 1, text)
            )
        )

    def type(self, name: str, at: types.Position, text: str) -> None:
        assert self.client is not None
        self.versions[name] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(self.versions[name], self.uri(name)),
                [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)],
            )
        )

    async def complete(
        self,
        name: str,
        at: types.Position,
        kind: types.InlineCompletionTriggerKind = types.InlineCompletionTriggerKind.Automatic,
    ) -> list[types.InlineCompletionItem]:
        assert self.client is not None
        result = await asyncio.wait_for(
            self.client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    context=types.InlineCompletionContext(trigger_kind=kind),
                    text_document=types.TextDocumentIdentifier(self.uri(name)),
                    position=at,
                )
            ),
            30,
        )
        if result is None:
            return []
        return list(result.items if isinstance(result, types.InlineCompletionList) else result)

    async def close(self) -> None:
        client = self.client
        if client is None or client.process is None:
            return
        if client.process.returncode is None:
            try:
                await client.stop_daemon()
            except Exception:
                await client.kill()
        else:
            await client.stop()


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def editor(workspace: Path, tmp_path: Path, llm: LLMServer) -> AsyncIterator[Editor]:
    session = Editor(workspace, tmp_path, llm)
    yield session
    await session.close()


def fim_bodies(llm: LLMServer) -> list[Any]:
    return llm.bodies("openai-completions")


async def test_the_capability_is_advertised_only_with_a_model(editor: Editor) -> None:
    client = await editor.start(model=None)
    assert client.initialize_result.capabilities.inline_completion_provider is None  # type: ignore[attr-defined]
    editor.open("main.py", MAIN)
    assert await editor.complete("main.py", CURSOR) == []

    await editor.close()
    client = await editor.start(model="local")
    assert client.initialize_result.capabilities.inline_completion_provider is not None  # type: ignore[attr-defined]


async def test_a_fim_model_fills_the_cursor_and_the_block_ends_at_the_dedent(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(
        Reply(
            [Text("due = total(order)\n"), Text("    return due\n\n"), Text("def refund(order):")],
            usage={"input": 120, "output": 14},
        )
    )
    await editor.start()
    editor.open("main.py", MAIN)

    [item] = await editor.complete("main.py", CURSOR)

    assert item.insert_text == "    due = total(order)\n    return due"
    assert item.range == types.Range(types.Position(9, 0), CURSOR)  # the cursor's line
    [body] = fim_bodies(llm)
    assert body["prompt"].endswith("def invoice(order):\n    ")
    assert body["prompt"].startswith("# Path: main.py\n")
    assert body["suffix"] == "\n"
    assert body["model"] == "qwen2.5-coder:7b"


async def test_the_rest_of_the_line_is_replaced_with_the_completion_before_it(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(Reply([Text("order.amount)")]))
    await editor.start()
    editor.open("main.py", "x = round()\n")

    at = types.Position(0, 10)
    [item] = await editor.complete("main.py", at)

    # The model repeated the ")" already there: it is taken off, and the item rewrites
    # the whole line so that an editor showing it as an overlay shows the line it makes.
    assert item.insert_text == "x = round(order.amount)"
    assert item.range == types.Range(types.Position(0, 0), types.Position(0, 11))


async def test_a_new_request_supersedes_the_running_one_and_closes_its_stream(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(
        Reply([Text("due = ")], stall_after=1),  # the first answer hangs after one chunk
        Reply([Text("eturn total(order)")]),
    )
    await editor.start()
    editor.open("main.py", MAIN)

    first = asyncio.ensure_future(editor.complete("main.py", CURSOR))
    await llm.wait_requests(1)
    editor.type("main.py", CURSOR, "r")
    second = await editor.complete("main.py", types.Position(9, 5))

    assert await first == []  # superseded: answered at once, with nothing
    assert await llm.wait_disconnects(1) == 1  # and its model stream was closed
    assert [i.insert_text for i in second] == ["    return total(order)"]


async def test_typing_through_a_suggestion_costs_no_model_call(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(Reply([Text("return total(order) * 2")]))
    client = await editor.start()
    editor.open("main.py", MAIN)
    [item] = await editor.complete("main.py", CURSOR)
    assert item.insert_text == "    return total(order) * 2"

    typed = "return "
    for n, char in enumerate(typed):
        editor.type("main.py", types.Position(9, 4 + n), char)
        [item] = await editor.complete("main.py", types.Position(9, 5 + n))
        assert item.insert_text == "    return total(order) * 2"  # the same line, from cache
        assert item.range is not None and item.range.end == types.Position(9, 5 + n)

    assert len(fim_bodies(llm)) == 1
    status = await client.request("deputydev/status")
    today = status["completion"]["today"]
    assert (today["requests"], today["cacheHits"], today["modelCalls"]) == (8, 7, 1)
    assert today["suggestions"] == 8
    [day] = status["completion"]["days"]
    assert day == {**today, "day": day["day"]} and len(day["day"]) == 10


async def test_definitions_come_from_the_index(
    workspace: Path, editor: Editor, llm: LLMServer
) -> None:
    (workspace / "billing").mkdir()
    (workspace / "billing" / "tax.py").write_text(
        "RATES = {'fr': 0.2}\n\n\ndef vat_rate(country: str) -> float:\n"
        '    """The VAT rate of a country."""\n    return RATES[country]\n'
    )
    (workspace / "main.py").write_text(MAIN)
    llm.script(Reply([Text("return total(order)")]))
    client = await editor.start(
        DEPUTYDEV_INDEX__ENABLED="true", DEPUTYDEV_COMPLETION__CONTEXT_TIMEOUT_MS="5000"
    )
    await client.wait_for(
        lambda: any(v and v[-1].get("kind") == "end" for v in client.progress_values.values()),
        what="the first indexing to end",
    )
    editor.open("main.py", MAIN)

    await editor.complete("main.py", CURSOR)

    [body] = fim_bodies(llm)
    assert (
        "# billing/tax.py:\n# def vat_rate(country: str) -> float:\n"
        '#     """The VAT rate of a country."""\n'
    ) in body["prompt"]
    # The function the cursor is in has no callers; its own definition is not repeated.
    assert body["prompt"].count("def total(order)") == 1


async def test_a_chat_model_is_asked_through_a_fill_in_the_middle_prompt(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(Reply([Text("```python\nreturn total(order)\n```")]))
    await editor.start(model="gpt-4.1-mini")
    editor.open("main.py", MAIN)

    [item] = await editor.complete("main.py", CURSOR)

    assert item.insert_text == "    return total(order)"
    [body] = llm.bodies("openai-chat")
    assert "<|HOLE|>" in body["messages"][1]["content"]


async def test_the_daily_budget_stops_completions_with_one_message(
    editor: Editor, llm: LLMServer
) -> None:
    # codestral costs $0.30 / $0.90 per million tokens: this call costs $0.0004.
    llm.script(Reply([Text("return 1")], usage={"input": 1000, "output": 100}))
    client = await editor.start(model="codestral", DEPUTYDEV_COMPLETION__DAILY_BUDGET_USD="0.0003")
    editor.open("main.py", MAIN)

    assert [i.insert_text for i in await editor.complete("main.py", CURSOR)] == ["    return 1"]
    editor.type("main.py", CURSOR, "\n    ")  # elsewhere: not a cache hit
    assert await editor.complete("main.py", types.Position(10, 4)) == []

    def budget_messages() -> list[types.ShowMessageParams]:
        return [m for m in client.messages if "budget" in m.message]

    [message] = await client.wait_for(budget_messages, what="the budget message")
    assert "daily_budget_usd" in message.message
    assert await editor.complete("main.py", types.Position(10, 4)) == []
    status = (await client.request("deputydev/status"))["completion"]
    assert len(budget_messages()) == 1  # once, not once per request
    assert len(llm.bodies("mistral-fim")) == 1
    assert status["budgetReached"] is True
    assert status["today"]["costUsd"] == pytest.approx(0.0003 + 0.00009)


async def test_a_refused_key_is_an_error_when_asked_and_one_message_when_typing(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(Reply(status=401), Reply(status=401), Reply(status=401))
    client = await editor.start(model="codestral")
    editor.open("main.py", MAIN)

    with pytest.raises(JsonRpcException) as caught:
        await editor.complete("main.py", CURSOR, types.InlineCompletionTriggerKind.Invoked)
    assert caught.value.code == codes.AUTHENTICATION_FAILED

    for _ in range(2):
        assert await editor.complete("main.py", CURSOR) == []
    await client.wait_for(lambda: client.messages, what="a message about the key")
    assert len([m for m in client.messages if "rejected the API key" in m.message]) == 1


async def test_secret_files_and_closed_buffers_are_never_completed(
    editor: Editor, llm: LLMServer
) -> None:
    await editor.start()
    editor.open(".env", "API_KEY=")
    assert await editor.complete(".env", types.Position(0, 8)) == []
    assert await editor.complete("not-open.py", types.Position(0, 0)) == []
    assert llm.requests == []


async def test_naming_a_model_later_registers_the_capability_with_the_editor(
    workspace: Path, tmp_path: Path, llm: LLMServer
) -> None:
    dynamic = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities(dynamic_registration=True)
        ),
        workspace=types.WorkspaceClientCapabilities(configuration=True),
    )
    client = await start_daemon(
        workspace,
        stderr_path=tmp_path / "daemon.stderr",
        env={"DEPUTYDEV_INDEX__ENABLED": "false"},
        capabilities=dynamic,
    )
    try:
        assert client.initialize_result.capabilities.inline_completion_provider is None  # type: ignore[attr-defined]
        client.on_request(types.CLIENT_REGISTER_CAPABILITY, lambda params: None)
        client.on_request(types.CLIENT_UNREGISTER_CAPABILITY, lambda params: None)

        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"completion": {"model": "local"}})
        )
        [registered] = await client.wait_for(
            lambda: client.server_requests[types.CLIENT_REGISTER_CAPABILITY],
            what="client/registerCapability",
        )
        [registration] = registered.registrations
        assert registration.method == types.TEXT_DOCUMENT_INLINE_COMPLETION

        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
        [unregistered] = await client.wait_for(
            lambda: client.server_requests[types.CLIENT_UNREGISTER_CAPABILITY],
            what="client/unregisterCapability",
        )
        assert unregistered.unregisterations[0].id == registration.id
    finally:
        await client.stop_daemon()


@pytest.mark.parametrize(
    ("model", "route", "key"),
    [
        ("codestral", "mistral-fim", "Bearer cs-test-key"),  # Mistral's /v1/fim/completions
        ("deepseek", "openai-completions", "Bearer ds-test-key"),  # DeepSeek's beta FIM
    ],
)
async def test_codestral_and_deepseek_are_asked_through_their_own_fim_endpoints(
    editor: Editor, llm: LLMServer, model: str, route: str, key: str
) -> None:
    llm.script(Reply([Text("return total(order)")], usage={"input": 50, "output": 5}))
    client = await editor.start(model=model)
    editor.open("main.py", MAIN)

    [item] = await editor.complete("main.py", CURSOR)

    assert item.insert_text == "    return total(order)"
    [request] = llm.requests
    assert request.headers["authorization"] == key
    [body] = llm.bodies(route)
    assert body["prompt"].endswith("def invoice(order):\n    ")
    assert body["suffix"] == "\n"
    assert body["stream"] is True
    assert body["model"] == {"codestral": "codestral-latest", "deepseek": "deepseek-chat"}[model]
    status = (await client.request("deputydev/status"))["completion"]
    assert status["style"] == {"codestral": "mistral", "deepseek": "suffix"}[model]
    assert (status["today"]["inputTokens"], status["today"]["outputTokens"]) == (50, 5)


async def test_claude_fills_the_hole_through_the_chat_prompt(
    editor: Editor, llm: LLMServer
) -> None:
    # Claude has no FIM endpoint: the chat fallback. It indents the line again; that is
    # taken off, as is its closing fence.
    llm.script(Reply([Text("  "), Text("  return total(order) + ship"), Text("ping(order)\n```")]))
    await editor.start(model="claude-haiku")
    editor.open("main.py", MAIN)

    [item] = await editor.complete("main.py", CURSOR)

    assert item.insert_text == "    return total(order) + shipping(order)"
    [body] = llm.bodies("anthropic")
    sent = json.dumps(body)
    assert "<|HOLE|>" in sent
    assert "def invoice(order):\\n    <|HOLE|>\\n" in sent


async def test_a_blank_completion_is_not_sent(editor: Editor, llm: LLMServer) -> None:
    llm.script(Reply([Text("   \n"), Text("\t  \n")]))
    client = await editor.start()
    editor.open("main.py", MAIN)

    assert await editor.complete("main.py", CURSOR) == []

    today = (await client.request("deputydev/status"))["completion"]["today"]
    assert (today["modelCalls"], today["suggestions"]) == (1, 0)


async def test_an_automatic_request_inside_a_word_waits_until_the_user_asks(
    editor: Editor, llm: LLMServer
) -> None:
    llm.script(Reply([Text("order.")]))
    await editor.start()
    editor.open("main.py", "x = amount\n")
    inside = types.Position(0, 4)  # before "amount"

    assert await editor.complete("main.py", inside) == []
    assert llm.requests == []  # typing inside a word costs nothing

    items = await editor.complete("main.py", inside, types.InlineCompletionTriggerKind.Invoked)
    assert [i.insert_text for i in items] == ["x = order.amount"]


SHOP = (
    "from main import invoice\n\n\n"
    "def checkout(cart, order):\n"
    "    order.lines = list(cart)\n"
    "    return invoice(order)\n"
)
REFUNDS = (
    "def refund_invoice(order):\n"
    "    credit = order.amount * (1 + vat_rate(order.country))\n"
    "    return Credit(order.customer, credit)\n"
)


def long_main() -> str:
    """MAIN with its imports, then enough code that the prompt cannot hold the whole file."""
    filler = "".join(
        f"\n\ndef helper_{n}(value):\n    return value * {n} + {n}\n" for n in range(100)
    )
    return (
        "import decimal\nfrom billing.tax import vat_rate\n"
        + filler
        + "\n\ndef invoice(order):\n    amount = order.amount\n    \n"
    )


async def test_the_prompt_holds_callers_neighbours_and_imports_each_within_its_share(
    workspace: Path, editor: Editor, llm: LLMServer
) -> None:
    (workspace / "billing").mkdir()
    (workspace / "billing" / "tax.py").write_text(
        "def vat_rate(country: str) -> float:\n    return 0.2\n"
    )
    (workspace / "shop.py").write_text(SHOP)
    text = long_main()
    (workspace / "main.py").write_text(text)
    llm.script(Reply([Text("return amount")]), Reply([Text("return amount")]))
    client = await editor.start(
        DEPUTYDEV_INDEX__ENABLED="true",
        DEPUTYDEV_COMPLETION__CONTEXT_TIMEOUT_MS="5000",
        DEPUTYDEV_COMPLETION__CONTEXT_TOKENS="800",
    )
    await client.wait_for(
        lambda: any(v and v[-1].get("kind") == "end" for v in client.progress_values.values()),
        what="the first indexing to end",
    )
    editor.open("refunds.py", REFUNDS)  # an open buffer like the code at the cursor
    editor.open("main.py", text)
    cursor = types.Position(text.count("\n") - 1, 4)

    await editor.complete("main.py", cursor)

    [body] = fim_bodies(llm)
    prompt = body["prompt"]
    # The caller's signature and its calling line, from the index.
    assert "# shop.py: calls invoice\n# def checkout(cart, order):\n" in prompt
    assert "#     return invoice(order)\n" in prompt
    # The open buffer's window most like the code before the cursor.
    assert "# Compare this snippet from refunds.py:1:\n# def refund_invoice(order):\n" in prompt
    # The file's top is cut, but its imports are kept, just before the kept prefix.
    assert "helper_0" not in prompt
    assert "import decimal\nfrom billing.tax import vat_rate\n" in prompt
    assert prompt.endswith("def invoice(order):\n    amount = order.amount\n    ")
    # 800 tokens of 4 characters: every part within the budget.
    assert len(prompt) + len(body["suffix"]) <= 3200

    # A share of 0 leaves its part out.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={
                "completion": {
                    "model": "local",
                    "contextTimeoutMs": 5000,
                    "contextTokens": 800,
                    "shares": {"neighbours": 0, "callers": 0},
                }
            }
        )
    )
    editor.type("main.py", cursor, "x")  # not the suggestion: the model is asked again

    async def asked_again() -> list[Any]:
        await editor.complete("main.py", types.Position(cursor.line, 5))
        return fim_bodies(llm)[1:]

    [again] = await asked_again()
    assert "refunds.py" not in again["prompt"]
    assert "calls invoice" not in again["prompt"]


async def test_only_counts_are_logged_unless_debug_logging_is_on(
    editor: Editor, llm: LLMServer
) -> None:
    secret_code = "confidential_margin_formula"
    answer = "proprietary_rebate_schedule(order)"
    text = MAIN.replace("    \n", f"    {secret_code} = 7\n    \n")
    llm.script(Reply([Text(answer)]), Reply([Text(answer)]))
    client = await editor.start()
    editor.open("main.py", text)
    assert await editor.complete("main.py", types.Position(10, 4))
    await client.stop_daemon()
    logged = (editor.tmp_path / "daemon.stderr").read_text()
    assert "completion call local ok" in logged  # the counts
    assert secret_code not in logged and answer not in logged

    client = await editor.start(DEPUTYDEV_LOG_LEVEL="debug")
    editor.open("main.py", text)
    assert await editor.complete("main.py", types.Position(10, 4))
    await client.stop_daemon()
    logged = (editor.tmp_path / "daemon.stderr").read_text()
    assert secret_code in logged and answer in logged


async def test_a_buffer_holding_a_key_is_never_sent_with_a_completion(
    editor: Editor, llm: LLMServer
) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIsecret\n"
    llm.script(Reply([Text("due = total(order)\n")], usage={"input": 120, "output": 14}))
    await editor.start()
    # A key pasted into an innocent file: it is neither completed nor used as context.
    editor.open("notes.py", f'DEPLOY_KEY = """\n{key}"""\ndef total(order):\n    return 1\n')
    assert await editor.complete("notes.py", types.Position(0, 0)) == []
    editor.open("main.py", MAIN)
    await editor.complete("main.py", CURSOR, types.InlineCompletionTriggerKind.Invoked)
    assert len(llm.requests) == 1
    assert "b3BlbnNzaC1rZXkt" not in json.dumps(fim_bodies(llm))
