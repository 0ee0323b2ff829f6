"""Secrets out of what leaves the machine: message text is scanned before upload.

Each built-in pattern has a kind, and a match becomes ``[REDACTED:kind]``; extra patterns from
``[sync.redaction] patterns`` become ``[REDACTED:custom]``. Only the uploaded copy changes:
the local sessions database keeps the original. Assignments (``password=...``) keep their
name so that a reader still sees what was there.

    redactor = Redactor(extra=[r"ACME-[0-9a-f]{32}"])
    redactor.text("key sk-proj-abc...xyz")          # 'key [REDACTED:openai]'
    redactor.value({"text": "...", "args": {...}})  # every string inside, recursively
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Names of keys whose value is a secret (db_password, client_secret, api_key, authToken).
_SECRET_NAME = (
    r"(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key"
    r"|private[_\-]?key|credentials?|auth)"
)
SECRET_KEY = re.compile(rf"(?i){_SECRET_NAME}$")

# Order matters: the more specific shape of a prefix comes first (sk-ant- before sk-).
# Each pattern has needles: a pattern runs only on text holding one of them (lowercased),
# which keeps the scan of ordinary prose to a few substring searches.
_BUILTIN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "private-key",
        ("private key",),
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    ),
    ("anthropic", ("sk-ant-",), r"\bsk-ant-[A-Za-z0-9_\-]{16,}"),
    ("openai", ("sk-",), r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("google", ("aiza",), r"\bAIza[0-9A-Za-z_\-]{30,}"),
    (
        "github",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("gitlab", ("glpat-",), r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    ("aws-access-key", ("akia", "asia"), r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "aws-secret-key",
        ("secret_access_key", "aws_secret_key"),
        r"(?i)(?<![A-Za-z0-9])(aws_secret_access_key|aws_secret_key|secret_access_key)"
        r"(\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}",
    ),
    (
        # user:password@ in any URL, valid or not (mysql://user:PW@host/db); the user stays.
        "url-password",
        ("://",),
        r"(?i)(\b[a-z][a-z0-9+.\-]*://[^/\s:@\[\]]*:)(?!\[REDACTED)[^\s/]*(@)",
    ),
    (
        # A quoted value of a secret-named key: JSON "db_password": "...", YAML/TOML
        # password = "two words", Python api_key='...'.
        "quoted-assignment",
        ("pass", "pwd", "secret", "token", "key", "auth", "credential"),
        rf"(?i)((?:\\*[\"'])?\b[A-Za-z0-9_\-.]*{_SECRET_NAME}(?:\\*[\"'])?\s*[:=]\s*)"
        r"(\\*[\"'])(?!\[REDACTED)(?:(?!\2)(?:\\.|[^\n]))+\2",
    ),
    (
        "assignment",
        ("pass", "pwd", "secret", "token", "key"),
        r"(?i)\b([A-Za-z0-9_\-]*(?:password|passwd|pwd|secret|token|api[_-]?key))"
        r"((?:\\*[\"'])?\s*[:=]\s*(?:\\*[\"'])?)(?!\[REDACTED)([^\s\"',;\\]{4,})",
    ),
)
_KEEP_NAME = {"aws-secret-key", "assignment", "url-password"}
_QUOTED = {"quoted-assignment"}


class Redactor:
    def __init__(self, extra: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._patterns = [(kind, needles, re.compile(p)) for kind, needles, p in _BUILTIN]
        self._patterns += [("custom", (), re.compile(p)) for p in extra]

    def text(self, text: str) -> str:
        if not self.enabled:
            return text
        lowered = text.lower()
        for kind, needles, pattern in self._patterns:
            if needles and not any(needle in lowered for needle in needles):
                continue
            if kind in _QUOTED:
                text = pattern.sub(r"\1\2[REDACTED:assignment]\2", text)
            elif kind == "url-password":
                text = pattern.sub(r"\1[REDACTED:url-password]\2", text)
            elif kind in _KEEP_NAME:
                text = pattern.sub(rf"\1\2[REDACTED:{kind}]", text)
            else:
                text = pattern.sub(f"[REDACTED:{kind}]", text)
        return text

    def value(self, value: Any) -> Any:
        """``value`` with every string inside redacted; the value of a key named like a
        secret (``db_password``, ``apiKey``) is replaced whole. Keys are left alone."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: "[REDACTED:assignment]"
                if self.enabled
                and isinstance(k, str)
                and SECRET_KEY.search(k)
                and isinstance(v, str)
                and v
                else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
