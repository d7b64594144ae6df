"""Training questions generated from the catalogue itself, phrased the way citizens ask.

A ranker trained on procedure titles copied verbatim learns to match titles, which citizens never
type. This module turns each record into questions with the shapes real questions have: the core of
the title without "Thủ tục", level suffixes and audience lists; one aspect asked about (documents,
fee, time, where, online, steps, conditions, result); chat without diacritics, long situations,
polite portal letters, abbreviations and everyday names, typos, the result document instead of the
procedure, and the variant cue ("làm lại", "gia hạn", "người nước ngoài") when the record is a variant.

`rule_questions` builds the opposite: questions about rules (penalties, rates and ceilings, who is
entitled, how a law applies, private disputes) around the catalogue's own topics, which no procedure
answers; they carry code "" and serve as no-answer negatives.

Everything is general: frames and transformations apply to any record, nothing names a procedure.
Randomness comes only from `random.Random` instances seeded from (seed, record code, record title),
so the same catalogue and seed give the same questions byte for byte, and a record's questions do not
change when other records are added or removed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

from knowledge_base.schema import Level, Procedure
from knowledge_base.text import Abbreviations, fold, normalize, without_procedure_prefix
from knowledge_base.variants import VARIANT_MARKERS, main_clause, title_markers

ASPECTS = ("overview", "documents", "fee", "time", "where", "online", "steps", "conditions", "result")
STYLES = ("short", "chat", "story", "polite", "folded", "abbrev", "typo", "result_doc", "everyday", "sibling")
RULE_STYLES = ("rule_penalty", "rule_rate", "rule_entitlement", "rule_law", "rule_dispute")


@dataclass(frozen=True)
class GeneratedQuestion:
    text: str  # what a citizen would type
    code: str  # the record it was generated from ("" for a no-answer question)
    aspect: str  # one of ASPECTS
    style: str  # one of STYLES, or RULE_STYLES for a no-answer question
    group: str  # the record's field (Procedure.field): lets a trainer leave whole fields out


# ---- weights ---------------------------------------------------------------------------------------

ASPECT_WEIGHTS = {
    "overview": 24,
    "documents": 15,
    "fee": 10,
    "time": 10,
    "where": 10,
    "online": 8,
    "steps": 8,
    "conditions": 8,
    "result": 7,
}
STYLE_WEIGHTS = {
    "short": 13,
    "chat": 14,
    "story": 11,
    "polite": 9,
    "folded": 11,
    "abbrev": 9,
    "typo": 8,
    "result_doc": 9,
    "everyday": 8,
    "sibling": 8,
}

# ---- title analysis ---------------------------------------------------------------------------------

# Administrative action verbs that open titles (longest first when matched): the object follows them.
_VERBS = (
    "cấp lại",
    "cấp đổi",
    "cấp mới",
    "cấp bổ sung",
    "cấp gia hạn",
    "cấp điều chỉnh",
    "cấp phép",
    "cấp",
    "đăng ký lại",
    "đăng ký bổ sung",
    "đăng ký thay đổi",
    "đăng ký",
    "gia hạn",
    "điều chỉnh",
    "thay đổi",
    "sửa đổi",
    "bổ sung",
    "cập nhật",
    "xác nhận",
    "công nhận",
    "chấp thuận",
    "phê duyệt",
    "thẩm định",
    "giải quyết",
    "thu hồi",
    "chấm dứt",
    "tạm ngừng",
    "xóa",
    "hủy",
    "chuyển đổi",
    "chuyển nhượng",
    "đề nghị",
    "thông báo",
    "công bố",
    "khai",
    "trình báo",
    "kiểm tra",
    "quyết định",
    "xét",
    "hỗ trợ",
    "đổi",
    "khôi phục",
    "phục hồi",
    "chứng thực",
    "chứng nhận",
    "giải thể",
    "gia nhập",
    "thành lập",
    "cho phép",
    "miễn",
    "giảm",
    "hoàn",
    "trả lại",
    "tiếp nhận",
    "giao",
    "cho thuê",
    "lựa chọn",
    "bổ nhiệm",
    "miễn nhiệm",
    "báo cáo",
    "đình chỉ",
    "dừng",
    "ngừng",
    "mở",
    "đóng",
    "nộp",
    "xác định",
    "phê chuẩn",
    "tuyển chọn",
    "thay thế",
    "cấp thay thế",
    "kiểm định",
    "đánh giá",
    "đào tạo",
    "sát hạch",
    "tái cấp",
)
# Verbs for what the agency does: citizens ask for it ("xin cấp", "xin chấp thuận", "xin gia hạn").
_AGENCY_VERBS = frozenset(
    (
        "cấp",
        "cấp lại",
        "cấp đổi",
        "cấp mới",
        "cấp phép",
        "chấp thuận",
        "phê duyệt",
        "công nhận",
        "xác nhận",
        "gia hạn",
        "cho phép",
        "miễn",
        "giảm",
        "hoàn",
        "giao",
        "cho thuê",
        "công bố",
    )
)
_VERB_PHRASES = sorted((tuple(v.split()) for v in _VERBS), key=len, reverse=True)
_VERB_SET = frozenset(_VERBS)

# Words that open a qualifier after the procedure's name (audience, case, place, legal basis).
_QUALIFIER = re.compile(
    r"\s+(?=(?:đối với|trong trường hợp|trường hợp|cho|của|tại|theo|thuộc|do|khi|trong|giữa|từ|ở|bằng|qua|để|"
    r"kết hợp|áp dụng|sau khi|trước khi)\s)"
)
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_ACRONYM = re.compile(r"^[a-z0-9\-]{2,8}$")
_CHANNEL_TAIL = re.compile(
    r"\s*(?:thực hiện\s+)?bằng dịch vụ công(?:\s+trực tuyến)?(?:\s+một phần)?(?:\s+hoặc\s+trực tiếp)?"
)
_FULL_ONLINE = re.compile(r"\s*(?:thực hiện\s+)?(?:bằng dịch vụ công\s+)?trực tuyến toàn trình")
_LEVEL_NAMES = r"(?:tỉnh|xã|bộ|trung ương|tw|huyện|cơ sở)"
_LEVEL_TAIL = re.compile(
    rf"\s*(?:(?:trực tiếp\s+)?thực hiện\s+)?(?:tại|ở)\s+cấp\s+{_LEVEL_NAMES}(?:\s*,\s*cấp\s+{_LEVEL_NAMES})*"
    rf"|\s+cấp\s+{_LEVEL_NAMES}(?:\s*,\s*cấp\s+{_LEVEL_NAMES})*\s*$"
)
_TRAILING_FUNCTION = frozenset(
    "và hoặc của cho các những đối với tại theo trong khi do để từ ở có không được về là "
    "phải bị đã mà như với sau trước hay gồm bao đang sẽ thì nhưng làm".split()
)
_FILLERS = ("các ", "những ", "việc ", "được ")
_FRONTABLE = re.compile(r"^(?:cho|đối với|tại|ở)\s+(.+)$")
# Result names too generic to stand for a procedure ("xin giấy tờ").
_GENERIC_DOCS = frozenset(
    (
        "giấy tờ",
        "văn bản",
        "giấy phép",
        "giấy chứng nhận",
        "chứng chỉ",
        "bản sao",
        "giấy",
        "giấy xác nhận",
        "chứng nhận",
        "thẻ",
        "sổ",
    )
)
# Result documents citizens ask for by name ("xin giấy xác nhận ...", "muốn có sổ đỏ").
_DOC_NOUNS = (
    "giấy",
    "thẻ",
    "phiếu",
    "chứng chỉ",
    "chứng nhận",
    "sổ",
    "bằng",
    "hộ chiếu",
    "trích lục",
    "biển",
    "thị thực",
    "văn bằng",
    "bản sao",
    "tem",
    "chứng thư",
    "lý lịch",
    "giấy phép",
    "căn cước",
)
_DOC_CUT = re.compile(
    r"\s*(?:\(|;|:|,|/|\bmẫu\b|\btheo\b|\bkèm\b|\bban hành\b|\bđối với\b|\btrường hợp\b|\bhoặc\b|\bcó\b)"
)


def _words(text: str) -> list[str]:
    return text.split()


def _strip_function_tail(words: list[str]) -> list[str]:
    while len(words) > 1 and (words[-1] in _TRAILING_FUNCTION or words[-1] in ("đối", "trường")):
        words = words[:-1]
    return words


def _cut(words: list[str], limit: int, hard: bool = True) -> list[str]:
    """At most `limit` words, cut before a function word when one allows it ("... của", "... và"), so a
    compound ("quốc tịch", "cá nhân") is not split; never ending on a function word. Without such a
    place: cut anyway (hard) or keep all words."""
    if len(words) <= limit:
        return _strip_function_tail(words)
    cuts = [i for i in range(2, limit + 1) if words[i] in _TRAILING_FUNCTION]
    if cuts:
        return _strip_function_tail(words[: cuts[-1]])
    return _strip_function_tail(words[:limit] if hard else words)


def _split_verb(text: str) -> tuple[str, str]:
    """("cấp lại", "giấy phép ...") for "cấp lại giấy phép ..."; ("", text) when no known verb opens it."""
    words = _words(text)
    for phrase in _VERB_PHRASES:
        n = len(phrase)
        if tuple(words[:n]) == phrase and len(words) > n:
            if words[n] == "lại" and len(words) > n + 1:  # "công bố lại ...", "đăng ký lại ..."
                n += 1
            return " ".join(words[:n]), " ".join(words[n:])
    return "", text


_VERB_ENDINGS = frozenset(v.split()[-1] for v in _VERBS)


def _markers(title: str) -> tuple[str, ...]:
    """The title's variant markers, without a "lại" that follows no verb ("còn lại", "mua lại")."""
    markers = title_markers(title)
    if "lại" in markers:
        words = main_clause(title)
        if not any(w == "lại" and i and words[i - 1] in _VERB_ENDINGS for i, w in enumerate(words)):
            markers = tuple(m for m in markers if m != "lại")
    return markers


