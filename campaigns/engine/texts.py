"""Result texts say what happened in words: a payload is summarised, never pasted as JSON."""

from __future__ import annotations

from typing import Any

SHORT = 40  # characters a scalar value may have to be quoted in full


def summarise(payload: Any) -> str:
    """A station's answer in a few words: "status Accepted", "configurationKey (67 items)",
    "idTagInfo status Invalid, transactionId 12"."""
    if payload is None:
        return "no payload"
    if not isinstance(payload, dict):
        return f"a {type(payload).__name__} instead of an object"
    if not payload:
        return "an empty answer"
    return ", ".join(_part(key, value) for key, value in payload.items())


def _part(key: str, value: Any) -> str:
    if isinstance(value, list):
        return f"{key} ({len(value)} item{'' if len(value) == 1 else 's'})"
    if isinstance(value, dict):
        inner = value.get("status")
        return f"{key} status {inner}" if isinstance(inner, str) else f"{key} ({len(value)} fields)"
    text = str(value)
    return f"{key} {text}" if len(text) <= SHORT else f"{key} ({len(text)} characters)"
