"""The printable checklist a citizen opens from the chat ("Gửi danh sách giấy tờ"): GET /checklist/<code>.

Public and read-only: it shows one catalogue record (no personal data, nothing the citizen typed), so anyone
may open it, on the phone or to print. Server-rendered HTML without scripts or inline styles (the strict CSP of
deploy/nginx/tthc.conf holds); it reuses the staff page's stylesheet and its A4 print layout
(assistant/app/server/web/staff/staff.css: `.print-header`, `.facts`, `.block`, `.checklist`, `.link-box`, `.qr`),
and the QR code of the procedure's portal page (/api/procedures/<code>/qr.svg). Every text is escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape

from assistant.app import answers
from assistant.app.district_reform import district_note
from assistant.core.settings import Settings
from knowledge_base.importers.local_facts import Office
from knowledge_base.schema import LEVEL_LABELS, ONLINE_LABELS, Procedure

VIETNAM = timezone(timedelta(hours=7))
PAGE_NOTE = (
    "Phiếu này giúp Anh/Chị chuẩn bị hồ sơ trước khi đến nơi tiếp nhận. Thông tin đầy đủ, mới nhất "
    "xem tại đường dẫn hoặc mã QR ở trên; Anh/Chị có thể in phiếu hoặc lưu trên điện thoại."
)


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="vi">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>{escape(title)}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/staff/assets/staff.css">
</head>
<body class="public-checklist">
<main id="main">
{body}
</main>
</body>
</html>
"""


def _fact(term: str, value: str) -> str:
    return f"<div><dt>{escape(term)}</dt><dd>{escape(value)}</dd></div>" if value else ""


def _lines(lines: list[str]) -> str:
    items = "".join(
        f"<p>{escape(line.strip().removeprefix('- ').removeprefix('+ '))}</p>"
        for line in "\n".join(lines).split("\n")
        if line.strip()
    )
    return f'<div class="prose">{items}</div>'


def _section(key: str, title: str, body: str) -> str:
    return f'<section class="block" aria-labelledby="h-{key}"><h2 id="h-{key}">{escape(title)}</h2>{body}</section>'


def _documents(procedure: Procedure) -> str:
    documents = answers.merged_documents(procedure.documents)
    if not documents:
        return _section(
            "documents",
            "Giấy tờ cần chuẩn bị",
            "<p>Danh mục thủ tục không nêu thành phần hồ sơ; Anh/Chị vui lòng hỏi nơi tiếp nhận.</p>",
        )
    parts, group, items = [], None, []

    def flush() -> None:
        if items:
            parts.append(f'<ul class="checklist">{"".join(items)}</ul>')
            items.clear()

    for number, document in enumerate(documents, start=1):
        if document.group.strip() and document.group != group:
            flush()
            parts.append(f"<h3>{escape(document.group.strip().rstrip(':'))}</h3>")
        group = document.group
        details = []
        if document.copies.strip():
            details.append(f'<span class="doc-copies">Số lượng: {escape(document.copies.strip())}</span>')
        if document.form.strip() and answers._stated(document.form):
            details.append(f'<span class="doc-form">Mẫu: {escape(document.form.strip())}</span>')
        mark = answers.document_mark(document)
        if mark:
            details.append(f'<span class="doc-form doc-mark">{escape(mark[:1].upper() + mark[1:])}</span>')
        items.append(
            f'<li><input type="checkbox" id="doc-{number}"><label for="doc-{number}">'
            f'<span class="doc-name">{escape(" ".join(document.name.split()))}</span>{"".join(details)}'
            "</label></li>"
        )
    flush()
    return _section("documents", f"Giấy tờ cần chuẩn bị ({len(documents)} giấy tờ)", "".join(parts))