def _split_glued(text: str) -> str:
    """Records sometimes glue two items together ("đầu tưGiấy chứng nhận"): split where case changes."""
    out = []
    for i, ch in enumerate(text):
        if i and ch.isupper() and text[i - 1].islower():
            out.append("; ")
        out.append(ch)
    return "".join(out)


def _clean_title(title: str) -> tuple[str, list[str], bool]:
    """The title without "thủ tục", parentheses, level and channel tails: (text, acronyms, fully online)."""
    text = without_procedure_prefix(normalize(title))
    acronyms = [m.strip() for m in _PAREN.findall(text) if _ACRONYM.match(m.strip())]
    text = _PAREN.sub("", text).replace("/", ", ")
    full_online = bool(_FULL_ONLINE.search(text))
    text = _FULL_ONLINE.sub("", text)
    text = _CHANNEL_TAIL.sub("", text)
    text = _LEVEL_TAIL.sub("", text)
    text = re.sub(r"\s+([,;:])", r"\1", text)
    return text.strip(" .,;:-"), acronyms, full_online


def _segments(text: str) -> list[str]:
    """Comma/semicolon segments; a one- or two-word segment is a list item ("cha, mẹ, con ...") and stays
    with its neighbours, except the verbs that open a combined title ("cấp, cấp lại giấy phép ...")."""
    merged: list[str] = []
    in_list = False
    for seg in (s.strip() for s in re.split(r"[,;:]", text)):
        if not seg:
            continue
        short = len(_words(seg)) <= 2 and seg not in _VERB_SET
        if merged and merged[-1] not in _VERB_SET and (short or in_list):
            merged[-1] = f"{merged[-1]}, {seg}"
        else:
            merged.append(seg)
        in_list = short
    return merged


@dataclass(frozen=True)
class _Shape:
    """What a record's title and result offer to phrase questions with (no randomness)."""

    heads: tuple[str, ...]  # the procedure's name, one per verb of a combined title ("cấp, cấp lại X")
    qualifiers: tuple[str, ...]  # audience, case, legal-basis tails, in title order
    obj: str  # the head without its verb ("thẻ căn cước")
    doc: str  # the result document citizens ask for by name, "" when the result is a decision or letter
    markers: tuple[str, ...]  # variant markers of the title's main clause
    base: str  # the head without its variant marker ("cấp thẻ căn cước" for "cấp lại thẻ căn cước")
    base_verb: str  # the base's verb ("cấp"), "" when none is known
    variant_obj: str  # what the variant acts on ("thẻ căn cước"), at most 10 words
    acronyms: tuple[str, ...]
    full_online: bool
    keywords: tuple[str, ...]  # the record's everyday names


def _result_doc(procedure: Procedure, obj: str) -> str:
    for candidate in (_split_glued(procedure.result).split(";")[0], obj):
        text = normalize(_PAREN.sub("", candidate))
        text = _DOC_CUT.split(text, 1)[0].strip(" .,-+")
        text = " ".join(_cut(_words(text), 14)).strip(" .,-+")
        if any(text.startswith(noun + " ") for noun in _DOC_NOUNS) and text not in _GENERIC_DOCS:
            return text
    return ""


