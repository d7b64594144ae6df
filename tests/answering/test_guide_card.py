"""The guide card and the next steps (issue 15, items 1-2): per aspect and per channel (web chat, Zalo)."""

from __future__ import annotations

import json
import re

import pytest

from assistant.app import answers
from assistant.app.actions.common import WEB_MAX_BUTTONS, max_buttons
from assistant.core.reply import Button
from assistant.core.settings import load_settings
from connectors.zalo.messages import MAX_BUTTONS as ZALO_MAX_BUTTONS
from connectors.zalo.messages import MAX_TEXT_CHARS as ZALO_MAX_TEXT
from connectors.zalo.messages import build_messages, with_site_links
from knowledge_base.schema import (
    ChannelKind,
    DossierDocument,
    Fee,
    Level,
    OnlineAvailability,
    Procedure,
    ProcessingTime,
    SubmissionChannel,
)
from tests.support.next_steps import WEB_CHAT_NEXT_STEPS

CC01 = (
    "Phiếu CC01 được tạo lập khi trích xuất thông tin của công dân trong Cơ sở dữ liệu quốc gia về dân cư và in "
    "trong quá trình thu nhận hồ sơ căn cước để công dân kiểm tra và ký xác nhận.Trường hợp công dân chưa có "
    "thông tin trong cơ sở dữ liệu quốc gia về dân cư thì hồ sơ còn có Phiếu thu thập thông tin dân cư (Mẫu DC01 "
    "ban hành kèm theo Thông tư số 53/2025/TT-BCA ngày 01/7/2025 của Bộ Công an); Giấy tờ khác"
)
IDENTITY = Procedure(
    code="1.014061",
    title="Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên",
    summary="Làm thẻ căn cước lần đầu cho công dân từ đủ 14 tuổi; làm ở bất kỳ Công an xã nào.",
    levels=[Level.commune],
    agencies=["Công an cấp xã"],
    channels=[
        SubmissionChannel(
            kind=ChannelKind.in_person,
            time=ProcessingTime(text="7 ngày làm việc", working_days=7),
            fee=Fee(text="30.000 đồng", amount_vnd=30000),
        ),
        SubmissionChannel(
            kind=ChannelKind.online,
            time=ProcessingTime(text="7 ngày làm việc", working_days=7),
            fee=Fee(text="15.000 đồng", amount_vnd=15000),
        ),
    ],
    documents=[
        DossierDocument(
            name="Phiếu đề nghị giải quyết thủ tục về căn cước (Mẫu DC02)", copies="1 bản chính", form="Mẫu DC02"
        ),
        DossierDocument(name="Phiếu đề nghị giải quyết thủ tục về căn cước", copies="1 bản chính"),
        DossierDocument(name=CC01, copies="1 bản chính"),
        DossierDocument(name="Giấy khai sinh", copies="Bản chính để đối chiếu"),
    ],
    online=OnlineAvailability.partial,
    source_url="https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.014061",
)
LONG = IDENTITY.model_copy(
    update={
        "code": "TEST.LONG",
        "documents": [
            DossierDocument(
                name=f"Giấy tờ số {n}: " + "bản sao giấy tờ chứng minh nhân thân và nơi cư trú " * 6,
                copies="1 bản sao",
                form=f"Mẫu {n}",
            )
            for n in range(1, 30)
        ],
    }
)


@pytest.fixture
def settings():
    return load_settings(environ={}).model_copy(deep=True)


def test_the_guide_card_has_purpose_who_where_checklist_fee_time_online_and_links(settings):
    reply = answers.answer(IDENTITY, "overview", settings)
    text = reply.text
    assert text.startswith(
        "Dạ, «Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên» (mã 1.014061)\nLàm thẻ căn cước lần đầu"
    )
    assert "- Thực hiện: Cấp xã — Công an cấp xã" in text
    assert f"- Nơi nộp: {answers.DEFAULT_COUNTER} nơi Anh/Chị cư trú" in text
    assert "- Hồ sơ (3 giấy tờ):" in text  # the two DC02 lines are one
    assert text.count("Phiếu đề nghị giải quyết thủ tục về căn cước") == 1
    assert f"[{answers.PRINTED_MARK}]" in text and f"Giấy khai sinh [{answers.SHOWN_MARK}]" in text
    assert "Phiếu thu thập thông tin dân cư" not in text  # the CC01 line ends at its first sentence
    assert "- Lệ phí:\n  + Trực tiếp: 30.000 đồng\n  + Trực tuyến: 15.000 đồng" in text
    assert "- Thời hạn: 7 ngày làm việc (mọi hình thức nộp)" in text
    assert "- Trực tuyến: Có thể nộp hồ sơ trực tuyến (Cổng Dịch vụ công" in text
    assert [link.url for link in reply.links] == [IDENTITY.source_url, settings.province.portal_url]


def test_no_checklist_line_is_cut_inside_a_word(settings):
    for aspect in ("overview", "documents"):
        text = answers.answer(LONG, aspect, settings).text
        for line in text.splitlines():
            if line.strip().startswith("☐") and "…" in line:
                before = line.split(" …")[0]
                assert re.search(r"(chứng minh|nhân thân|nơi cư trú|và|bản sao|giấy tờ)$", before), line


