"""`tthc bot eval`: the reply classifier on hand-made replies, one-line CLI errors, and a live run."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.app import answers
from assistant.cli import main
from assistant.cli.bot_evaluation import Catalogue, aspect_spoken, classify_reply, evaluate_bot
from assistant.core.settings import PROJECT_ROOT
from connectors.fallback_replies import SILENCE_REPLY
from knowledge_base.evaluation import Question
from knowledge_base.importers import load_catalog
from knowledge_base.schema import Level, Procedure, SearchHit
from knowledge_base.store import KnowledgeBase
from tests.support.ports import free_port

LONG_TITLE = (
    "Thủ tục cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất "
    "cho hộ gia đình, cá nhân đang sử dụng đất ổn định lâu dài không có giấy tờ về quyền sử dụng đất"
)
PROCEDURES = [
    Procedure(code="1.000894", title="Đăng ký kết hôn", source_url="https://dichvucong.gov.vn/tthc/kh"),
    Procedure(
        code="2.000806", title="Đăng ký kết hôn có yếu tố nước ngoài", source_url="https://dichvucong.gov.vn/tthc/kh-nn"
    ),
    Procedure(code="1.001193", title="Đăng ký khai sinh"),
    Procedure(code="9.999999", title=LONG_TITLE),
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(PROCEDURES)


# ---- the classifier, no server ---------------------------------------------------------------


def test_answer_is_named_by_title_or_by_source_url(catalogue):
    by_title = classify_reply([{"text": "Phí, lệ phí của «Đăng ký khai sinh»:\n- Miễn phí"}], catalogue)
    assert (by_title.kind, by_title.named) == ("named", {"1.001193"})
    by_url = classify_reply([{"text": "Xem thủ tục: https://dichvucong.gov.vn/tthc/kh-nn."}], catalogue)
    assert (by_url.kind, by_url.named) == ("named", {"2.000806"})


def test_the_real_answer_composer_names_its_procedure_and_speaks_to_the_aspect(catalogue):
    procedure = PROCEDURES[0]
    for aspect in ("fee", "time", "documents", "where", "overview"):
        text = answers.answer(procedure, aspect).full_text()
        reply = classify_reply([{"recipient_id": "x", "text": text}], catalogue)
        assert reply.named == {"1.000894"}, aspect
        assert aspect_spoken(aspect, text), (aspect, text)
    fee_text = answers.answer(procedure, "fee").full_text()
    assert not aspect_spoken("time", fee_text)
    assert not aspect_spoken(
        "where", answers.answer(procedure, "documents").full_text()
    )  # "hồ sơ" alone is not "nơi nộp"
    assert aspect_spoken("requirements", answers.answer(procedure, "documents").full_text())  # alias


def test_ask_back_buttons_map_to_codes_by_title_shortened_title_or_payload_code(catalogue):
    hits = [SearchHit(code=p.code, title=p.title, score=1.0) for p in PROCEDURES[:2] + PROCEDURES[3:]]
    composed = answers.ask_back(hits)
    messages = [{"text": composed.text, "buttons": [b.as_rasa() for b in composed.buttons]}]
    assert composed.buttons[-1].title.endswith("…")  # the long title really is shortened
    reply = classify_reply(messages, catalogue)
    assert reply.kind == "askback"
    assert [codes for _, codes in reply.offers] == [{"1.000894"}, {"2.000806"}, {"9.999999"}]
    assert reply.offers[0][0] == '/choose_option{"option_index":"1"}'
    # Another shortening ("...") and a suggestion button whose payload names the code.
    hand_made = [
        {
            "text": "Có phải Anh/Chị muốn hỏi?",
            "buttons": [
                {"title": LONG_TITLE[:60].rstrip() + "...", "payload": '/choose_option{"option_index":"1"}'},
                {"title": "Thủ tục gì đó", "payload": '/ask_procedure{"procedure_code":"1.001193"}'},
                {"title": "Gặp nhân viên", "payload": "/handoff"},
            ],
        }
    ]
    reply = classify_reply(hand_made, catalogue)
    assert reply.kind == "askback" and reply.offered == {"9.999999", "1.001193"}


def test_twin_titles_told_apart_by_a_level_or_agency_qualifier():
    twins = Catalogue(
        [
            Procedure(code="1.1", title="Chứng thực bản sao", levels=[Level.commune], agencies=["UBND cấp xã"]),
            Procedure(code="2.2", title="Chứng thực bản sao", levels=[Level.province], agencies=["Sở Tư pháp"]),
        ]
    )
    assert twins.button_codes({"title": "Chứng thực bản sao (Cấp tỉnh)", "payload": "/x"}) == {"2.2"}
    assert twins.button_codes({"title": "Chứng thực bản sao (UBND cấp xã)", "payload": "/x"}) == {"1.1"}
    assert twins.button_codes({"title": "Chứng thực bản sao", "payload": "/x"}) == {"1.1", "2.2"}  # both: one title
    assert twins.button_codes({"title": "Gặp cán bộ", "payload": "/request_human"}) == set()


def test_declines_are_judged_by_naming_nothing_not_by_their_wording(catalogue):
    for text in (
        "Xin lỗi, thủ tục này không có trong danh mục. Cổng: https://dichvucong.gov.vn",
        "Tôi chỉ hỗ trợ thủ tục hành chính, ví dụ «đăng ký khai sinh».",  # an example, not a title
        "Anh/Chị muốn hỏi về thủ tục nào ạ?",
    ):
        reply = classify_reply(
            [{"text": text, "buttons": [{"title": "Gặp nhân viên", "payload": "/handoff"}]}], catalogue
        )
        assert (reply.kind, reply.named, reply.offers) == ("declined", set(), []), text


# ---- the question loop against a scripted stand-in for the REST channel ------------------------

SCRIPTED = {
    "xin chào": (200, [{"text": "Chào Anh/Chị"}]),
    "right": (200, [{"text": "Phí, lệ phí của «Đăng ký khai sinh»:\n- Miễn phí"}]),
    "ask": (
        200,
        [
            {
                "text": "Anh/Chị muốn hỏi thủ tục nào?",
                "buttons": [
                    {"title": "Đăng ký kết hôn", "payload": '/choose_option{"option_index":"1"}'},
                    {"title": "Đăng ký kết hôn có yếu tố nước ngoài", "payload": '/choose_option{"option_index":"2"}'},
                ],
            }
        ],
    ),
    '/choose_option{"option_index":"2"}': (
        200,
        [{"text": "Nơi nộp hồ sơ:\nChi tiết: https://dichvucong.gov.vn/tthc/kh-nn"}],
    ),
    "empty": (200, []),
    "boom": (500, {"error": "x"}),
    "silence": (200, [{"text": SILENCE_REPLY}]),
}


@pytest.fixture
def scripted_bot():
    seen_limited = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["message"]
            if message == "limited" and not seen_limited:
                seen_limited.append(1)
                status, body, headers = 429, [{"text": "chậm lại"}], {"Retry-After": "1"}
            else:
                status, body = SCRIPTED.get(
                    message, SCRIPTED["right"] if message == "limited" else (200, [{"text": "?"}])
                )
                headers = {}
            data = json.dumps(body).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_loop_counts_outcomes_clicks_gold_retries_429_and_survives_errors(scripted_bot):
    questions = [
        Question(id=i, question=q, gold=g, aspect=a)
        for i, (q, g, a) in enumerate(
            [
                ("right", ["1.001193"], "fee"),
                ("ask", ["2.000806"], "where"),
                ("ask", ["1.001193"], None),
                ("right", [], None),
                ("limited", ["1.001193"], None),
                ("empty", ["1.001193"], None),
                ("boom", [], None),
                ("silence", ["1.001193"], None),
            ]
        )
    ]
    errors = []
    report, records = evaluate_bot(questions, PROCEDURES, scripted_bot, on_error=errors.append, concurrency=2)
    assert [r["outcome"] for r in records] == [
        "right_directly",
        "right_after_askback",
        "offered_without_gold",
        "given_procedure",
        "right_directly",
        "error",
        "error",
        "error",
    ]
    assert records[1]["clicked"] == '/choose_option{"option_index":"2"}' and records[1]["named_after_click"] == [
        "2.000806"
    ]
    assert len(errors) == report["errors"] == 3 and all(line.startswith("tthc bot eval: question ") for line in errors)
    assert (report["answerable"], report["right_directly"], report["right_within_one_askback"]) == (6, 0.3333, 0.5)
    assert (report["offered_without_gold"], report["no_answer_given_procedure"]) == (0.1667, 0.5)
    assert (report["aspect_judged"], report["aspect_spoken"]) == (2, 1.0)


# ---- the CLI on bad input ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("bot-eval-index")
    KnowledgeBase.build(
        load_catalog(PROJECT_ROOT / "knowledge_base" / "catalog").procedures, data_dir, None, progress=False
    )
    return data_dir


def test_cli_bad_input_is_one_line_naming_the_fix(capsys, tmp_path, seed_index):
    def run(*argv):
        code = main(["bot", "eval", *argv])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("tthc: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
        return err

    assert "not found" in run(str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "x", "gold": []}\n{"id": 2, "question": \n', encoding="utf-8")
    assert f"{bad}:2" in run(str(bad))
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"id": 1, "question": "lệ phí kết hôn", "gold": ["1.000894"], "aspect": "fee"}\n', encoding="utf-8"
    )
    err = run(str(good), "--data-dir", str(seed_index), "--rasa-url", f"http://127.0.0.1:{free_port()}")
    assert "not reachable" in err and "tthc up" in err
    weird = tmp_path / "aspect.jsonl"
    weird.write_text('{"id": 1, "question": "x", "gold": [], "aspect": "colour"}\n', encoding="utf-8")
    assert "unknown aspect" in run(str(weird), "--data-dir", str(seed_index))


# ---- a live run: the real Rasa server over HTTP with the seed catalogue -----------------------


@pytest.mark.e2e
def test_live_counts_for_a_right_a_wrong_and_a_declined_question(live_stack, capsys, tmp_path):
    import os

    questions = tmp_path / "three.jsonl"
    lines = [
        # Easy seed question (knowledge_base/devset/seed.jsonl s12), asked for its documents.
        {
            "id": "right",
            "question": "người nhà mất rồi làm giấy báo tử cần giấy tờ gì",
            "gold": ["1.000656"],
            "aspect": "documents",
        },
        # The bot answers this with the birth registration; gold says another seed procedure.
        {"id": "wrong", "question": "làm giấy khai sinh cho con mới sinh", "gold": ["3.000333"]},
        {"id": "declined", "question": "nấu phở bò thế nào cho ngon", "gold": []},
    ]
    questions.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    details = tmp_path / "details.jsonl"
    code = main(
        [
            "bot",
            "eval",
            str(questions),
            "--json",
            "--rasa-url",
            live_stack.rasa_url,
            "--data-dir",
            os.environ["TTHC_CATALOG__DATA_DIR"],
            "--details",
            str(details),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    records = {r["id"]: r for r in map(json.loads, details.read_text(encoding="utf-8").splitlines())}
    assert report["errors"] == 0, records
    assert (report["n"], report["answerable"], report["no_answer"]) == (3, 2, 1)
    assert report["counts"]["answerable"]["right_directly"] == 1, records
    assert report["counts"]["answerable"]["wrong_procedure"] == 1, records
    assert report["counts"]["no_answer"]["declined"] == 1, records
    assert report["right_directly"] == report["right_within_one_askback"] == 0.5
    assert report["wrong_procedure_rate"] == 0.5 and report["offered_without_gold"] == 0.0
    assert report["no_answer_declined"] == 1.0 and report["no_answer_given_procedure"] == 0.0
    assert (report["aspect_judged"], report["aspect_spoken"]) == (1, 1.0), records["right"]
    assert records["wrong"]["named"] == ["1.001193"]
    assert records["right"]["reply_excerpt"] and records["declined"]["named"] == []
    assert report["p50_ms"] > 0 and report["p95_ms"] >= report["p50_ms"] and report["calibration_s"] > 0