def _remove_marker(head: str, marker: str) -> str:
    if marker == "nước ngoài":
        cut = re.split(
            r"\s+(?:có yếu tố|cho|của|đối với|với|do|giữa|tại)?\s*(?:người|tổ chức|công dân|cá nhân)?\s*"
            r"(?:nước ngoài|việt nam định cư)",
            head,
            maxsplit=1,
        )[0]
        return cut if len(_words(cut)) >= 2 else head
    words = _words(head)
    phrase = marker.split()
    for i in range(len(words) - len(phrase) + 1):
        if words[i : i + len(phrase)] == phrase:
            rest = words[:i] + words[i + len(phrase) :]
            if not rest or rest[0] not in _VERB_SET and _split_verb(" ".join(rest))[0] == "":
                rest = (["cấp"] if marker in ("lại", "đổi") else []) + rest
            return " ".join(rest) if rest else head
    return head


def _shape(procedure: Procedure) -> _Shape:
    text, acronyms, full_online = _clean_title(procedure.title)
    segments = _segments(text) or [normalize(procedure.title)]
    # A combined title lists its verbs first: "cấp, cấp lại, điều chỉnh giấy phép X".
    verbs: list[str] = []
    i = 0
    while i < len(segments) - 1 and segments[i] in _VERB_SET:
        verbs.append(segments[i])
        i += 1
    first = segments[i]
    parts = _QUALIFIER.split(first)
    head, inner = parts[0], parts[1:]
    if len(_words(head)) < 3 and inner:  # "cấp thẻ" + "cho ..." is too thin a name: keep one more part
        head, inner = f"{head} {inner[0]}", inner[1:]
    inner = [" ".join(inner)] if inner else []
    qualifiers = tuple(q for q in inner + segments[i + 1 :] if q)
    verb, obj = _split_verb(head)
    heads = (
        tuple(dict.fromkeys([f"{v} {obj}" for v in verbs] + [head]))
        if verb or not verbs
        else tuple(dict.fromkeys([f"{v} {head}" for v in verbs]))
    )
    markers = _markers(procedure.title)
    base = head
    for marker in markers:
        base = _remove_marker(base, marker)
    base_verb, variant_obj = _split_verb(base)
    variant_obj = " ".join(_cut(_words(variant_obj), 10))
    keywords = tuple(dict.fromkeys(normalize(k) for k in procedure.keywords if normalize(k)))
    return _Shape(
        heads,
        qualifiers,
        obj,
        _result_doc(procedure, obj),
        markers,
        base,
        base_verb,
        variant_obj,
        tuple(acronyms),
        full_online,
        keywords,
    )


# ---- abbreviations and everyday names, in reverse ------------------------------------------------------


class _Reverse:
    """Formal phrase -> what citizens type instead, from one or more sections of abbreviations.yml."""

    def __init__(self, table: Abbreviations, skip_identity: bool = True):
        options: dict[str, list[str]] = {}
        for key, (expansion, _keep) in table.table.items():
            for surface in table.surfaces[key]:
                surface_text = " ".join(surface)
                # "mất bao lâu" -> "bao lâu" or "giấy tờ" -> "hồ sơ giấy tờ" hold their expansion: no abbreviation
                if skip_identity and (
                    surface_text == expansion
                    or set(expansion.split()) <= set(surface)
                    or set(surface) <= set(expansion.split())
                    and len(surface) > 1
                ):
                    continue
                options.setdefault(expansion, [])
                if surface_text not in options[expansion]:
                    options[expansion].append(surface_text)
        # One-syllable expansions ("cấp" <- "làm") are replaced only where they open the phrase: elsewhere
        # the syllable is usually part of something else ("cấp tỉnh", "cấp III").
        self.leading = {e: s for e, s in options.items() if len(e.split()) == 1}
        self.options = {e: s for e, s in options.items() if len(e.split()) > 1}
        alternatives = sorted(self.options, key=lambda e: (-len(e), e))
        self.pattern = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(e) for e in alternatives) + r")(?!\w)")
            if alternatives
            else None
        )

    def applies(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(text)) or text.split(" ", 1)[0] in self.leading

    def apply(self, text: str, rng: random.Random, share: float = 1.0) -> str:
        """Replace each matching formal phrase with one of its surfaces (each with probability `share`)."""
        first, _, rest = text.partition(" ")
        if first in self.leading and rest and rng.random() < share:
            text = f"{rng.choice(self.leading[first])} {rest}"
        if self.pattern is None:
            return text
        return self.pattern.sub(
            lambda m: rng.choice(self.options[m.group(1)]) if rng.random() < share else m.group(1), text
        )


@lru_cache(maxsize=1)
def _tables() -> tuple[_Reverse, _Reverse, _Reverse]:
    """(abbreviations, everyday names, chat words), each formal phrase -> surfaces."""
    return (
        _Reverse(Abbreviations.load(sections=("abbreviations",))),
        _Reverse(Abbreviations.load(sections=("everyday_names",))),
        _Reverse(Abbreviations.load(sections=("chat",))),
    )


# ---- frames -----------------------------------------------------------------------------------------

