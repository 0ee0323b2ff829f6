"""Logging: stderr and a rotating file in the log directory, never stdout, never a secret.

:class:`RedactingFilter` replaces the values of secrets known to the process (API keys and
tokens from the environment, plus any registered with :func:`register_secret`) and strings
shaped like provider keys, before a record reaches any handler.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import paths

if TYPE_CHECKING:
    from daemon.sync.redact import Redactor

LOG_FILE = "deputydev.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_SECRET_ENV = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD)$")
# Shapes of provider keys and tokens, so a key we were never told about is still hidden.
_KEY_SHAPES = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@))"
)
REDACTED = "[REDACTED]"

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Hide ``value`` in every later log record (values shorter than 6 characters are not
    registered: they would redact ordinary words)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every secret hidden: the values registered, provider key shapes, a
    URL's credentials (valid URL or not), and the sync redactor's shapes (private key
    blocks, GitHub/GitLab/AWS tokens, ``password=...`` and JSON/YAML/TOML secret keys)."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _KEY_SHAPES.sub(REDACTED, text)
    return _shapes().text(text)


_redactor: Redactor | None = None


def _shapes() -> Redactor:
    global _redactor
    if _redactor is None:
        from daemon.sync.redact import Redactor

        _redactor = Redactor()
    return _redactor


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log it as written, still redacted
            message = f"{record.msg} {record.args}"
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup(level: str = "info", *, stderr: bool = True, to_file: bool = True) -> Path | None:
    """Configure the root logger once; returns the log file's path, if any."""
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name):
            register_secret(value)

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level.upper())
    formatter = logging.Formatter(_FORMAT)
    redactor = RedactingFilter()

    if stderr:
        # sys.__stderr__, not sys.stdout: stdout belongs to the protocol.
        stream = logging.StreamHandler(sys.__stderr__)
        stream.setFormatter(formatter)
        stream.addFilter(redactor)
        root.addHandler(stream)

    log_file: Path | None = None
    if to_file:
        try:
            log_dir = paths.log_dir()
            log_dir.mkdir(parents=True, exist_ok=True)
            log_file = log_dir / LOG_FILE
            file_handler = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
            )
            file_handler.setFormatter(formatter)
            file_handler.addFilter(redactor)
            root.addHandler(file_handler)
        except OSError as exc:
            log_file = None
            logging.getLogger(__name__).warning("no log file: %s", exc)

    # pygls logs every message body at INFO; that is debugging detail, not operations.
    # httpx logs every request's URL at INFO: one line per keystroke with inline completions,
    # where only counts are logged unless debugging.
    quiet_level = logging.DEBUG if level == "debug" else logging.WARNING
    for name in ("pygls", "httpx"):
        logging.getLogger(name).setLevel(quiet_level)
    return log_file
