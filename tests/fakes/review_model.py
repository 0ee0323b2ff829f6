"""A scripted code reviewer for the fake model server (``LLMServer.responder``).

Reviews run five reviewers at once, so replies cannot be queued in order: this responder
reads each request (OpenAI Chat Completions or Anthropic Messages) and answers by who is
asking. A reviewer's first
call (its brief names it: "as the security reviewer") gets its scripted ``report_finding``
calls; its call after the tool results gets a closing sentence; the validation pass ("You
validate the findings") gets the scripted verdict. A reviewer listed in ``fail`` gets a 400.

    model = ReviewModel({"security": [finding(path="app.py", start=3)]})
    llm.responder = model
    ...
    model.reviewers_seen                # {"security", "correctness", ...}

With ``cache=True`` it also plays a provider's prompt cache, for the benchmark: the request
up to the end of its system message is a prefix; a request whose prefix an earlier request
already sent reads those tokens from the cache (bytes / 4), the first one writes them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from tests.fakes.llm_server import Call, Recorded, Reply, Step, Text

_WHO = re.compile(r"as the (\S+) reviewer")


def finding(
    path: str,
    start: int,
    end: int | None = None,
    *,
    severity: str = "warning",
    category: str = "bug",
    message: str = "this looks wrong",
    confidence: float = 0.9,
    suggestion: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": path,
        "startLine": start,
        "endLine": end if end is not None else start,
        "severity": severity,
        "category": category,
        "message": message,
        "confidence": confidence,
    }
    if suggestion is not None:
        out["suggestion"] = suggestion
    return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _is_tool_result(message: Mapping[str, Any]) -> bool:
    """OpenAI's ``tool`` message, or Anthropic's user turn of ``tool_result`` blocks."""
    if message.get("role") == "tool":
        return True
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
    )


class ReviewModel:
    def __init__(
        self,
        findings: Mapping[str, Sequence[dict[str, Any]]] | None = None,
        *,
        verdict: Mapping[str, Any] | None = None,
        fail: Sequence[str] = (),
        cache: bool = False,
        delay_s: float = 0.0,
        stall: bool = False,
    ) -> None:
        self.findings = dict(findings or {})
        self.verdict = dict(verdict or {"drop": [], "summary": "Looks mostly fine."})
        self.fail = set(fail)
        self.cache = cache
        self.delay_s = delay_s
        self.stall = stall  # reviewers' answers start, then hang until the client leaves
        self.reviewers_seen: set[str] = set()
        self.judged: list[str] = []
        self._prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._ids = 0

    def __call__(self, recorded: Recorded) -> Reply:
        body = recorded.body if isinstance(recorded.body, Mapping) else {}
        messages = list(body.get("messages") or [])
        usage = self._usage(messages, body)
        last = messages[-1] if messages else {}
        users = [m for m in messages if m.get("role") == "user"]
        first_user = _text(users[0].get("content")) if users else ""
        if first_user.startswith("You validate the findings"):
            with self._lock:
                self.judged.append(first_user)
            return Reply([Text(json.dumps(self.verdict))], usage=usage, delay_s=self.delay_s)
        who = _WHO.search(first_user)
        name = who.group(1) if who else "?"
        with self._lock:
            self.reviewers_seen.add(name)
        if self.stall:
            return Reply([Text("Looking"), Text(" closer")], stall_after=1)
        if name in self.fail:
            return Reply(
                status=400,
                error={"error": {"message": f"{name} model refused", "type": "invalid_request"}},
            )
        if _is_tool_result(last):
            return Reply([Text("All reported.")], usage=usage, delay_s=self.delay_s)
        calls: list[Step] = []
        for found in self.findings.get(name, ()):
            with self._lock:
                self._ids += 1
                call_id = f"call_{self._ids}"
            calls.append(Call(call_id, "report_finding", dict(found)))
        if not calls:
            return Reply([Text("Nothing to report.")], usage=usage, delay_s=self.delay_s)
        return Reply(calls, usage=usage, delay_s=self.delay_s)

    def _usage(self, messages: list[Any], body: Mapping[str, Any]) -> dict[str, int]:
        total = len(json.dumps(body)) // 4
        if not self.cache:
            return {"input": total, "output": 40}
        system = [m for m in messages if m.get("role") in ("system", "developer")]
        prefix = (
            json.dumps(body.get("tools") or [])
            + _text(body.get("system"))
            + "".join(_text(m.get("content")) for m in system)
        )
        size = len(prefix) // 4
        with self._lock:
            seen = prefix in self._prefixes
            self._prefixes.add(prefix)
        if seen:
            return {"input": total - size, "cache_read": size, "output": 40}
        return {"input": total, "cache_write": size, "output": 40}