# {x}: the procedure as the citizen names it (usually opening with its verb: "cấp lại thẻ căn cước").
FRAMES: dict[str, tuple[str, ...]] = {
    "overview": (
        "{x}",
        "thủ tục {x}",
        "muốn {x} thì làm thế nào",
        "{x} làm sao",
        "hướng dẫn {x}",
        "cách {x}",
        "tôi cần {x}",
        "làm thủ tục {x} như thế nào",
        "{x} thì phải làm gì",
        "mình muốn {x}",
        "{x} thế nào",
        "{x} là thủ tục gì",
    ),
    "documents": (
        "{x} cần giấy tờ gì",
        "hồ sơ {x} gồm những gì",
        "{x} cần chuẩn bị những gì",
        "đi {x} phải mang theo giấy tờ gì",
        "{x} cần những giấy tờ nào",
        "hồ sơ xin {x}",
        "chuẩn bị hồ sơ {x} thế nào",
        "{x} thì nộp những giấy tờ gì",
        "giấy tờ để {x}",
    ),
    "fee": (
        "{x} lệ phí bao nhiêu",
        "{x} mất bao nhiêu tiền",
        "phí {x} là bao nhiêu",
        "{x} có mất phí không",
        "{x} tốn bao nhiêu tiền",
        "lệ phí {x}",
        "{x} có phải đóng tiền không",
        "{x} hết bao nhiêu tiền",
    ),
    "time": (
        "{x} mất bao lâu",
        "{x} bao lâu thì có kết quả",
        "{x} mấy ngày thì xong",
        "thời gian {x} là bao lâu",
        "nộp hồ sơ {x} bao lâu thì nhận được",
        "{x} trong bao nhiêu ngày",
        "{x} có nhanh không",
    ),
    "where": (
        "{x} nộp ở đâu",
        "{x} làm ở đâu",
        "muốn {x} thì đến cơ quan nào",
        "cơ quan nào giải quyết {x}",
        "nộp hồ sơ {x} ở chỗ nào",
        "{x} thì lên đâu làm",
        "ai giải quyết việc {x}",
    ),
    "online": (
        "{x} làm online được không",
        "{x} có nộp trực tuyến được không",
        "có thể {x} qua mạng không",
        "{x} trên cổng dịch vụ công được không",
        "nộp hồ sơ {x} qua bưu điện được không",
        "{x} online như thế nào",
        "không đến trực tiếp thì {x} được không",
    ),
    "steps": (
        "các bước {x} thế nào",
        "trình tự {x}",
        "quy trình {x} ra sao",
        "{x} làm những bước nào",
        "{x} thì làm trình tự thế nào",
        "thủ tục {x} gồm các bước gì",
    ),
    "conditions": (
        "điều kiện {x} là gì",
        "{x} cần điều kiện gì",
        "tôi có đủ điều kiện {x} không",
        "muốn {x} cần đáp ứng điều kiện gì",
        "yêu cầu để {x} là gì",
    ),
    "result": (
        "{x} xong thì được cấp giấy gì",
        "{x} thì nhận được kết quả gì",
        "kết quả {x} là gì",
        "{x} được cấp giấy tờ gì",
        "làm xong {x} nhận được gì",
    ),
}
# Level-aware "where" questions: a citizen guesses the level ("làm ở xã được không").
_LEVEL_WHERE = {
    Level.commune: ("ở xã", "ở ủy ban xã", "ở phường"),
    Level.province: ("ở tỉnh", "ở sở"),
    Level.ministry: ("ở bộ", "ở trung ương"),
}
# {d}: the result document ("giấy xác nhận tình trạng hôn nhân").
DOC_FRAMES: dict[str, tuple[str, ...]] = {
    "overview": (
        "xin {d}",
        "muốn có {d} thì làm sao",
        "cách xin {d}",
        "làm sao để được cấp {d}",
        "làm {d}",
        "xin cấp {d} thế nào",
        "tôi cần {d}",
    ),
    "documents": ("xin {d} cần những gì", "làm {d} cần giấy tờ gì", "hồ sơ xin {d}"),
    "where": ("xin {d} ở đâu", "làm {d} ở đâu", "{d} xin ở cơ quan nào"),
    "fee": ("xin {d} mất bao nhiêu tiền", "làm {d} tốn bao nhiêu"),
    "time": ("xin {d} mất mấy ngày", "làm {d} bao lâu thì có"),
    "online": ("xin {d} online được không", "làm {d} qua mạng được không"),
    "steps": ("các bước xin {d}", "quy trình làm {d}"),
    "conditions": ("điều kiện để được cấp {d}", "ai được cấp {d}"),
    "result": ("muốn có {d} thì làm thủ tục gì", "{d} thì làm thủ tục nào"),
}
# The aspect asked on its own, after a sentence that named the procedure ("Tôi muốn ... . Xin hỏi ...").
ASPECT_ALONE: dict[str, tuple[str, ...]] = {
    "overview": ("phải làm thủ tục gì", "thủ tục thế nào", "tôi phải làm gì", "bắt đầu từ đâu"),
    "documents": ("cần những giấy tờ gì", "hồ sơ gồm những gì", "cần chuẩn bị những gì", "còn thiếu giấy tờ gì"),
    "fee": ("lệ phí bao nhiêu", "có mất phí không", "hết bao nhiêu tiền"),
    "time": ("mất bao lâu", "bao lâu thì có kết quả", "mấy ngày thì xong"),
    "where": ("nộp hồ sơ ở đâu", "làm ở cơ quan nào", "tôi phải đến đâu"),
    "online": ("có làm online được không", "có nộp qua mạng được không", "nộp qua bưu điện được không"),
    "steps": ("các bước thế nào", "trình tự ra sao", "quy trình gồm những bước nào"),
    "conditions": ("cần điều kiện gì", "tôi có đủ điều kiện không", "có yêu cầu gì không"),
    "result": ("làm xong được cấp giấy gì", "kết quả nhận được là gì", "sẽ nhận được giấy tờ gì"),
}
# How a condition that describes the applicant starts ("có đủ năng lực ...", "không thuộc trường hợp ...").
_APPLICANT_STATES = (
    "có ",
    "đã ",
    "đủ ",
    "là ",
    "được ",
    "đang ",
    "không có ",
    "không thuộc ",
    "không bị ",
    "không đang ",
)
_CITIZEN_PERSONAS = (
    "Tôi năm nay",
    "Tôi là người dân",
    "Tôi là công dân",
    "Nhà tôi",
    "Tôi là việt kiều",
    "Tôi là người nước ngoài",
    "Tôi là công chức",
)
_HELD_DOCS = (
    "đơn",
    "tờ khai",
    "bản sao",
    "bản chính",
    "giấy",
    "sổ",
    "thẻ",
    "hộ chiếu",
    "hợp đồng",
    "văn bản",
    "ảnh",
    "chứng chỉ",
    "trích lục",
    "bằng",
)
_CHAT_OPENERS = ("", "", "", "cho e hỏi ", "ad ơi ", "mn ơi ", "cho mình hỏi ", "hỏi chút ", "e muốn hỏi ")
_CHAT_CLOSERS = ("", "", "", " ạ", " a", " vậy", " thế", " nhỉ", " ad ơi", " nhé")
_SHORT_OPENERS = ("", "", "", "", "cho hỏi ", "xin hỏi ", "cho tôi hỏi ")
_POLITE_TO = ("Quý cơ quan", "Ban biên tập", "Cổng dịch vụ công", "cơ quan có thẩm quyền", "anh chị cán bộ")
_POLITE_FORMS = (
    "Kính gửi {to}, cho tôi hỏi {q}? Xin cảm ơn.",
    "Kính gửi {to}. Tôi xin hỏi: {q}? Rất mong nhận được hướng dẫn. Trân trọng cảm ơn!",
    "Xin chào {to}, tôi muốn được hướng dẫn về việc {x}. Cụ thể là {q}? Xin cảm ơn.",
    "Kính gửi {to}, tôi có một thắc mắc mong được giải đáp: {q}? Xin chân thành cảm ơn.",
    "Chào {to}. Cho tôi hỏi {q}? Cảm ơn.",
)
_STORY_ASKS = (
    "Xin hỏi {q}?",
    "Cho tôi hỏi {q}?",
    "Vậy {q}?",
    "Tôi muốn hỏi {q}?",
    "Nhờ hướng dẫn giúp {q}?",
    "Không biết {q}?",
)
_PLACES = (
    "Hà Nội",
    "TP.HCM",
    "Đà Nẵng",
    "Cần Thơ",
    "Hải Phòng",
    "Nghệ An",
    "Thanh Hóa",
    "Đồng Nai",
    "Bình Định",
    "Quảng Ninh",
    "Lâm Đồng",
    "Thái Bình",
    "An Giang",
    "Gia Lai",
)
_FOREIGN_GENERIC = frozenset(("nước ngoài", "ngoại quốc", "ngoại kiều", "việt kiều", "quốc tịch"))
_COUNTRIES = tuple(c for c in VARIANT_MARKERS["nước ngoài"] if c not in _FOREIGN_GENERIC)

