"""Parse the flattened dossier table (`thanh_phan_ho_so`) and legal-basis table (`can_cu_phap_ly`).

Dossier: each group is `<heading>Tên giấy tờMẫu đơn, tờ khaiSố lượng<rows>`; a row is
`<document name><form file name, if any><copies>`, the copies cell being e.g. "1 bản chính" or
"0 bản chính,1 bản sao". Rows whose copies are all zero and that read as notes ("Trường hợp …", rows under
a "Lưu ý" heading) or as sub-headings ("… gồm:") are explanations, not documents, and are left out of the
checklist.

Legal basis: `Tên văn bản pháp lýMã văn bản` then rows `<title><number>`, the number glued to the next
title (e.g. "…Luật Hộ tịch123/2015/NĐ-CPThông tư …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge_base.importers.text import clean_text, field_value
from knowledge_base.schema import DossierDocument, LegalDocument

DOSSIER_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"

_ONE_COPY = r"(\d+)\s?[Bb]ản\s?(chính|sao|chụp)"
COPIES_CELL = re.compile(rf"{_ONE_COPY}(?:\s?,\s?{_ONE_COPY})*")
_FORM_EXTENSION = re.compile(r"(?i:\.(?:docx?|pdf|xlsx?|odt|rtf|zip|rar))(?![a-z])")
# Where a form file name starts: a form keyword glued to the name ("…sảnMau 09-Phu luc.docx") …
_GLUED_FORM_KEYWORD = re.compile(
    r"(?<=[\w.;:)])(?=Mẫu|Mau|MAU|MẪU|Mus\d|mau(?: so)? ?\d|Phụ lục|Phu luc|PL\b|Biểu mẫu|Bieu mau|BM\b)"
)
# … or the end of the name's sentence glued to the file name ("…của Bộ Công an.NC14 (1).doc").
_SENTENCE_END = re.compile(r"(?<=[.;:)])(?=[^\s\d.,;:)])")
_FILE_TOKEN_AFTER_SENTENCE = re.compile(r"(?<=[.;:)])(?=\S+$)")
# "…(mẫu NA9).10-Mẫu NA9.doc", "…đối với cá nhân7-Mẫu NA6.doc": a numbered form file glued to the name.
_NUMBERED_FILE = re.compile(r"(?<=[.;:)])(?=\d{1,4}[-_])|(?<=[^\s\d])(?=\d{1,4}[-_](?:Mẫu|Mau|MẪU|MAU))")
_NOTE_START = re.compile(
    r"^\(?\s*(?:Trường hợp|Lưu ý|Ghi chú|Người tiếp nhận|Đối với giấy tờ xuất trình)", re.IGNORECASE
)
_SET_COUNT = re.compile(r"^Số lượng hồ sơ", re.IGNORECASE)  # "Số lượng hồ sơ: 01 (một) bộ." is not a document
_NOTE_GROUP = re.compile(r"^(?:Lưu ý|Ghi chú|Chú ý)\b", re.IGNORECASE)
_SUB_HEADING = re.compile(r"(?:gồm|sau đây|sau|như sau)\s*:?\s*$|:\s*$")
_BULLET = re.compile(r"^(?:[-+*•–]\s*|\(?[a-zđ0-9ivx]{1,4}\)\s*|\d{1,2}[./]\s+)+")


def _camel_joins(text: str) -> list[int]:
    """Positions where a lower-case letter is glued to an upper-case one ("…hoạt độngMẫu …")."""
    return [i for i in range(1, len(text)) if text[i - 1].islower() and text[i].isupper()]


_NUMBER_CONTEXT = ("số ", "Mẫu ", "mẫu ", "năm ", "/", ".", "-", "Điều ")


def copies_cells(text: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of the copies cells that end a row.

    "01 bản sao giấy khai sinh" (space, then lower case) is prose, not a cell. A count glued to a number that
    ends the name ("… theo Mẫu số 18" + "1 bản chính" -> "181 bản chính", "… năm 2025" + "1 bản chính") gives
    its leading digits back to the name: a count has one digit, or two when written "02".
    """
    cells = []
    for match in COPIES_CELL.finditer(text):
        start, end = match.span()
        following = text[end : end + 2]
        if following[:1].isspace() and following[1:2].islower():
            continue
        count = match.group(1)
        glued = len(count) >= 3 or (len(count) == 2 and count[0] != "0" and text[:start].endswith(_NUMBER_CONTEXT))
        if glued:
            start += len(count) - 1
        cells.append((start, end, text[start:end]))
    return cells


