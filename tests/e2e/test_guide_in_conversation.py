"""Issue 15 through the real servers (Rasa REST channel -> actions -> catalogue): the guide card, each quick reply,
the printable checklist, a 2025 reform note, a provincial override and an English question.

Its own stack: the seed catalogue plus one record that still names the district level, merged with the test
province facts (tests/fixtures/local_facts.yaml: a fictional provincial fee for «Đăng ký tạm trú»), as
`tthc up` builds it with `province.local_facts` set."""

from __future__ import annotations

import shutil

import httpx
import pytest

from assistant.core.settings import PROJECT_ROOT
from tests.support.live_stack import running_stack
from tests.support.next_steps import WEB_CHAT_NEXT_STEPS
from tests.support.rest_chat import all_text, ask

pytestmark = pytest.mark.e2e

TEMPORARY_RESIDENCE = "1.004194"
DISTRICT_RECORD = """procedures:
  - code: "1.010385"
    title: "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp huyện)"
    levels: [cap_xa]
    field: "Xuất nhập cảnh"
    agencies: ["Công an huyện"]
    documents:
      - {name: "Đơn trình báo mất hộ chiếu phổ thông", copies: "1 bản chính"}
    channels:
      - kind: truc_tiep
        time: {text: "1 ngày làm việc", working_days: 1}
        fee: {text: "Miễn phí", free: true}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed-with-district")
    for file in (PROJECT_ROOT / "knowledge_base" / "catalog").glob("*.yaml"):
        shutil.copy(file, seed / file.name)
    (seed / "zz_reform.yaml").write_text(DISTRICT_RECORD, encoding="utf-8")
    env = {
        "TTHC_CATALOG__SEED_PATH": str(seed),
        "TTHC_PROVINCE__LOCAL_FACTS": str(PROJECT_ROOT / "tests" / "fixtures" / "local_facts.yaml"),
    }
    # A fresh index is built and trained first; on a busy shared machine Rasa can take minutes to load.
    with running_stack(tmp_path_factory.mktemp("guide-data"), env=env, timeout=600) as live:
        yield live


def _buttons(messages: list[dict]) -> list[dict]:
    return [button for message in messages for button in message.get("buttons") or []]


def test_guide_card_with_quick_replies_and_the_printable_checklist(stack):
    messages = ask(stack, "e2e-card", "thủ tục đăng ký tạm trú")
    text = all_text(messages)
    assert f"«Đăng ký tạm trú» (mã {TEMPORARY_RESIDENCE})" in text
    for line in ("- Thực hiện:", "- Nơi nộp:", "- Hồ sơ (", "- Lệ phí", "- Thời hạn:", "- Trực tuyến:"):
        assert line in text
    titles = [button["title"] for button in _buttons(messages)]
    assert titles == WEB_CHAT_NEXT_STEPS
    [checklist] = [b for b in _buttons(messages) if b["title"] == "Gửi danh sách giấy tờ"]
    page = httpx.get(stack.app_url + checklist["url"], timeout=10)
    assert page.status_code == 200 and "Đăng ký tạm trú" in page.text and "<li" in page.text


@pytest.mark.parametrize(
    "title, heading",
    [
        ("Giấy tờ", "Hồ sơ cần chuẩn bị cho «Đăng ký tạm trú»"),
        ("Lệ phí", "Phí, lệ phí của «Đăng ký tạm trú»"),
        ("Thời gian", "Thời hạn giải quyết «Đăng ký tạm trú»"),
        ("Nơi nộp", "Nơi nộp hồ sơ «Đăng ký tạm trú»"),
        ("Nộp trực tuyến", "«Đăng ký tạm trú» có thể nộp hồ sơ trực tuyến"),
        ("Các bước", "«Đăng ký tạm trú»"),
    ],
)
def test_each_quick_reply_answers_its_aspect(stack, title, heading):
    sender = f"e2e-tap-{title}"
    [button] = [b for b in _buttons(ask(stack, sender, "thủ tục đăng ký tạm trú")) if b["title"] == title]
    text = all_text(ask(stack, sender, button["payload"]))
    assert heading.lower() in text.lower()  # the answer opens "Dạ, hồ sơ …" (polite lower-cases the heading)
    assert text.startswith("Dạ,")


def test_provincial_override_wins_and_is_shown_as_local(stack):
    text = all_text(ask(stack, "e2e-local", f'/ask_fee{{"procedure_code":"{TEMPORARY_RESIDENCE}"}}'))
    assert "15.000 đồng/lần đăng ký (theo quy định của tỉnh)" in text
    assert "Theo quy định của tỉnh Tây Ninh (Nghị quyết số 99/2099/NQ-HĐND (thử nghiệm))" in text


def test_reform_note_on_a_record_naming_the_district_level(stack):
    text = all_text(ask(stack, "e2e-reform", '/ask_procedure{"procedure_code":"1.010385"}'))
    assert "Lưu ý: thông tin thủ tục này còn ghi «Công an huyện», nhưng từ ngày 01/7/2025 không còn cấp huyện." in text


def test_english_question_is_answered_in_english_and_its_quick_reply_too(stack):
    messages = ask(stack, "e2e-english", "How do I register temporary residence?")
    text = all_text(messages)
    assert f"«Đăng ký tạm trú» (code {TEMPORARY_RESIDENCE})" in text
    assert "- Documents to bring (" in text and "Note: the procedure's details are quoted in Vietnamese" in text
    assert "(Set by the province of Tây Ninh" in text  # the provincial fee, in English too
    [fee] = [b for b in _buttons(messages) if b["title"] == "Fee"]
    follow = all_text(ask(stack, "e2e-english", fee["payload"]))
    assert follow.startswith(f"Fee for «Đăng ký tạm trú» (code {TEMPORARY_RESIDENCE}):")
    again = all_text(ask(stack, "e2e-english", "And how long does it take?"))
    assert again.startswith(f"Processing time for «Đăng ký tạm trú» (code {TEMPORARY_RESIDENCE}):")


def test_commune_asked_once_then_its_counter_is_shown(stack):
    """The province facts list the communes' counters (tests/fixtures/local_facts.yaml): a commune-level place
    answer asks for the commune; the typed name (the NLU has no intent for it) brings that counter's address."""
    first = all_text(ask(stack, "e2e-commune", "đăng ký tạm trú nộp ở đâu"))
    assert "nơi nộp hồ sơ «Đăng ký tạm trú»" in first
    assert "Anh/Chị cho tôi biết xã/phường nơi cư trú" in first and "Phường Tân Ninh" not in first
    second = all_text(ask(stack, "e2e-commune", "phường Tân Ninh"))
    assert "nơi nộp hồ sơ «Đăng ký tạm trú»" in second
    assert "- Bộ phận Một cửa Phường Tân Ninh: Số 2 Đường Thử Nghiệm (thử nghiệm); giờ làm việc:" in second
    assert "(thông tin của tỉnh)" in second and "Anh/Chị cho tôi biết xã/phường" not in second


@pytest.mark.parametrize("pick", ["2", "the second one"])
def test_english_ask_back_answered_by_a_typed_number(stack, pick):
    sender = f"e2e-english-pick-{pick}"
    offered = [
        b["payload"].rsplit(" ", 1)[1]
        for b in _buttons(ask(stack, sender, "How do I get an identity card?"))
        if b["payload"].startswith("Tell me about procedure ")
    ]
    assert len(offered) >= 2  # an English ask-back list
    text = all_text(ask(stack, sender, pick))
    assert f"(code {offered[1]})" in text and "Note: the procedure's details are quoted in Vietnamese" in text
