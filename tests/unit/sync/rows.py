"""Outbox rows shaped as the sessions store writes them, for pusher tests."""

from __future__ import annotations

from typing import Any

from daemon.sessions.store import OutboxRow

STAMP = "2026-11-25T10:00:00.000Z"


def session_row(
    seq: int, session_id: str, *, title: str = "t", visibility: Any = None, version: int = 1
) -> OutboxRow:
    payload = {
        "id": session_id,
        "workspace": "/w",
        "title": title,
        "model": None,
        "pinned": False,
        "archived": False,
        "visibility": visibility,
        "created_at": STAMP,
        "updated_at": STAMP,
        "version": version,
    }
    return OutboxRow(seq, "session", session_id, "upsert", version, payload)


def turn_row(seq: int, turn_id: str, session_id: str, *, version: int = 1) -> OutboxRow:
    payload = {
        "id": turn_id,
        "session_id": session_id,
        "seq": 1,
        "query": "why?",
        "focus_items": [],
        "agent": None,
        "model": None,
        "status": "complete",
        "usage": {},
        "cost_usd": None,
        "timings": {},
        "error": None,
        "summary": None,
        "started_at": STAMP,
        "finished_at": STAMP,
        "version": version,
    }
    return OutboxRow(seq, "turn", turn_id, "upsert", version, payload)


def message_row(
    seq: int, message_id: str, session_id: str, turn_id: str, *, text: str, version: int = 1
) -> OutboxRow:
    payload = {
        "id": message_id,
        "session_id": session_id,
        "turn_id": turn_id,
        "seq": 1,
        "role": "user",
        "content": {"text": text},
        "created_at": STAMP,
        "version": version,
    }
    return OutboxRow(seq, "message", message_id, "upsert", version, payload)
