"""JSON API under /api, the page routes, and bad input: behaviour over a small sample catalogue."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from assistant.app import conversation_log
from assistant.app.handoff_desk import conversation_ref
from assistant.app.server.app import create_app
from assistant.app.server.pages import SHARED_SCRIPT
from assistant.app.server.routers import procedures as procedures_router
from assistant.app.server.routers.staff import STAFF_WEB_DIR
from assistant.app.server.routers.webchat import WEBCHAT_DIR
from assistant.core.settings import load_settings
from knowledge_base.errors import KnowledgeBaseError


def codes(response) -> list[str]:
    return [result["code"] for result in response.json()["results"]]


# ---- search ----


def test_search_returns_ranked_results_with_their_facets(client):
    response = client.get("/api/search", params={"q": "đăng ký khai sinh cho con"})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] in ("answer", "clarify", "abstain")
    first = body["results"][0]
    assert first["code"] == "1.001193"
    assert first["levels"] == [{"value": "cap_xa", "label": "Cấp xã"}]
    assert first["field"] == "Hộ tịch"
    assert first["online"] == {"value": "mot_phan", "label": "Có thể nộp hồ sơ trực tuyến"}
    assert first["names_district_level"] is False
    scores = [result["score"] for result in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_finds_text_typed_without_diacritics(client):
    assert codes(client.get("/api/search", params={"q": "dang ky ket hon"}))[0] == "1.000894"


def test_top_limits_the_number_of_results(client):
    assert len(codes(client.get("/api/search", params={"q": "thủ tục", "top": 2}))) <= 2


@pytest.mark.parametrize(
    ("params", "allowed"),
    [
        ({"level": "cap_tinh"}, {"1.014061", "9.999999"}),
        ({"online": "toan_trinh"}, {"2.002000"}),
        ({"field": "Hộ tịch"}, {"1.001193", "1.000894"}),
        ({"agency": "công an"}, {"1.014061", "1.010385"}),
        ({"level": ["cap_bo", "cap_tinh"], "online": "khong"}, {"1.014061"}),
    ],
)
def test_filters_keep_only_matching_procedures(client, params, allowed):
    found = codes(client.get("/api/search", params={"q": "cấp giấy đăng ký thủ tục căn cước xây dựng", **params}))
    assert set(found) <= allowed


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({}, 422, "q"),
        ({"q": ""}, 422, "at least 1"),
        ({"q": "   \t "}, 400, "Tham số q trống"),
        ({"q": "x" * 501}, 422, "at most 500"),
        ({"q": "khai sinh", "top": 0}, 422, "greater than or equal to 1"),
        ({"q": "khai sinh", "top": 51}, 422, "less than or equal to 50"),
        ({"q": "khai sinh", "top": "năm"}, 422, "valid integer"),
        ({"q": "khai sinh", "level": "cap_huyen"}, 422, "cap_xa"),
        ({"q": "khai sinh", "online": "yes"}, 422, "toan_trinh"),
    ],
)
def test_bad_search_parameters_get_a_4xx_naming_the_problem(client, params, status, reason):
    response = client.get("/api/search", params=params)
    assert response.status_code == status
    assert reason in response.text


@pytest.mark.parametrize(
    "query",
    [
        "x" * 500,
        "\x00\x01\x1f khai sinh \x7f",
        "\u200b\u200c\u200d\ufeff",
        "😀🎉🙏",
        "đăng ký khai sinh",  # decomposed Unicode (NFD)
        "'; DROP TABLE procedures; --",
        "<script>alert(1)</script>",
        "How do I register a birth?",
        "如何办理出生登记",
    ],
)
def test_odd_but_valid_queries_never_fail(client, query):
    import unicodedata

    if query == "đăng ký khai sinh":
        query = unicodedata.normalize("NFD", query)
    response = client.get("/api/search", params={"q": query})
    assert response.status_code == 200, response.text
    assert response.json()["query"] == query


def test_decomposed_unicode_finds_the_same_procedure(client):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "đăng ký khai sinh")
    assert codes(client.get("/api/search", params={"q": decomposed}))[0] == "1.001193"


def test_missing_index_is_503_with_the_fix(client, monkeypatch):
    def no_index():
        raise KnowledgeBaseError("no knowledge-base index in var/kb: run `tthc kb import PATH` first")

    monkeypatch.setattr(procedures_router, "get_kb", no_index)
    response = client.get("/api/search", params={"q": "khai sinh"})
    assert response.status_code == 503
    assert "tthc kb import" in response.json()["detail"]


# ---- detail, QR, facets ----


def test_procedure_detail_has_the_full_record_and_links(client):
    response = client.get("/api/procedures/1.001193")
    assert response.status_code == 200
    body = response.json()
    procedure = body["procedure"]
    assert procedure["title"] == "Thủ tục đăng ký khai sinh"
    assert [d["name"] for d in procedure["documents"]][:2] == ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]
    assert procedure["documents"][0]["form"] == "Mẫu tờ khai đăng ký khai sinh"
    assert {c["kind"] for c in procedure["channels"]} == {"truc_tiep", "truc_tuyen"}
    assert procedure["legal_basis"][0]["number"] == "60/2014/QH13"
    assert body["level_labels"] == ["Cấp xã"]
    assert body["online_label"] == "Có thể nộp hồ sơ trực tuyến"
    assert body["channel_cases"] == ["", ""]
    assert body["district_mentions"] == [] and body["reform_note"] == ""
    assert body["links"]["portal"] == "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/khai-sinh-test"
    assert body["links"]["province_portal"] == client.app.state.settings.province.portal_url
    assert body["links"]["qr_svg"] == "/api/procedures/1.001193/qr.svg"


def test_a_record_naming_the_district_level_is_flagged_for_the_catalogue_team(client):
    """Issue 15, item 4: the record still names the district level (abolished on 1 July 2025)."""
    body = client.get("/api/procedures/1.010385").json()
    assert body["district_mentions"] == ["Cơ quan thực hiện: Công an huyện", "Tên thủ tục: cấp huyện"]
    assert "không còn cấp huyện" in body["reform_note"]
    assert "Ủy ban nhân dân xã, phường, đặc khu" in body["reform_note"]  # the default successor: the commune
    found = client.get("/api/search", params={"q": "trình báo mất hộ chiếu"}).json()["results"]
    flags = {result["code"]: result["names_district_level"] for result in found}
    assert flags["1.010385"] is True and not any(flag for code, flag in flags.items() if code != "1.010385")


def test_procedure_detail_names_the_case_of_each_channel_row(client):
    body = client.get("/api/procedures/1.010385").json()
    assert body["channel_cases"] == ["Trình báo tại cơ quan Công an", "Trình báo qua đơn gửi bưu điện"]


def test_unknown_and_malformed_codes_are_404_or_422(client):
    missing = client.get("/api/procedures/1.234567")
    assert missing.status_code == 404
    assert "1.234567" in missing.json()["detail"]
    assert client.get("/api/procedures/" + "9" * 41).status_code == 422
    assert client.get("/api/procedures/a%20b").status_code == 422


def test_qr_code_is_an_svg_of_the_portal_link(client):
    response = client.get("/api/procedures/1.001193/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag.endswith("svg")
    assert procedures_router.qr_svg("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/khai-sinh-test") == response.content
    other = client.get("/api/procedures/1.000894/qr.svg").content
    assert other != response.content


def test_a_non_http_source_url_never_reaches_the_link_or_qr(client):
    body = client.get("/api/procedures/9.999999").json()
    assert body["links"]["portal"] == client.app.state.settings.national_portal_url
    qr = client.get("/api/procedures/9.999999/qr.svg").content
    assert qr == procedures_router.qr_svg(client.app.state.settings.national_portal_url)


def test_facets_list_the_values_present_with_labels(client):
    body = client.get("/api/facets").json()
    assert {"value": "cap_xa", "label": "Cấp xã"} in body["levels"]
    assert {"value": "cap_tinh", "label": "Cấp tỉnh"} in body["levels"]
    assert "cap_bo" not in [item["value"] for item in body["levels"]]
    assert "Hộ tịch" in body["fields"]
    assert "Công an tỉnh" in body["agencies"]
    assert {"value": "toan_trinh", "label": "Nộp trực tuyến toàn trình"} in body["online"]


def test_openapi_documents_the_api_and_its_models(client):
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/search",
        "/api/procedures/{code}",
        "/api/procedures/{code}/qr.svg",
        "/api/facets",
        "/api/staff/handoffs",
        "/api/staff/feedback",
    ):
        assert path in spec["paths"], path
    q = next(p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["maxLength"] == 500
    assert {"SearchResults", "ProcedureDetail", "Facets"} <= set(spec["components"]["schemas"])
    assert client.get("/docs").status_code == 200


# ---- staff data ----

STAFF = {"X-Admin-Token": "test-staff-token"}


def test_staff_lists_need_the_admin_token(client):
    for path in ("/api/staff/handoffs", "/api/staff/feedback"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-Admin-Token": "wrong"}).status_code == 403
        assert client.get(path, auth=("canbo", "test-staff-token")).status_code == 200


def test_staff_lists_are_empty_before_anything_is_flagged(client):
    assert client.get("/api/staff/handoffs", headers=STAFF).json() == []
    assert client.get("/api/staff/feedback", headers=STAFF).json() == []


def test_staff_lists_show_flagged_conversations_and_feedback(client):
    conversation_log.flag_handoff(
        "web-1",
        "rest",
        [{"sender": "user", "text": "cho tôi gặp cán bộ"}, {"sender": "bot", "text": "Anh/Chị gọi đường dây nóng."}],
    )
    conversation_log.store_feedback("web-2", "bad", "lệ phí khai sinh?", "Miễn phí", channel="rest")
    handoffs = client.get("/api/staff/handoffs", headers=STAFF).json()
    assert handoffs[0]["conversation"] == conversation_ref("rest", "web-1") != "web-1"
    assert "web-1" not in client.get("/api/staff/handoffs", headers=STAFF).text
    assert handoffs[0]["messages"][0] == {"sender": "user", "text": "cho tôi gặp cán bộ"}
    feedback = client.get("/api/staff/feedback", headers=STAFF).json()
    assert feedback[0]["conversation"] == conversation_ref("rest", "web-2")
    assert feedback[0]["rating"] == "bad"
    assert feedback[0]["question"] == "lệ phí khai sinh?"
    assert client.get("/api/staff/handoffs", params={"limit": 0}, headers=STAFF).status_code == 422


# ---- pages and widget files ----


def test_pages_and_widget_files_are_served(client):
    assert "Tra cứu thủ tục" in client.get("/staff").text
    assert client.get("/staff/assets/staff.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/staff/assets/index.html").status_code == 404
    assert 'data-mode="inline"' in client.get("/chat").text
    widget = client.get("/webchat/widget.js")
    assert widget.status_code == 200
    assert widget.headers["access-control-allow-origin"] == "*"
    assert client.get("/webchat/widget.css").status_code == 200
    assert client.get("/webchat/chat.html").status_code == 404
    assert client.get("/webchat/..%2Fstatic%2Fwidget.js").status_code == 404


def test_the_widget_and_the_staff_page_get_the_one_copy_of_the_dom_helpers(client):
    """h() and safeHttpUrl live once (assistant/app/server/web/shared/safe_dom.js) and are served in front of each
    page script, so an embedding site still loads one file and the two pages cannot drift apart."""
    helpers = SHARED_SCRIPT.read_text(encoding="utf-8")
    assert SHARED_SCRIPT.parent.name == "shared" and "function safeHttpUrl(" in helpers
    sources = {"/webchat/widget.js": WEBCHAT_DIR / "widget.js", "/staff/assets/staff.js": STAFF_WEB_DIR / "staff.js"}
    for url, source in sources.items():
        served = client.get(url)
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/javascript")
        assert served.text == helpers + "\n" + source.read_text(encoding="utf-8")
        assert served.text.count("function h(") == 1 and served.text.count("function safeHttpUrl(") == 1
    assert client.get("/webchat/widget.js").headers["access-control-allow-origin"] == "*"
    assert "function h(" not in client.get("/webchat/widget.css").text


def test_page_config_comes_from_settings_and_cannot_break_out_of_the_script(client):
    settings = load_settings(
        {
            "TTHC_WEBCHAT__RASA_URL": "https://chat.example/rasa",
            "TTHC_WEBCHAT__TITLE": "Hỏi </script><script>alert(1)</script>",
        }
    )
    client = type(client)(create_app(settings))
    body = client.get("/chat/config.js").text
    assert '"rasaUrl": "https://chat.example/rasa"' in body
    assert "</script>" not in body
    assert "<\\/script>" in body
    assert '"provinceName": "Tây Ninh"' in client.get("/staff/config.js").text