@dataclass
class DocumentParse:
    documents: list[DossierDocument] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _copies_text(cell: str) -> tuple[str, bool]:
    """'0 bản chính,1 bản sao' -> ('1 bản sao', True); all zero -> ('', False)."""
    parts = re.findall(_ONE_COPY, cell)
    stated = [f"{int(n)} bản {kind}" for n, kind in parts if int(n) > 0]
    return ", ".join(stated), bool(stated)


def split_form(cell: str) -> tuple[str, str]:
    """'Tờ khai (mẫu NC14) … Bộ Công an.NC14 (1).doc' -> ('Tờ khai (mẫu NC14) … Bộ Công an.', 'NC14 (1).doc')."""
    extensions = list(_FORM_EXTENSION.finditer(cell))
    if not extensions:
        return cell, ""
    first_end = extensions[0].start()
    head = cell[:first_end]
    for find_starts in (
        lambda: [m.start() for m in _GLUED_FORM_KEYWORD.finditer(head)],
        lambda: [m.start() for m in _SENTENCE_END.finditer(head)],
        lambda: [m.start() for m in _FILE_TOKEN_AFTER_SENTENCE.finditer(head)],  # "…nhận con.14-HSB.docx"
        lambda: [m.start() for m in _NUMBERED_FILE.finditer(head)],
        lambda: _camel_joins(head),
    ):
        starts = [start for start in find_starts() if start > 0]
        if starts:
            start = starts[-1]
            files = cell[start : extensions[-1].end()]
            names = [
                f
                for f in re.split(r"(?<=\.docx)|(?<=\.doc)(?!x)|(?<=\.pdf)|(?<=\.xlsx)|(?<=\.xls)(?!x)", files)
                if f.strip()
            ]
            return cell[:start] + cell[extensions[-1].end() :], "; ".join(n.strip() for n in names)
    return cell, ""


def _document_name(text: str) -> str:
    name = clean_text(_BULLET.sub("", clean_text(text))).rstrip(" ;,:")
    return re.sub(r"(?<=[.)])\s*\d{1,2}\.$", "", name)  # "(Mẫu CT01 …).1." left by a numbered form file


def parse_documents(text: str) -> DocumentParse:
    """Flattened dossier table -> documents with copies, form and group heading."""
    result = DocumentParse()
    if DOSSIER_HEADER not in text:
        if copies_cells(text):
            result.warnings.append(("no table header", clean_text(text)[:100]))
        return result
    chunks = text.split(DOSSIER_HEADER)
    heading = chunks[0]
    for chunk in chunks[1:]:
        group = _document_name(heading).rstrip(":").strip(" -*")
        position = 0
        cells = copies_cells(chunk)
        for start, end, cell in cells:
            row = chunk[position:start]
            position = end
            copies, counted = _copies_text(cell)
            name, form = split_form(row)
            name = _document_name(name)
            if sum(char.isalpha() for char in name) < 3:
                continue  # the second half of a split copies cell ("1 bản chính" "," "1 bản sao")
            if _SET_COUNT.match(name):
                continue
            if not counted and (
                _NOTE_START.match(name) or _NOTE_GROUP.match(group) or _SUB_HEADING.search(clean_text(row))
            ):
                continue  # an explanation or a sub-heading ("… gồm:"), not a document to bring
            result.documents.append(DossierDocument(name=name, copies=copies, form=form, group=group))
        heading = chunk[position:]  # text after the last row: the next group's heading
    if not result.documents and copies_cells(text):
        result.warnings.append(("rows found but none kept", clean_text(text)[:100]))
    return result