# Variant cue phrases for a record that IS the variant: {d} the result document (templates with it are
# used only when the record names one), {o} what the variant acts on, {v} the base verb, {b} the base
# procedure, {c} a country. Every template carries one of the marker's cues (variants.VARIANT_MARKERS).
SIBLING_FRAMES: dict[str, tuple[str, ...]] = {
    "lại": (
        "bị mất {d} muốn làm lại",
        "{d} bị hỏng thì xin cấp lại thế nào",
        "làm lại {d} cần giấy tờ gì",
        "bị mất {d} rồi làm lại ở đâu",
        "{d} bị rách muốn cấp lại",
        "xin cấp lại {d}",
        "{d} bị thất lạc phải làm lại thế nào",
        "làm mất {d} thì phải làm sao",
        "muốn làm lại {o}",
        "{v} lại {o} cần những gì",
        "đã {v} {o} rồi giờ muốn {v} lại",
    ),
    "đổi": (
        "đổi {d}",
        "muốn đổi {d} mới",
        "{d} cũ đổi ở đâu",
        "đổi {d} cần những gì",
        "đi đổi {d} mất bao lâu",
        "muốn đổi {o}",
    ),
    "thay đổi": (
        "thay đổi thông tin trên {d}",
        "muốn thay đổi {o}",
        "thay đổi {o} thế nào",
        "có thay đổi {o} thì báo ở đâu",
    ),
    "chuyển đổi": ("chuyển đổi {o}", "muốn đổi {o} sang loại khác", "đổi {o} thế nào"),
    "sửa đổi": ("sửa đổi {o}", "muốn sửa {o}", "sửa nội dung {d} thế nào"),
    "điều chỉnh": ("điều chỉnh {o}", "muốn chỉnh {o}", "thông tin trên {d} bị sai cần chỉnh thế nào"),
    "bổ sung": ("bổ sung {o}", "muốn bổ sung {o}", "thêm {o} thì làm thủ tục gì"),
    "cập nhật": ("cập nhật {o}", "muốn cập nhật {o}"),
    "gia hạn": (
        "{d} sắp hết hạn muốn gia hạn",
        "gia hạn {d} làm sao",
        "{d} hết hạn rồi thì làm thế nào",
        "xin gia hạn {o}",
        "muốn gia hạn {o}",
    ),
    "xóa": ("muốn xóa {o}", "xóa {o} thế nào", "xin xóa {o}"),
    "hủy": ("muốn hủy {o}", "hủy {o} làm sao"),
    "thu hồi": ("thu hồi {o}", "xin thu hồi {o}", "thủ tục thu hồi {o}"),
    "tạm ngừng": ("muốn tạm ngừng {o}", "nghỉ {o} một thời gian thì báo ở đâu"),
    "ngừng": ("muốn ngừng {o}", "nghỉ {o} thì báo ở đâu"),
    "chấm dứt": ("chấm dứt {o}", "muốn chấm dứt {o}", "nghỉ hẳn {o} thì làm thủ tục gì"),
    "dừng": ("dừng {o}", "muốn dừng {o}"),
    "giải thể": ("giải thể {o}", "muốn giải thể {o} thì làm sao", "đóng {o} luôn thì làm gì"),
    "khôi phục": ("khôi phục {o}", "muốn khôi phục {o}"),
    "phục hồi": ("phục hồi {o}", "xin phục hồi {o}"),
    "nước ngoài": (
        "người nước ngoài muốn {b} thì làm thế nào",
        "tôi là việt kiều, muốn {b}",
        "{b} với người {c}",
        "người có quốc tịch {c} muốn {b}",
        "{b} cho người nước ngoài",
        "chồng tôi là người {c}, {b} ở đâu",
    ),
}
# Situation sentences for a record that is a variant (used in stories).
_SIBLING_SITUATIONS: dict[str, tuple[str, ...]] = {
    "lại": (
        "Tôi lỡ làm mất {d}.",
        "{D} của tôi bị hỏng, rách nát không dùng được nữa.",
        "Hôm trước chuyển nhà tôi bị thất lạc {d}.",
    ),
    "gia hạn": ("{D} của tôi sắp hết hạn.", "{D} của bên tôi hết hạn tháng trước."),
    "đổi": ("{D} của tôi đã cũ, muốn đổi cái mới.",),
    "nước ngoài": (
        "Tôi là việt kiều đang sống ở {c}.",
        "Vợ tôi là người {c}.",
        "Tôi là người nước ngoài đang sống ở Việt Nam.",
    ),
}


# ---- surface transformations --------------------------------------------------------------------------


