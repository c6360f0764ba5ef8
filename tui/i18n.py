"""Translation of the TUI's text: a small gettext-style catalog lookup.

English is the message id itself. Other languages come from `locale/<language>.po`,
standard gettext text catalogs parsed here at run time, so that no compiled `.mo`
file has to be built or shipped. Only the language is global state: the TUI runs
one language at a time and switches it with `set_language`.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = (ENGLISH, CHINESE)

LOCALE_DIR = Path(__file__).parent / "locale"

_language = ENGLISH
_catalogs: dict[str, dict[str, str]] = {}


class CatalogError(ValueError):
    """A `.po` catalog that does not parse; the message names the line."""


def parse_po(text: str, *, source: str = "<catalog>") -> dict[str, str]:
    """Parse gettext `.po` text into a mapping of msgid to msgstr.

    Understood: comments, `msgctxt` (read and ignored), `msgid`, `msgstr`, and strings
    continued on the following lines. Entries marked `#, fuzzy`, entries with an empty
    msgstr and the header entry (empty msgid) are left out, as gettext does. Plural
    forms are not supported and raise CatalogError.
    """
    catalog: dict[str, str] = {}
    entry: dict[str, str] = {}
    field: str | None = None
    fuzzy = False

    def finish_entry() -> None:
        nonlocal entry, field, fuzzy
        msgid = entry.get("msgid")
        msgstr = entry.get("msgstr", "")
        if msgid and msgstr and not fuzzy:
            catalog[msgid] = msgstr
        entry, field, fuzzy = {}, None, False

    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()

        if not line:
            continue

        if line.startswith("#"):
            # A comment after a complete entry starts the next entry.
            if "msgstr" in entry:
                finish_entry()
            if line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split():
                fuzzy = True
            continue

        keyword, _space, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid", "msgstr"):
            if keyword in ("msgctxt", "msgid") and "msgstr" in entry:
                finish_entry()
            if keyword in entry:
                raise CatalogError(f"{source}:{number}: {keyword} appears twice in one entry")
            field = keyword
            entry[field] = _parse_po_string(rest.strip(), source, number)
        elif keyword in ("msgid_plural",) or keyword.startswith("msgstr["):
            raise CatalogError(f"{source}:{number}: plural forms are not supported")
        elif line.startswith('"'):
            if field is None:
                raise CatalogError(f"{source}:{number}: quoted string without a msgid or msgstr before it")
            entry[field] += _parse_po_string(line, source, number)
        else:
            raise CatalogError(f"{source}:{number}: expected msgid, msgstr or a quoted string")

    finish_entry()
    return catalog


def _parse_po_string(token: str, source: str, number: int) -> str:
    # A .po string uses C escapes (\n, \t, \", \\), which Python's string literal
    # syntax also accepts; literal_eval of the quoted token decodes them.
    if len(token) < 2 or not token.startswith('"') or not token.endswith('"'):
        raise CatalogError(f"{source}:{number}: expected a quoted string, got {token!r}")
    try:
        value = ast.literal_eval(token)
    except (SyntaxError, ValueError) as error:
        raise CatalogError(f"{source}:{number}: invalid quoted string {token!r}: {error}") from None
    if not isinstance(value, str):
        raise CatalogError(f"{source}:{number}: expected a quoted string, got {token!r}")
    return value


def load_catalog(language: str) -> dict[str, str]:
    """Return the catalog of a language, parsing its .po files on first use.

    A language's catalog is `locale/<language>.po` plus any `locale/<language>.*.po`
    (one per part of the wizard), merged in name order.
    """
    if language == ENGLISH:
        return {}

    if language not in _catalogs:
        catalog: dict[str, str] = {}
        paths = [LOCALE_DIR / f"{language}.po", *sorted(LOCALE_DIR.glob(f"{language}.*.po"))]
        for path in paths:
            catalog.update(parse_po(path.read_text(encoding="utf-8"), source=str(path)))
        _catalogs[language] = catalog
        log.debug("loaded %d messages from %s", len(catalog), ", ".join(path.name for path in paths))

    return _catalogs[language]


def set_language(language: str) -> None:
    """Switch the TUI's language; raise ValueError for a language without a catalog."""
    global _language

    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not supported; expected one of {', '.join(LANGUAGES)}")

    load_catalog(language)
    _language = language


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate a message into the current language; untranslated messages stay English."""
    if _language == ENGLISH:
        return message
    return load_catalog(_language).get(message, message)


def N_(message: str) -> str:
    """Mark a message for translation where it is defined, for `_()` to translate later.

    Used for text fixed at import time (key binding descriptions, step titles), before
    the language is chosen.
    """
    return message


def language_from_environment(environ: Mapping[str, str]) -> str:
    """Pick the TUI's language from the POSIX locale variables.

    The first of LC_ALL, LC_MESSAGES and LANG that is set and not empty decides, as
    in POSIX: a locale starting with "zh" gives zh_CN, anything else English.
    """
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return CHINESE if value.lower().startswith("zh") else ENGLISH
    return ENGLISH
