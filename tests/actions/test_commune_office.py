"""The citizen's commune one-stop counter in the answers (issue 15, item 5): a commune the conversation names is
matched (folded) against the communes the province's facts file lists; a procedure handled at commune level then
shows that counter's address and hours, marked as the province's facts; when the commune is unknown the place
answer and the guide card ask for it once, and the province's one-stop centre is shown meanwhile."""

from __future__ import annotations

import pytest

from assistant.app import answers
from assistant.app.actions.procedures import ActionAnswerProcedure, ActionCheckScope, ActionDefaultFallback
from assistant.core.settings import PROJECT_ROOT, get_settings
from tests.actions.catalog import ONE_STOP_ADDRESS
from tests.actions.conftest import Conversation

FACTS = PROJECT_ROOT / "tests" / "fixtures" / "local_facts.yaml"
SAMPLE = PROJECT_ROOT / "knowledge_base" / "local" / "tay_ninh.sample.yaml"
TEMPORARY_RESIDENCE = "1.004194"  # commune level (Công an cấp xã)
LAND_CERTIFICATE = "1.012783"  # province level
TAN_NINH = (
    "- Bộ phận Một cửa Phường Tân Ninh: Số 2 Đường Thử Nghiệm (thử nghiệm); giờ làm việc: Thứ Hai – Thứ Sáu, "
    "7:00–17:00; sáng Thứ Bảy (thông tin của tỉnh)"
)


@pytest.fixture
def facts(seed, monkeypatch):
    monkeypatch.setenv("TTHC_PROVINCE__LOCAL_FACTS", str(FACTS))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_place_answer_asks_for_the_commune_then_shows_its_counter(facts):
    chat = Conversation()
    chat.turn(ActionAnswerProcedure(), "đăng ký tạm trú nộp ở đâu", "ask_where")
    assert chat.text.startswith("Dạ, nơi nộp hồ sơ «Đăng ký tạm trú»")
    assert answers.COMMUNE_QUESTION in chat.text
    assert f"- Một cửa của tỉnh: {ONE_STOP_ADDRESS}" in chat.text  # meanwhile the province's centre
    assert "Phường Tân Ninh" not in chat.text

    chat.turn(ActionDefaultFallback(), "phuong tan ninh", "nlu_fallback")  # the NLU has no intent for a name
    assert chat.text.startswith("Dạ, nơi nộp hồ sơ «Đăng ký tạm trú»")
    assert TAN_NINH in chat.text
    assert answers.COMMUNE_QUESTION not in chat.text and "Một cửa của tỉnh" not in chat.text
    assert chat.slot_events()["procedure_code"] == TEMPORARY_RESIDENCE

    chat.turn(ActionAnswerProcedure(), "thủ tục đăng ký khai sinh", "ask_procedure")  # remembered for the card
    assert "«Thủ tục đăng ký khai sinh»" in chat.text and TAN_NINH in chat.text
    assert answers.COMMUNE_QUESTION not in chat.text


def test_commune_named_in_the_question_is_used_without_asking(facts):
    chat = Conversation()
    chat.turn(ActionAnswerProcedure(), "tôi ở P. Tân Ninh, đăng ký tạm trú nộp ở đâu", "ask_where")
    assert TAN_NINH in chat.text and answers.COMMUNE_QUESTION not in chat.text


def test_commune_given_before_any_procedure_is_kept(facts):
    chat = Conversation()
    chat.turn(ActionCheckScope(), "tôi ở xã Hòa Hội", "out_of_scope")
    assert chat.text == "Dạ, tôi đã ghi nhận Anh/Chị ở Xã Hòa Hội. Anh/Chị cần hỏi thủ tục nào ạ?"
    chat.turn(ActionAnswerProcedure(), "đăng ký tạm trú nộp ở đâu", "ask_where")
    assert "- Bộ phận Một cửa Xã Hòa Hội: Số 3 Đường Thử Nghiệm (thử nghiệm) (thông tin của tỉnh)" in chat.text