def _typo(text: str, rng: random.Random, count: int = 0) -> str:
    """Deterministic typos in one or two words: swapped, dropped or doubled letters, or one unaccented word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    for i in rng.sample(candidates, min(len(candidates), count or rng.choice((1, 1, 2)))):
        w = words[i]
        op = rng.randrange(4)
        j = rng.randrange(1, len(w) - 1)
        if op == 0:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif op == 1:
            w = w[:j] + w[j + 1 :]
        elif op == 2:
            w = w[:j] + w[j] + w[j:]
        else:
            w = fold(w) if fold(w) != w else w[:j] + w[j + 1 :]
        words[i] = w
    return " ".join(words)


def _drop_filler(text: str, rng: random.Random) -> str:
    present = [f for f in _FILLERS if f" {f}" in f" {text}"]
    if present:
        filler = rng.choice(present)
        text = re.sub(rf"(?<!\w){filler}", "", text, count=1)
    return text


_REPEAT = re.compile(r"(?<!\w)(\w+(?: \w+)?) \1(?!\w)")


def _tidy(text: str) -> str:
    """One space, no doubled word or word pair ("giải quyết giải quyết ..." from a frame and a name)."""
    text = re.sub(r"\s+", " ", text).strip()
    text = _REPEAT.sub(r"\1", text)
    return re.sub(r"\s+([,.?!])", r"\1", text)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _finish_short(text: str, rng: random.Random) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text + "?" if rng.random() < 0.35 else text


# ---- per-record generator -------------------------------------------------------------------------------


class _RecordGenerator:
    def __init__(self, procedure: Procedure, shape: _Shape, rng: random.Random):
        self.p = procedure
        self.s = shape
        self.rng = rng
        self.abbr, self.everyday, self.chat = _tables()

    # topics

    def topic(self, keep_first: float = 0.7, keep_more: float = 0.25) -> str:
        """The procedure as a citizen names it: one head, some qualifiers, cut or reordered."""
        rng, s = self.rng, self.s
        head = rng.choice(s.heads)
        kept: list[str] = []
        for i, qualifier in enumerate(s.qualifiers):
            if rng.random() < (keep_first if i == 0 else keep_more):
                words = _words(qualifier)
                if len(words) > 6 and rng.random() < 0.6:
                    words = _cut(words, rng.randint(3, 8), hard=False)
                if words:
                    kept.append(" ".join(words))
        if rng.random() < 0.25 and _split_verb(head)[0] in _AGENCY_VERBS:
            head = f"xin {head}"
        front = _FRONTABLE.match(kept[0]) if kept else None
        if front and len(_words(front.group(1))) >= 3 and rng.random() < 0.2:
            # topic first, as in speech: "người dưới 14 tuổi cấp thẻ căn cước"
            parts = [front.group(1), head] + kept[1:]
        elif len(kept) > 1 and rng.random() < 0.2:
            parts = [head] + kept[::-1]
        else:
            parts = [head] + kept
        while len(parts) > 1 and len(_words(" ".join(parts))) > 18:  # too long: drop whole qualifiers first
            parts.pop()
        text = " ".join(parts)
        if rng.random() < 0.3:
            text = _drop_filler(text, rng)
        words = _words(text)
        text = " ".join(_cut(words, rng.randint(10, 16)) if len(words) > 18 else _strip_function_tail(words))
        if s.acronyms and rng.random() < 0.3:
            text = f"{text} {rng.choice(s.acronyms)}"
        if s.full_online and rng.random() < 0.6:
            text = f"{text} {rng.choice(('online', 'trực tuyến', 'qua mạng'))}"
        return text

    def frame(self, aspect: str, x: str, bare_ok: bool = True) -> str:
        """One question about `aspect` of `x`; bare_ok: the bare name counts as a question (not in a sentence)."""
        rng = self.rng
        if aspect == "where" and self.p.levels and rng.random() < 0.2:
            level = rng.choice(self.p.levels)
            if level in _LEVEL_WHERE:
                return f"{x} có làm {rng.choice(_LEVEL_WHERE[level])} được không"
        frame = rng.choice(FRAMES[aspect])
        if frame == "{x}" and not bare_ok:
            frame = "thủ tục {x} thế nào"
        return frame.format(x=x)

    # styles

    def short(self, aspect: str) -> str:
        return _finish_short(self.rng.choice(_SHORT_OPENERS) + self.frame(aspect, self.topic()), self.rng)

    def chat_text(self, text: str) -> str:
        rng = self.rng
        text = self.chat.apply(text, rng, share=0.6)
        text = self.abbr.apply(text, rng, share=0.4)
        text = rng.choice(_CHAT_OPENERS) + text + rng.choice(_CHAT_CLOSERS)
        if rng.random() < 0.85:
            text = fold(text)
        return re.sub(r"[,.?!]", "", text).strip()

    def chat_(self, aspect: str) -> str:
        return self.chat_text(self.frame(aspect, self.topic(keep_first=0.4, keep_more=0.1)))

    def folded(self, aspect: str) -> str:
        return _finish_short(fold(self.rng.choice(_SHORT_OPENERS) + self.frame(aspect, self.topic())), self.rng)

    def abbrev(self, aspect: str) -> str | None:
        x = self.topic()
        y = self.abbr.apply(x, self.rng)
        if y == x:
            x = " ".join(self.s.heads)  # try the full name once
            y = self.abbr.apply(self.rng.choice(self.s.heads), self.rng)
            if y in self.s.heads:
                return None
        text = self.frame(aspect, y)
        return _finish_short(fold(text) if self.rng.random() < 0.3 else text, self.rng)

    def everyday_(self, aspect: str) -> str | None:
        rng, s = self.rng, self.s
        if s.keywords and rng.random() < 0.75:
            x = rng.choice(s.keywords)
        else:
            x = self.topic()
            y = self.everyday.apply(x, rng)
            if y == x:
                y = self.everyday.apply(rng.choice(s.heads), rng)
                if y in s.heads:
                    if not s.keywords:
                        return None
                    y = rng.choice(s.keywords)
            x = y
        text = self.frame(aspect, x)
        return _finish_short(fold(text) if rng.random() < 0.3 else text, rng)

    def typo(self, aspect: str) -> str:
        rng = self.rng
        text = self.frame(aspect, self.topic(keep_first=0.5))
        if rng.random() < 0.5:
            text = fold(text)
        return _typo(text, rng)

    def result_doc(self, aspect: str) -> str | None:
        rng, d = self.rng, self.s.doc
        if not d:
            return None
        text = rng.choice(DOC_FRAMES[aspect]).format(d=d)
        if rng.random() < 0.3:
            text = self.everyday.apply(self.abbr.apply(text, rng, 0.5), rng, 0.5)
        if rng.random() < 0.3:
            text = fold(text)
        return _finish_short(text, rng)

    def _sibling_fill(self, template: str, marker: str) -> str:
        s = self.s
        d = s.doc or s.variant_obj
        o = s.variant_obj
        b = s.base
        return template.format(d=d, D=_capitalize(d), o=o, b=b, v=s.base_verb or "làm", c=self.rng.choice(_COUNTRIES))

    def sibling(self, aspect: str) -> str | None:
        rng, s = self.rng, self.s
        markers = [m for m in s.markers if m in SIBLING_FRAMES]
        if not markers:
            return None
        marker = rng.choice(markers)
        templates = [t for t in SIBLING_FRAMES[marker] if s.doc or "{d}" not in t]
        text = self._sibling_fill(rng.choice(templates), marker)
        if rng.random() < 0.35:
            text = fold(text)
        return _finish_short(text, rng)

    def story(self, aspect: str) -> str:
        rng, p, s = self.rng, self.p, self.s
        sentences = [self._persona()]
        extra = []
        markers = [m for m in s.markers if m in _SIBLING_SITUATIONS]
        if markers and rng.random() < 0.7:
            marker = rng.choice(markers)
            templates = [t for t in _SIBLING_SITUATIONS[marker] if s.doc or "{d}" not in t.lower()]
            if templates:
                situation = self._sibling_fill(rng.choice(templates), marker)
                if marker == "nước ngoài":  # who the citizen is: replaces the persona
                    sentences = [situation]
                else:
                    extra.append(situation)
        situation = self._condition_situation(not sentences[0].startswith(_CITIZEN_PERSONAS))
        if situation and rng.random() < 0.5:
            extra.append(situation)
        if p.field and rng.random() < 0.4:
            extra.append(
                rng.choice(
                    ("Việc của tôi liên quan đến {f}.", "Tôi đang tìm hiểu về {f}.", "Tôi có việc cần làm về {f}.")
                ).format(f=normalize(p.field))
            )
        if aspect == "documents" and rng.random() < 0.5:
            held = self._document_held()
            if held:
                extra.append(f"Tôi đã chuẩn bị {held} rồi.")
        rng.shuffle(extra)
        sentences += extra[:2]
        x = self.topic()
        if rng.random() < 0.5:
            verb = _split_verb(x.removeprefix("xin "))[0]
            sentences.append(f"Tôi muốn {x}." if verb else f"Tôi muốn làm thủ tục {x}.")
            question = rng.choice(ASPECT_ALONE[aspect])
        else:
            question = self.frame(aspect, x, bare_ok=False)
        sentences.append(rng.choice(_STORY_ASKS).format(q=question))
        text = " ".join(_capitalize(sentence) for sentence in sentences)
        return fold(text) if rng.random() < 0.15 else text

    def _document_held(self) -> str:
        """A dossier document the citizen already has, named shortly ("đơn đề nghị", "bản sao giấy khai sinh")."""
        names = []
        for document in self.p.documents:
            name = _DOC_CUT.split(normalize(_PAREN.sub("", document.name)), 1)[0]
            words = _cut(_words(name), 8)
            if len(words) >= 2 and name.startswith(_HELD_DOCS):
                names.append(" ".join(words))
        return self.rng.choice(names) if names else ""

    def _persona(self) -> str:
        rng, audience = self.rng, normalize(self.p.audience)
        foreign = "nước ngoài" in " ".join(self.s.markers)
        options = []
        if "công dân" in audience or not audience:
            options += [
                f"Tôi năm nay {rng.randint(19, 70)} tuổi, đang sống ở {rng.choice(_PLACES)}.",
                f"Tôi là người dân ở {rng.choice(_PLACES)}.",
                "Tôi là công dân Việt Nam.",
                f"Nhà tôi ở {rng.choice(_PLACES)}.",
            ]
        if "doanh nghiệp" in audience:
            options += [
                "Tôi là kế toán của một công ty.",
                "Công ty tôi mới thành lập được vài năm.",
                f"Tôi phụ trách giấy tờ cho một doanh nghiệp ở {rng.choice(_PLACES)}.",
            ]
        if "hợp tác xã" in audience:
            options.append("Tôi là chủ nhiệm một hợp tác xã.")
        if "tổ chức" in audience:
            options.append("Tôi làm văn thư ở một đơn vị.")
        if "công chức" in audience:
            options.append("Tôi là công chức.")
        if foreign:
            options += ["Tôi là người nước ngoài đang làm việc tại Việt Nam.", "Tôi là việt kiều."]
        return rng.choice(options or ["Tôi có một việc cần hỏi."])

    def _condition_situation(self, organisation: bool) -> str:
        """The applicant meeting one of the record's conditions ("Bên tôi có đủ năng lực tài chính.")."""
        items = []
        for item in re.split(r"[\n;]|\s[-+]\s|\.\s", self.p.conditions):
            item = normalize(re.sub(r"^\W*(?:\w{1,2}[.)]\s*)?", "", item.strip())).strip(" .,;:")
            if (
                4 <= len(item.split()) <= 16
                and item.startswith(_APPLICANT_STATES)
                and not item.endswith(("sau", "sau đây"))
            ):
                items.append(item)
        if not items:
            return ""
        return f"{'Bên tôi' if organisation else 'Tôi'} {self.rng.choice(items)}."

    def polite(self, aspect: str) -> str:
        rng, p = self.rng, self.p
        to = rng.choice(p.agencies) if p.agencies and rng.random() < 0.3 else rng.choice(_POLITE_TO)
        x = self.topic()
        forms = [f for f in _POLITE_FORMS if aspect != "overview" or "{x}" not in f]
        return rng.choice(forms).format(to=to, q=self.frame(aspect, x, bare_ok=False), x=x)

    def make(self, style: str, aspect: str) -> str | None:
        method = {"chat": self.chat_, "everyday": self.everyday_}.get(style) or getattr(self, style)
        return method(aspect)


