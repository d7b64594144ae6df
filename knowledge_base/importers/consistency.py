"""Detect national records that cannot be trusted, so they are reported and kept out of the catalogue.

The checks are general, not a list of known bad files:
- the page (`raw_text`) names another procedure code than the record (`ma_thu_tuc`) — the crawler stored
  another procedure's page under this code;
- the record's code differs from its file name;
- the page's title differs from the record's title;
- the page carries no procedure code or title at all;
- two records share a code, or share the same page (same `detail_url` or identical `raw_text`): only the first
  is kept, the others are reported as duplicates.
"""

from __future__ import annotations

import hashlib
import re

from knowledge_base.importers.text import clean_text

_PAGE_CODE = re.compile(r"Mã thủ tục\s*([0-9][0-9.]*[0-9])")
_PAGE_TITLE = re.compile(r"Tên thủ tục(.*?)Mã thủ tục", re.DOTALL)


def page_code(raw_text: str) -> str | None:
    match = _PAGE_CODE.search(raw_text)
    return match.group(1) if match else None


def page_title(raw_text: str) -> str | None:
    match = _PAGE_TITLE.search(raw_text)
    return clean_text(match.group(1)) if match else None


def record_problems(record: dict, file_stem: str) -> list[str]:
    """Reasons this record contradicts itself (empty when it is consistent)."""
    code = str(record.get("ma_thu_tuc", "")).strip()
    raw = record.get("raw_text") or ""
    problems = []
    if code != file_stem:
        problems.append(f"code {code!r} differs from the file name {file_stem!r}")
    found_code = page_code(raw)
    if found_code is None:
        problems.append("the page text has no 'Mã thủ tục'")
    elif found_code != code:
        problems.append(f"the page text is procedure {found_code}, not {code} (another procedure's page)")
    found_title = page_title(raw)
    title = clean_text(record.get("ten_thu_tuc", ""))
    if found_title is None:
        problems.append("the page text has no 'Tên thủ tục'")
    elif found_title != title:
        problems.append(f"title differs from the page text ({title[:60]!r} vs {found_title[:60]!r})")
    return problems


class DuplicateTracker:
    """Remembers kept records by code and by page, to report later duplicates."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._pages: dict[str, str] = {}

    @staticmethod
    def _page_keys(record: dict) -> list[str]:
        keys = []
        if record.get("detail_url"):
            keys.append("url:" + record["detail_url"].strip())
        if record.get("raw_text"):
            keys.append("text:" + hashlib.sha1(record["raw_text"].encode("utf-8")).hexdigest())
        return keys

    def duplicate_of(self, record: dict) -> str | None:
        """A reason when this record repeats a kept one, else None."""
        code = str(record.get("ma_thu_tuc", "")).strip()
        if code in self._codes:
            return f"duplicate code {code} (already imported from {self._codes[code]})"
        for key in self._page_keys(record):
            if key in self._pages:
                return f"same page as {self._pages[key]} ({'detail_url' if key.startswith('url:') else 'raw_text'})"
        return None

    def keep(self, record: dict, where: str) -> None:
        self._codes[str(record.get("ma_thu_tuc", "")).strip()] = where
        for key in self._page_keys(record):
            self._pages[key] = str(record.get("ma_thu_tuc", "")).strip()
