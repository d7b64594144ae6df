"""The directory part of the province's facts file (issue 15, item 5): hotline, the one-stop centre's and the
communes' addresses and opening hours (knowledge_base/importers/local_facts.py reads the file; the per-procedure
facts are merged at import). Read at run time from `province.local_facts`, again when the file changes; an
unreadable file is logged and ignored, so a bad edit never costs a citizen a reply. `province.hotline` and
`province.one_stop_address` in the settings, when set, win over the file.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

from assistant.core.settings import Settings
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.importers.local_facts import LocalFactsFile, Office, read_local_facts
from knowledge_base.text import fold

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> LocalFactsFile | None:
    try:
        return read_local_facts(Path(path))
    except KnowledgeBaseError as error:
        logger.error("province facts ignored: %s", error)
        return None


def directory(settings: Settings) -> LocalFactsFile | None:
    """The province's facts file, or None when none is configured or it cannot be read."""
    path = settings.local_facts_path
    if path is None:
        return None
    try:
        mtime = path.stat().st_mtime
    except OSError:
        logger.error("province facts file %s not found; fix province.local_facts", path)
        return None
    return _read(str(path), mtime)


def _sample(facts: LocalFactsFile) -> bool:
    return facts.sample


def hotline(settings: Settings) -> str:
    """The hotline: the setting, else the facts file's (never a sample file's)."""
    facts = directory(settings)
    if settings.province.hotline.strip() or facts is None or _sample(facts):
        return settings.province.hotline.strip()
    return facts.hotline.strip()


def one_stop_address(settings: Settings) -> str:
    """The one-stop centre as '<name>, <address>': the setting, else the facts file's (never a sample file's)."""
    facts = directory(settings)
    if settings.province.one_stop_address.strip() or facts is None or _sample(facts):
        return settings.province.one_stop_address.strip()
    centre = facts.one_stop_centre
    return ", ".join(part for part in (centre.name.strip(), centre.address.strip()) if part)


def opening_hours(settings: Settings) -> str:
    """The one-stop centre's opening hours from the facts file ('' when not stated or from a sample file)."""
    facts = directory(settings)
    return "" if facts is None or _sample(facts) else facts.one_stop_centre.hours.strip()


# Words a commune's name starts with ("Phường Tân Ninh"); a citizen may type the name without them ("tân ninh").
_COMMUNE_KINDS = ("dac khu", "thi tran", "phuong", "xa", "p", "x")


def _folded_words(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(text).lower()))


def _core_name(name: str) -> str:
    """A commune's name without its kind word, folded: "Phường Tân Ninh" -> "tan ninh"."""
    words = _folded_words(name)
    for kind in _COMMUNE_KINDS:
        if words.startswith(kind + " "):
            return words[len(kind) + 1 :]
    return words


def communes(settings: Settings) -> list[Office]:
    """The communes' one-stop counters from the facts file (none from a sample file: its entries are placeholders)."""
    facts = directory(settings)
    if facts is None or _sample(facts):
        return []
    return [office for office in facts.communes if office.name.strip() and office.address.strip()]


def commune_named_in(text: str, settings: Settings) -> Office | None:
    """The configured commune a message names, folded ("phuong tan ninh", "P. Tân Ninh", "tân ninh"), longest
    name first; None when it names none."""
    words = f" {_folded_words(text)} "
    for office in sorted(communes(settings), key=lambda office: len(_core_name(office.name)), reverse=True):
        core = _core_name(office.name)
        # A one-word or numbered name ("Phường 1") alone is too common a word: its kind word must be typed too.
        needed = core if len(core.split()) > 1 and not core.isdigit() else _folded_words(office.name)
        if core and f" {needed} " in words:
            return office
    return None


def commune_name_only(text: str, office: Office) -> bool:
    """Whether a message is little more than the commune's name ("Phường Tân Ninh", "tôi ở phường tân ninh ạ")."""
    rest = f" {_folded_words(text)} ".replace(f" {_core_name(office.name)} ", " ")
    return len([word for word in rest.split() if word not in _COMMUNE_KINDS and word not in _PLACE_FILLERS]) == 0


# What a citizen adds around the commune's name when answering "Anh/Chị ở xã/phường nào?" (folded).
_PLACE_FILLERS = frozenset("toi o em minh nha dang song cu tru tai thuoc a da vang la".split())