def _available(shape: _Shape) -> list[str]:
    abbr, everyday, _ = _tables()
    styles = ["short", "chat", "story", "polite", "folded", "typo"]
    if any(abbr.applies(h) for h in shape.heads) or any(abbr.applies(q) for q in shape.qualifiers[:1]):
        styles.append("abbrev")
    if shape.keywords or any(everyday.applies(h) for h in shape.heads):
        styles.append("everyday")
    if shape.doc:
        styles.append("result_doc")
    if any(m in SIBLING_FRAMES for m in shape.markers):
        styles.append("sibling")
    return styles


def _weighted_order(rng: random.Random, weights: dict[str, int], names: list[str], count: int) -> list[str]:
    """`count` names: weighted sampling without replacement, starting over when all were used."""
    out: list[str] = []
    while len(out) < count:
        pool = list(names)
        while pool and len(out) < count:
            pick = rng.choices(pool, weights=[weights[n] for n in pool])[0]
            pool.remove(pick)
            out.append(pick)
    return out


def _record_rng(seed: int, procedure: Procedure, salt: str = "") -> random.Random:
    # A str seed is hashed with SHA-512 by random.Random: stable across runs and PYTHONHASHSEED.
    return random.Random(f"{seed}|{salt}|{procedure.code}|{procedure.title}")