def _links(procedure: Procedure, settings: Settings, portal: str) -> str:
    lines = [f'<p><a class="portal-url" href="{escape(portal)}">{escape(portal)}</a></p>']
    province = settings.province.portal_url.strip()
    if province.startswith(("https://", "http://")):
        lines.append(
            f"<p>Cổng Dịch vụ công tỉnh {escape(settings.province.name)}: "
            f'<a href="{escape(province)}">{escape(province)}</a></p>'
        )
    if settings.province.hotline.strip():
        lines.append(f"<p>Đường dây hỗ trợ: {escape(settings.province.hotline.strip())}</p>")
    qr = (
        f'<img class="qr" src="/api/procedures/{escape(procedure.code)}/qr.svg" width="132" height="132" '
        f'alt="Mã QR dẫn tới trang thủ tục {escape(procedure.code)} trên Cổng Dịch vụ công">'
    )
    return _section(
        "link", "Nộp hồ sơ trực tuyến, tra cứu thêm", f'<div class="link-box">{qr}<div>{"".join(lines)}</div></div>'
    )


def checklist_page(
    procedure: Procedure, settings: Settings, portal: str, now: datetime | None = None, commune: Office | None = None
) -> str:
    """The whole page for one procedure; `portal` is the procedure's portal link (the QR code's target);
    `commune`: the citizen's, whose one-stop counter is named where the procedure is handled at commune level."""
    now = (now or datetime.now(timezone.utc)).astimezone(VIETNAM)
    # Where to go, as on the guide card: the place of submission, then the counter's or centre's address and hours.
    where = [line for line in answers.who_and_where(procedure, settings, commune) if not line.startswith("- Thực hiện")]
    purpose = answers.purpose(procedure)
    note = district_note(procedure, settings)
    body = [
        '<header class="print-header">',
        f'<p class="print-authority">Ủy ban nhân dân tỉnh {escape(settings.province.name)}</p>'
        if settings.province.name
        else "",
        '<p class="print-kind">Phiếu hướng dẫn chuẩn bị hồ sơ thủ tục hành chính</p>',
        f'<p class="print-date">Ngày tạo: {now:%d/%m/%Y}</p>',
        "</header>",
        f'<h1 id="checklist-title">{escape(answers.short_title(procedure))}</h1>',
        f"<p>{escape(purpose)}</p>" if purpose else "",
        '<dl class="facts">',
        _fact("Mã thủ tục", procedure.code),
        _fact("Cấp thực hiện", ", ".join(LEVEL_LABELS[level] for level in procedure.levels)),
        _fact("Cơ quan thực hiện", "; ".join(procedure.agencies)),
        _fact(
            "Nộp trực tuyến",
            ONLINE_LABELS[procedure.online]
            if not procedure.channels
            else answers.online_line(procedure).replace(", đường dẫn bên dưới", ""),
        ),
        "</dl>",
        f'<aside class="reform-flag" role="note"><p>{escape(note)}</p></aside>' if note else "",
        _documents(procedure),
        _section("where", "Nơi nộp hồ sơ", _lines(where) if where else "<p>Danh mục thủ tục không nêu.</p>"),
        _section(
            "fee",
            "Phí, lệ phí",
            _lines(answers.fee_lines(procedure))
            if answers.fee_lines(procedure)
            else "<p>Danh mục thủ tục không nêu.</p>",
        ),
        _section(
            "time",
            "Thời hạn giải quyết",
            _lines(answers.time_lines(procedure))
            if answers.time_lines(procedure)
            else "<p>Danh mục thủ tục không nêu.</p>",
        ),
        _links(procedure, settings, portal),
        f'<p class="print-note">{escape(PAGE_NOTE)}</p>',
    ]
    return _page(f"Danh sách giấy tờ: {answers.short_title(procedure)}", "\n".join(part for part in body if part))


def not_found_page(code: str) -> str:
    return _page(
        "Không tìm thấy thủ tục",
        f"<h1>Không tìm thấy thủ tục</h1><p>Danh mục không có thủ tục mã "
        f"«{escape(code)}». Anh/Chị vui lòng hỏi lại trợ lý hoặc tra cứu trên Cổng Dịch vụ công.</p>",
    )