@pytest.mark.parametrize("record", [IDENTITY, LONG])
def test_the_guide_card_fits_one_zalo_message_with_its_buttons(settings, record):
    reply = answers.answer(record, "overview", settings, max_buttons=max_buttons("zalo"))
    messages = build_messages(
        reply.full_text(), with_site_links([b.as_rasa() for b in reply.buttons], "https://tthc.example")
    )
    assert len(messages) == 1 and len(messages[0]["text"]) <= ZALO_MAX_TEXT
    zalo_buttons = messages[0]["attachment"]["payload"]["buttons"]
    assert len(zalo_buttons) == ZALO_MAX_BUTTONS
    assert [b["title"] for b in zalo_buttons] == [
        "Các bước",
        "Giấy tờ",
        "Nộp trực tuyến",
        "Gửi danh sách giấy tờ",
        "Gặp cán bộ",
    ]
    assert zalo_buttons[3] == {
        "title": "Gửi danh sách giấy tờ",
        "type": "oa.open.url",
        "payload": {"url": f"https://tthc.example/checklist/{record.code}"},
    }
    if record is LONG:
        assert "bấm «Giấy tờ» để xem đủ" in reply.text


def test_without_a_public_url_zalo_leaves_the_checklist_link_out(settings):
    reply = answers.answer(IDENTITY, "overview", settings, max_buttons=ZALO_MAX_BUTTONS)
    [message] = build_messages(reply.full_text(), with_site_links([b.as_rasa() for b in reply.buttons], ""))
    assert "Gửi danh sách giấy tờ" not in json.dumps(message, ensure_ascii=False)
    assert len(message["attachment"]["payload"]["buttons"]) == ZALO_MAX_BUTTONS - 1


@pytest.mark.parametrize("aspect", ["documents", "fee", "time", "where", "online", "steps"])
def test_an_aspect_answer_leads_with_it_keeps_the_next_facts_and_offers_the_other_aspects(settings, aspect):
    reply = answers.answer(IDENTITY, aspect, settings, max_buttons=WEB_MAX_BUTTONS)
    first = answers.polite(answers.aspect_body(IDENTITY, aspect, settings)).split("\n")[0]
    assert reply.text.startswith(first)
    if "không nêu" not in first:
        facts = reply.text.split("Anh/Chị cũng cần biết:\n", 1)[1].split("\n")
        assert 2 <= len(facts) <= 3 and all(fact.startswith("- ") for fact in facts)
    titles = [button.title for button in reply.buttons]
    assert answers.NEXT_STEP_LABELS[aspect] not in titles  # not the aspect just answered
    assert titles[-2:] == ["Gửi danh sách giấy tờ", "Gặp cán bộ"] and len(titles) == 7
    for button in reply.buttons[:-2]:
        intent = re.match(r"^/(\w+)\{", button.payload).group(1)
        assert json.loads(button.payload[len(intent) + 1 :]) == {"procedure_code": IDENTITY.code}
        assert intent in answers.ASPECT_INTENTS.values()
    assert reply.buttons[-2] == Button("Gửi danh sách giấy tờ", url="/checklist/1.014061")
    assert reply.buttons[-1].payload == answers.HANDOFF_PAYLOAD


def test_the_web_chat_gets_every_next_step_after_the_card(settings):
    reply = answers.answer(IDENTITY, "overview", settings, max_buttons=max_buttons("rest"))
    assert [b.title for b in reply.buttons] == WEB_CHAT_NEXT_STEPS
    assert reply.buttons[4].payload == '/ask_fee{"procedure_code":"1.014061"}'
    assert reply.buttons[5].payload == '/ask_processing_time{"procedure_code":"1.014061"}'


def test_a_record_without_documents_offers_no_checklist(settings):
    record = IDENTITY.model_copy(update={"documents": []})
    titles = [b.title for b in answers.answer(record, "fee", settings, max_buttons=ZALO_MAX_BUTTONS).buttons]
    assert "Gửi danh sách giấy tờ" not in titles and titles[-1] == "Gặp cán bộ" and len(titles) == ZALO_MAX_BUTTONS


def test_near_duplicates_are_merged_but_different_documents_are_kept():
    docs = [
        DossierDocument(name="Bản khai kiểm dịch động vật theo mẫu"),
        DossierDocument(name="Bản khai kiểm dịch thực vật theo mẫu"),
        DossierDocument(name="Giấy tờ 1"),
        DossierDocument(name="Giấy tờ 10"),
        DossierDocument(name="Tờ khai  đăng ký khai sinh."),
        DossierDocument(name="tờ khai đăng ký khai sinh"),
    ]
    assert [d.name for d in answers.merged_documents(docs)] == [
        "Bản khai kiểm dịch động vật theo mẫu",
        "Bản khai kiểm dịch thực vật theo mẫu",
        "Giấy tờ 1",
        "Giấy tờ 10",
        "Tờ khai  đăng ký khai sinh.",
    ]