def questions_for(procedure: Procedure, count: int = 6, seed: int = 13) -> list[GeneratedQuestion]:
    """`count` distinct questions for one record (fewer only if retries keep colliding)."""
    rng = _record_rng(seed, procedure)
    shape = _shape(procedure)
    gen = _RecordGenerator(procedure, shape, rng)
    styles = _available(shape)
    order = _weighted_order(rng, STYLE_WEIGHTS, styles, count)
    if "sibling" in styles and "sibling" not in order:
        order[-1] = "sibling"  # a variant record always gets a question naming its variant
    aspects = _weighted_order(rng, ASPECT_WEIGHTS, list(ASPECTS), count)
    title = _bare(procedure.title)
    seen: set[str] = set()
    out: list[GeneratedQuestion] = []
    for style, aspect in zip(order, aspects, strict=True):
        for attempt in range(6):
            # a style that has nothing to say for this record, or keeps colliding, falls back to "short"
            text = gen.make(style, aspect)
            if text is None:
                style = "short"
                continue
            text = _tidy(text)
            # The verbatim title teaches nothing: allowed only as a last resort.
            if text and text not in seen and (_bare(text) != title or attempt == 5):
                seen.add(text)
                out.append(GeneratedQuestion(text, procedure.code, aspect, style, procedure.field))
                break
            if attempt == 3:
                style = "short"
    if not out:  # every attempt collided: a record is never left without a question
        out.append(
            GeneratedQuestion(
                _finish_short(gen.frame("overview", gen.topic()), rng),
                procedure.code,
                "overview",
                "short",
                procedure.field,
            )
        )
    return out


def _bare(text: str) -> str:
    return without_procedure_prefix(normalize(text)).strip(" .?!:")


def generate(procedures: list[Procedure], per_record: int = 6, seed: int = 13) -> list[GeneratedQuestion]:
    """At least one question per record, per_record on average; deterministic for the same (procedures, seed).

    Records are taken in the given order; each record's questions depend only on the record and the
    seed, so adding or removing a record changes no other record's questions.
    """
    count = max(1, int(per_record))
    out: list[GeneratedQuestion] = []
    for procedure in procedures:
        out.extend(questions_for(procedure, count, seed))
    return out


# ---- questions about rules (no-answer negatives) --------------------------------------------------------

RULE_FRAMES: dict[str, tuple[str, ...]] = {
    "rule_penalty": (
        "không {b} thì bị phạt bao nhiêu tiền",
        "chậm {b} bị xử phạt thế nào",
        "không có {d} thì bị phạt bao nhiêu",
        "mức phạt vi phạm về {f} là bao nhiêu",
        "{d} hết hạn mà vẫn dùng có bị phạt không",
        "vi phạm quy định về {f} bị xử lý ra sao",
        "làm giả {d} thì bị xử lý hình sự không",
        "cho người khác mượn {d} có bị phạt không",
    ),
    "rule_rate": (
        "thuế suất đối với {o} là bao nhiêu phần trăm",
        "mức đóng góp tối đa trong lĩnh vực {f} là bao nhiêu",
        "mức trần áp dụng cho {o} năm nay là bao nhiêu",
        "tỷ lệ phần trăm phải nộp khi có thu nhập từ {o}",
        "lãi suất tối đa trong lĩnh vực {f} theo quy định là bao nhiêu",
        "mức hưởng tối đa liên quan đến {f} được tính theo công thức nào",
    ),
    "rule_entitlement": (
        "con riêng có được thừa kế {o} không",
        "vợ chồng ly hôn thì {o} chia thế nào",
        "{o} là tài sản chung hay tài sản riêng của vợ chồng",
        "bố mẹ già yếu thì con nào có nghĩa vụ nuôi dưỡng",
        "người thuê có quyền gì đối với {o}",
        "anh em trong nhà ai được hưởng {o} bố mẹ để lại",
        "người lao động làm việc về {f} được hưởng những quyền lợi gì",
    ),
    "rule_law": (
        "luật mới về {f} có hiệu lực từ khi nào",
        "{d} cấp theo quy định cũ có còn giá trị không",
        "quy định mới về {f} thay đổi những gì so với trước",
        "nghị định mới về {f} áp dụng từ ngày nào",
        "luật quy định thế nào về trách nhiệm của chủ {o}",
        "văn bản nào quy định về {f} hiện nay",
    ),
    "rule_dispute": (
        "hàng xóm tranh chấp {o} với nhà tôi thì giải quyết sao",
        "người mua không trả đủ tiền {o} thì tôi phải làm gì",
        "bạn tôi giữ {d} của tôi không chịu trả thì xử lý thế nào",
        "anh em tranh chấp {o} do bố mẹ để lại thì phân chia ra sao",
        "công ty làm về {f} nợ lương tôi ba tháng thì phải làm sao",
        "đối tác vi phạm hợp đồng về {o} thì đòi bồi thường thế nào",
    ),
}


_PROPERTY_WORDS = (
    "đất",
    "nhà",
    "nhà ở",
    "xe",
    "tàu",
    "tài sản",
    "vốn",
    "cổ phần",
    "cổ phiếu",
    "phần vốn góp",
    "căn hộ",
    "phương tiện",
    "rừng",
    "quyền sử dụng đất",
)
_PROPERTY_STYLES = ("rule_entitlement", "rule_dispute")


def rule_questions(procedures: list[Procedure], count: int, seed: int = 13) -> list[GeneratedQuestion]:
    """`count` questions ABOUT RULES around the catalogue's topics, code "": no procedure answers them.

    Penalties, rates and ceilings, entitlements, how a law applies and private disputes, each built
    from one record's field, object and result document, so the negatives share the positives'
    vocabulary. A fraction is written like chat (no diacritics, abbreviations), as citizens do.
    """
    if not procedures or count <= 0:
        return []
    rng = random.Random(f"rules|{seed}")
    shapes: dict[int, _Shape] = {}
    abbr, _, chat = _tables()
    seen: set[str] = set()
    out: list[GeneratedQuestion] = []
    attempts = 0
    while len(out) < count and attempts < count * 20:
        attempts += 1
        i = rng.randrange(len(procedures))
        p = procedures[i]
        shape = shapes.get(i) or shapes.setdefault(i, _shape(p))
        obj = " ".join(_cut(_words(shape.obj or shape.base), 8))
        doc = shape.doc or obj
        base = rng.choice(shape.heads)
        base = " ".join(_cut(_words(base), 10))
        field = normalize(p.field) or obj
        style = rng.choice(RULE_STYLES)
        # inheritance and disputes are about property: other objects only fill the other frames
        owned = any(f" {word} " in f" {obj} " for word in _PROPERTY_WORDS)
        frames = [
            f
            for f in RULE_FRAMES[style]
            if (owned or "{o}" not in f or style not in _PROPERTY_STYLES) and (shape.doc or "{d}" not in f)
        ]
        text = _tidy(rng.choice(frames).format(b=base, d=doc, o=obj, f=field))
        roll = rng.random()
        if roll < 0.25:
            text = fold(chat.apply(abbr.apply(text, rng, 0.4), rng, 0.6))
        elif roll < 0.45:
            text = f"Cho tôi hỏi {text}? Xin cảm ơn."
        elif roll < 0.55:
            text = _typo(text, rng)
        elif rng.random() < 0.4:
            text += "?"
        if text not in seen:
            seen.add(text)
            out.append(GeneratedQuestion(text, "", "overview", style, p.field))
    return out
