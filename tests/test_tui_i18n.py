"""The TUI's translations: the .po parser, language choice and a complete Chinese catalog."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from tui import i18n
from tui.i18n import (
    CatalogError,
    _,
    current_language,
    language_from_environment,
    load_catalog,
    parse_po,
    set_language,
)

TUI_DIR = Path(i18n.__file__).parent


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def translatable_literals() -> dict[str, str]:
    """Map each string literal passed to _() or N_() in tui/ to where it appears."""
    found: dict[str, str] = {}
    for path in sorted(TUI_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_") and node.args):
                continue
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.setdefault(argument.value, f"{path.relative_to(TUI_DIR.parent)}:{node.lineno}")
    return found


def test_catalog_translates_every_message():
    catalog = load_catalog("zh_CN")
    literals = translatable_literals()

    missing = [f"{where}: {message!r}" for message, where in literals.items() if not catalog.get(message)]

    assert len(literals) > 50, "the scan found too few messages to be looking at the TUI"
    assert missing == [], "messages without a zh_CN translation:\n" + "\n".join(missing)


def placeholders(text: str) -> list[str]:
    return sorted(name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name)


def test_catalog_keeps_placeholders():
    catalog = load_catalog("zh_CN")

    for message, translation in catalog.items():
        assert placeholders(translation) == placeholders(message), f"{message!r} -> {translation!r}"


def test_language_from_lang_zh_cn():
    assert language_from_environment({"LANG": "zh_CN.UTF-8"}) == "zh_CN"


def test_language_from_environment_precedence():
    assert language_from_environment({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert language_from_environment({"LC_MESSAGES": "zh_TW.UTF-8", "LANG": "C"}) == "zh_CN"
    assert language_from_environment({"LC_ALL": "", "LANG": "zh_CN.GB18030"}) == "zh_CN"
    assert language_from_environment({"LANG": "C.UTF-8"}) == "en"
    assert language_from_environment({}) == "en"


def test_set_language_switches_translation():
    set_language("zh_CN")

    assert current_language() == "zh_CN"
    assert _("Deploy") == "部署"
    assert _("a message nobody translated") == "a message nobody translated"

    set_language("en")

    assert _("Deploy") == "Deploy"


def test_set_language_rejects_unknown():
    with pytest.raises(ValueError, match="fr_FR"):
        set_language("fr_FR")
    assert current_language() == "en"


def test_parse_po_multiline_escapes_and_fuzzy():
    text = '\n'.join([
        '# header',
        'msgid ""',
        'msgstr "Language: zh_CN\\n"',
        '',
        '#. a comment for translators',
        'msgid ""',
        '"first part, "',
        '"second \\"part\\""',
        'msgstr ""',
        '"第一部分，"',
        '"第二部分\\t完"',
        '',
        '#, fuzzy',
        'msgid "guessed"',
        'msgstr "猜的"',
        '',
        'msgid "untranslated"',
        'msgstr ""',
        'msgctxt "button"',
        'msgid "Apply"',
        'msgstr "应用"',
    ])

    catalog = parse_po(text)

    assert catalog == {'first part, second "part"': "第一部分，第二部分\t完", "Apply": "应用"}


def test_parse_po_reports_line_of_error():
    with pytest.raises(CatalogError, match=r"x\.po:2: expected a quoted string"):
        parse_po('msgid "ok"\nmsgstr nope\n', source="x.po")

    with pytest.raises(CatalogError, match="plural"):
        parse_po('msgid "a"\nmsgid_plural "as"\nmsgstr[0] "b"\n')