# Issuer codes ("NĐ-CP", "TT-BTC", "QĐ-TTg", "QH13", "QĐ-BCA-C06"). Known codes are tried first so a code
# glued to the next title ("…/TT-BCAngày", "…/NĐ-CPLUẬT …") ends where the code ends; other capitals are
# accepted as a fallback (then a trailing capital that starts a word is given back, see _row_numbers).
_KNOWN_ISSUERS = sorted(
    """CP NĐ TT NQ QĐ TTg TTLT BTC BCA BTP NHNN BNNMT BGTVT BNNPTNT BXD BTNMT BHXH BLĐTBXH BKHĐT UBND PL BQP
    BYT BKHCN HĐND BNV BNG BCT BGDĐT BVHTTDL BTTTT TANDTC VKSNDTC UBTVQH UBCKNN VPCP""".split(),
    key=len,
    reverse=True,
)
_ISSUER = rf"(?:UBTVQH\d{{2}}|QH\d{{2}}|[A-ZĐ]\d{{2}}(?![\d/])|{'|'.join(_KNOWN_ISSUERS)}|[A-ZĐ]+)"
LEGAL_NUMBER = re.compile(rf"\d+(?:\.\d+)?/(?:\d{{4}}/)?{_ISSUER}(?:-{_ISSUER})*")
# "…Bộ Tư phápThông tư số 03/2023/TT-BTP": the code cell repeats the document type; drop it from the title.
_GLUED_TYPE_OF_NUMBER = re.compile(r"(?<=[a-zà-ỹđ.)])(?:Luật|Nghị định|Thông tư|Quyết định|Nghị quyết)(?: số)?\s*$")
_BARE_TYPE = re.compile(r"^\s*(?:Luật|Bộ luật|Nghị định|Thông tư|Quyết định|Nghị quyết|Pháp lệnh)(?: số)?\s*$")
_YEAR_GLUED_TO_NUMBER = re.compile(r"((?:19|20)\d{2})(\d+/(?:19|20)\d{2}/.*)")


def _row_numbers(body: str) -> list[tuple[int, int]]:
    """(start, end) of the numbers that end a row: followed by the next title (capital), or the end."""
    spans = []
    for match in LEGAL_NUMBER.finditer(body):
        start, end = match.span()
        last_issuer = match.group(0).rsplit("-", 1)[-1].rsplit("/", 1)[-1]
        generic = last_issuer not in _KNOWN_ISSUERS and not last_issuer[-1:].isdigit()
        if generic and end < len(body) and body[end].islower() and body[end - 1].isupper():
            end -= 1  # "TT-BTCNghị": the capital belongs to the next title
        following = body[end:]
        next_char = following[1:2] if following[:1] == " " else following[:1]
        if not following.strip() or next_char.isupper():
            spans.append((start, end))
    return spans


def parse_legal_basis(text: str) -> tuple[list[LegalDocument], list[tuple[str, str]]]:
    """Flattened legal-basis table -> (documents, warnings)."""
    warnings: list[tuple[str, str]] = []
    if LEGAL_HEADER not in text:
        if field_value(text):
            warnings.append(("no table header", clean_text(text)[:100]))
        return [], warnings
    body = text.split(LEGAL_HEADER, 1)[1]
    documents: list[LegalDocument] = []
    position = 0
    for start, end in _row_numbers(body):
        if _BARE_TYPE.match(body[position:start]) and body[end : end + 1].isspace():
            continue  # "Thông tư số 66/2023/TT-BCA Sửa đổi …": a number inside the title, not its code cell
        title, number = body[position:start], body[start:end]
        position = end
        year_glued = _YEAR_GLUED_TO_NUMBER.match(number)
        if year_glued and len(number.split("/")[0]) >= 5:
            title, number = title + year_glued.group(1), year_glued.group(2)  # "Luật Cư trú 2020" + "68/2020/QH14"
        title = clean_text(_GLUED_TYPE_OF_NUMBER.sub("", title))
        documents.append(LegalDocument(number=number, title=title))
    rest = clean_text(body[position:])
    if rest:
        warnings.append(("row without a document number", rest[:100]))
        documents.append(LegalDocument(title=rest))
    seen: set[tuple[str, str]] = set()
    unique = [d for d in documents if not ((d.number, d.title) in seen or seen.add((d.number, d.title)))]
    return unique, warnings