def test_province_level_procedure_shows_the_centre_and_never_asks(facts):
    chat = Conversation()
    chat.turn(ActionAnswerProcedure(), "phường Tân Ninh", "ask_procedure")
    chat.turn(
        ActionAnswerProcedure(),
        f'/ask_where{{"procedure_code":"{LAND_CERTIFICATE}"}}',
        "ask_where",
        procedure_code=LAND_CERTIFICATE,
    )
    assert f"- Một cửa của tỉnh: {ONE_STOP_ADDRESS}" in chat.text
    assert "Phường Tân Ninh" not in chat.text and answers.COMMUNE_QUESTION not in chat.text


def test_without_listed_communes_nothing_is_asked(seed, monkeypatch):
    monkeypatch.setenv("TTHC_PROVINCE__LOCAL_FACTS", str(SAMPLE))  # a sample file's communes are placeholders
    get_settings.cache_clear()
    chat = Conversation()
    chat.turn(ActionAnswerProcedure(), "đăng ký tạm trú nộp ở đâu", "ask_where")
    assert answers.COMMUNE_QUESTION not in chat.text and "(mẫu)" not in chat.text
    get_settings.cache_clear()


def test_a_numbered_commune_needs_its_kind_word(tmp_path, monkeypatch):
    from assistant.app import local_directory

    facts = tmp_path / "facts.yaml"
    facts.write_text(
        'version: "t"\ncommunes:\n  - {name: "Phường 1", address: "Số 4 Đường Thử Nghiệm"}\n'
        '  - {name: "Phường Tân Ninh", address: "Số 2 Đường Thử Nghiệm"}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TTHC_PROVINCE__LOCAL_FACTS", str(facts))
    get_settings.cache_clear()
    settings = get_settings()
    assert local_directory.commune_named_in("cái thứ 1", settings) is None
    assert local_directory.commune_named_in("tôi ở phường 1", settings).name == "Phường 1"
    assert local_directory.commune_named_in("TAN NINH", settings).name == "Phường Tân Ninh"
    get_settings.cache_clear()


def test_the_checklist_link_and_page_name_the_citizens_commune_counter(facts, seed, monkeypatch):
    from urllib.parse import parse_qs, urlsplit

    from fastapi.testclient import TestClient

    from assistant.app.server.app import create_app
    from assistant.app.server.routers import webchat

    chat = Conversation()
    chat.turn(ActionAnswerProcedure(), "tôi ở P. Tân Ninh, làm đăng ký tạm trú", "ask_procedure")
    link = next(button["url"] for button in chat.buttons if button["title"] == answers.CHECKLIST_LABEL)
    assert urlsplit(link).path == f"/checklist/{TEMPORARY_RESIDENCE}"
    assert parse_qs(urlsplit(link).query) == {"xa": ["Phường Tân Ninh"]}

    monkeypatch.setattr(webchat, "get_kb", lambda: seed)
    monkeypatch.setenv("TTHC_SECURITY__RATE_LIMIT_PER_MINUTE", "0")
    with TestClient(create_app()) as http:
        page = http.get(link)
        assert page.status_code == 200
        assert "Bộ phận Một cửa Phường Tân Ninh: Số 2 Đường Thử Nghiệm" in page.text
        # Without a commune, or with one the province does not list, the page names the province's centre.
        for general in (f"/checklist/{TEMPORARY_RESIDENCE}", f"/checklist/{TEMPORARY_RESIDENCE}?xa=Xa+Khong+Co"):
            page = http.get(general)
            assert page.status_code == 200
            assert "Phường Tân Ninh" not in page.text and ONE_STOP_ADDRESS in page.text
        assert http.get(f"/checklist/{TEMPORARY_RESIDENCE}?xa=" + "a" * 101).status_code == 422


def test_the_checklist_link_names_no_commune_when_none_is_known(facts):
    chat = Conversation()
    chat.turn(ActionAnswerProcedure(), "làm đăng ký tạm trú", "ask_procedure")
    link = next(button["url"] for button in chat.buttons if button["title"] == answers.CHECKLIST_LABEL)
    assert link == f"/checklist/{TEMPORARY_RESIDENCE}"
