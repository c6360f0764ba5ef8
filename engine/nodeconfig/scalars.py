"""Writing new values as YAML text that PyYAML's safe loader reads back as the same value.

A new value keeps the style of the value it replaces where it can: a quoted
string stays in the same quotes, a `yes`/`no` boolean keeps that spelling, a
literal block stays a literal block. A string is written plain only when it
reads back as that string, so `no`, `010` or `12:30` given as strings are quoted.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

# Characters YAML allows in a stream (PyYAML's reader rejects the others).
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Plain strings that YAML 1.2 readers take for numbers or booleans, though YAML 1.1 does not.
# Quoting them keeps the file's meaning the same for either kind of reader.
_OTHER_VERSION_LOOKALIKES = re.compile(
    r"[-+]?(0o[0-7]+|0x[0-9a-f_]+|0b[01_]+|\.inf|\.nan|[0-9][0-9_]*(\.[0-9_]*)?(e[-+]?[0-9]+)?)|[yn]",
    re.IGNORECASE,
)

_INDICATORS = "-?:,[]{}#&*!|>'\"%@`"

_BOOL_PAIRS = {"yes": ("yes", "no"), "no": ("yes", "no"), "on": ("on", "off"), "off": ("on", "off")}

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def render_scalar(value: Any, *, flow: bool = False, style: str | None = None, old_text: str = "",
                  indent: int = 2) -> str:
    """Write a JSON scalar as YAML text.

    `style` and `old_text` describe the value being replaced (PyYAML's scalar style
    and its source text); `indent` is the column of a literal block's lines.
    """
    if value is None:
        return "~" if old_text.strip() == "~" else "null"
    if isinstance(value, bool):
        return render_bool(value, old_text.strip())
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return render_float(value)
    if isinstance(value, str):
        return render_string(value, flow=flow, style=style, indent=indent)
    raise TypeError(f"not a scalar: {type(value).__name__}")


def render_bool(value: bool, old_text: str) -> str:
    true_word, false_word = _BOOL_PAIRS.get(old_text.lower(), ("true", "false"))
    word = true_word if value else false_word
    if old_text.isupper():
        return word.upper()
    if old_text[:1].isupper():
        return word.capitalize()
    return word


def render_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    # YAML 1.1 floats need a dot: PyYAML reads 1e+20 as a string.
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def render_string(text: str, *, flow: bool = False, style: str | None = None, indent: int = 2) -> str:
    if style in ("|", ">"):
        block = literal_block(text, indent)
        if block is not None:
            return block
    if style == '"':
        return double_quoted(text)
    if style == "'":
        return single_quoted(text) or double_quoted(text)
    if is_plain_safe(text, flow=flow):
        return text
    return single_quoted(text) or double_quoted(text)


def render_key(key: str, *, flow: bool = False) -> str:
    if is_plain_safe(key, flow=flow) and _reads_back(f"{key}: 0", {key: 0}):
        return key
    return single_quoted(key) or double_quoted(key)


def is_plain_safe(text: str, *, flow: bool = False) -> bool:
    """Tell whether `text` written without quotes reads back as this same string."""
    if not text or text != text.strip() or _NON_PRINTABLE.search(text):
        return False
    if any(character in text for character in "\n\r\t\x85\u2028\u2029"):
        return False
    if text[0] in _INDICATORS or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(character in text for character in ",[]{}"):
        return False
    if _OTHER_VERSION_LOOKALIKES.fullmatch(text):
        return False
    if flow:
        return _reads_back(f"[{text}]", [text])
    return _reads_back(f"key: {text}", {"key": text})


def _reads_back(source: str, expected: Any) -> bool:
    try:
        return yaml.safe_load(source) == expected
    except yaml.YAMLError:
        return False


def single_quoted(text: str) -> str | None:
    """Write text in single quotes, or return None when it has a line break or a character only escapes can write."""
    if _NON_PRINTABLE.search(text) or any(character in text for character in "\n\r\t\x85\u2028\u2029"):
        return None
    return "'" + text.replace("'", "''") + "'"


def double_quoted(text: str) -> str:
    parts = []
    for character in text:
        if character in _ESCAPES:
            parts.append(_ESCAPES[character])
        elif _NON_PRINTABLE.match(character) or character in "\x85\u2028\u2029\ufeff":
            code = ord(character)
            parts.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            parts.append(character)
    return '"' + "".join(parts) + '"'


def literal_block(text: str, indent: int) -> str | None:
    """Write a multi-line string as a `|` block indented by `indent` spaces, or None when it cannot be.

    Only strings ending in at most one newline are written this way, so the block never
    needs the keep indicator, whose trailing blank lines would merge with the file's.
    """
    body = text[:-1] if text.endswith("\n") else text
    if "\n" not in body or body.endswith("\n") or body.startswith((" ", "\n")):
        return None
    if _NON_PRINTABLE.search(text) or any(character in text for character in "\r\x85\u2028\u2029"):
        return None

    header = "|" if text.endswith("\n") else "|-"
    lines = [(" " * indent + line) if line else "" for line in body.split("\n")]
    return header + "\n" + "\n".join(lines)
