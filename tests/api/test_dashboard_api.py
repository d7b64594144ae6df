"""The province's dashboard (issue 14 item 4) over the API: figures from a week of recorded questions with known
answers, the charts as SVG (well-formed, escaped, a bar per day with questions), range errors."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from assistant.app import dashboard, interaction_log, unanswered
from tests.api.conftest import STAFF_TOKEN
from tests.support import dashboard_data as data

STAFF = {"X-Admin-Token": STAFF_TOKEN}
WEEK = {"since": "2026-11-01", "until": "2026-11-07"}
SVG = "{http://www.w3.org/2000/svg}"


def figures(client, **params):
    response = client.get("/api/staff/dashboard", params={**WEEK, **params}, headers=STAFF)
    assert response.status_code == 200, response.text
    return response.json()


def test_figures_of_a_week(client):
    data.seed()
    body = figures(client)
    assert (body["since"], body["until"], body["questions"]) == ("2026-11-01", "2026-11-07", 10)
    assert [(row["channel"], row["label"], row["count"]) for row in body["channels"]] == [
        ("rest", "Trang web", 7),
        ("zalo", "Zalo", 3),
    ]
    assert len(body["per_day"]) == 7
    assert {row["day"]: row["by_channel"] for row in body["per_day"] if row["total"]} == {
        "2026-11-01": {"rest": 2, "zalo": 1},
        "2026-11-03": {"rest": 2, "zalo": 1},
        "2026-11-05": {"rest": 2, "zalo": 1},
        "2026-11-07": {"rest": 1},
    }
    assert {row["outcome"]: (row["count"], row["share"]) for row in body["outcomes"]} == {
        "answered": (4, 0.4),
        "asked_back": (1, 0.1),
        "not_in_catalogue": (1, 0.1),
        "off_topic": (1, 0.1),
        "abstained": (2, 0.2),
        "handed_off": (1, 0.1),
    }
    assert body["top_procedures"] == [  # a chosen option's answer counts for its procedure
        {"code": data.BIRTH, "title": "Thủ tục đăng ký khai sinh", "count": 3},
        {"code": data.MARRIAGE, "title": "Thủ tục đăng ký kết hôn", "count": 1},  # ties in code order
        {"code": data.ID_CARD, "title": "Cấp thẻ căn cước cho người từ đủ 14 tuổi trở lên", "count": 1},
    ]
    # "xin giấy phép nuôi rồng" and "Xin giay phep nuoi rong!" are one group (the unanswered page's grouping:
    # lexical here, the sample index has no embedding model), shown with diacritics on a tie; the phone number
    # stays masked.
    assert body["top_unanswered"] == [
        {"question": "xin giấy phép nuôi rồng", "count": 2, "reason": "abstained"},
        {"question": "xây nhà cần giấy gì <b>gấp</b> [SĐT đã ẩn]", "count": 1, "reason": "abstained"},
    ]
    assert body["unanswered_fields"] == [{"field": "Hoạt động xây dựng", "count": 1}]
    assert body["feedback"] == {"good": 2, "bad": 1, "good_share": 0.6667}
    assert body["latency"] == {
        "turn_p50_ms": 800,
        "turn_p95_ms": 3000,
        "turns": 9,
        "action_p50_ms": 50,
        "action_p95_ms": 50,
    }
    assert body["latency_per_day"][0] == {"day": "2026-11-01", "p50_ms": 1200, "p95_ms": 2000, "turns": 3}
    assert body["charts"]["outcomes"] == "/api/staff/dashboard/outcomes.svg?since=2026-11-01&until=2026-11-07"


def test_top_unanswered_agrees_with_the_unanswered_page(client, monkeypatch):
    data.seed()
    grouped_with = []
    group = unanswered.group
    monkeypatch.setattr(
        unanswered, "group", lambda found, kb=None, db_path=None: grouped_with.append(kb) or group(found, kb, db_path)
    )
    for channel in (None, "rest", "zalo"):
        params = {**WEEK, **({"channel": channel} if channel else {})}
        top = client.get("/api/staff/dashboard", params=params, headers=STAFF).json()["top_unanswered"]
        page = client.get("/api/staff/unanswered", params=params, headers=STAFF).json()["groups"]
        assert [(row["question"], row["count"]) for row in top] == [(g["question"], g["count"]) for g in page][
            : dashboard.TOP
        ], channel
        assert top or channel == "zalo"
    # Both grouped with the same knowledge base (its embedding model when it has one).
    assert len(grouped_with) == 6 and all(kb is grouped_with[0] for kb in grouped_with) and grouped_with[0] is not None


def test_channel_filter(client):
    data.seed()
    body = figures(client, channel="zalo")
    assert body["questions"] == 3 and [row["channel"] for row in body["channels"]] == ["zalo"]
    assert body["feedback"] == {"good": 0, "bad": 0, "good_share": None}
    assert body["charts"]["feedback"].endswith("&channel=zalo")


def chart(client, name, **params):
    response = client.get(f"/api/staff/dashboard/{name}.svg", params={**WEEK, **params}, headers=STAFF)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return ElementTree.fromstring(response.content)  # well-formed XML, or this fails


def test_every_chart_is_a_well_formed_svg_with_its_data(client):
    data.seed()
    bars = chart(client, "questions-per-day").findall(f".//{SVG}g[@class='bar']")
    assert [bar.get("data-day") for bar in bars] == [day.isoformat() for day in data.DAYS_WITH_QUESTIONS]
    assert [bar.get("data-total") for bar in bars] == ["3", "3", "3", "1"]
    assert len(bars[0].findall(f"{SVG}rect[@class='seg']")) == 2  # web and Zalo stacked
    labels = [text.text for text in chart(client, "top-unanswered").iter(f"{SVG}text") if text.get("class") == "label"]
    assert labels == ["xin giấy phép nuôi rồng", "xây nhà cần giấy gì <b>gấp</b> [SĐT đã ẩn]"]  # text, not markup
    assert len(chart(client, "outcomes").findall(f".//{SVG}rect[@class='hbar']")) == 6
    assert len(chart(client, "top-procedures").findall(f".//{SVG}rect[@class='hbar']")) == 3
    assert len(chart(client, "feedback").findall(f".//{SVG}rect[@class='hbar']")) == 2
    points = chart(client, "latency").findall(f".//{SVG}circle[@data-series='p95']")
    assert len(points) == 3  # 07/11's only question has no turn latency
    raw = client.get("/api/staff/dashboard/top-unanswered.svg", params=WEEK, headers=STAFF).text
    assert "<b>" not in raw and data.PHONE not in raw


def test_empty_range_draws_a_message_not_an_error(client):
    for name in dashboard.CHARTS:
        root = chart(client, name, since="2020-01-01", until="2020-01-31")
        assert [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "empty"], name


def test_bad_ranges_get_a_one_line_reason(client):
    backwards = client.get("/api/staff/dashboard", params={"since": "2026-11-07", "until": "2026-11-01"}, headers=STAFF)
    assert backwards.status_code == 400 and "sau ngày kết thúc" in backwards.json()["detail"]
    too_long = client.get(
        "/api/staff/dashboard/latency.svg", params={"since": "2020-01-01", "until": "2026-01-01"}, headers=STAFF
    )
    assert too_long.status_code == 400 and "tối đa 366 ngày" in too_long.json()["detail"]
    assert client.get("/api/staff/dashboard/pie.svg", headers=STAFF).status_code == 422
    assert client.get("/api/staff/dashboard", params={"since": "hôm qua"}, headers=STAFF).status_code == 422
    assert client.get("/api/staff/dashboard", params={"until": "9999-12-31"}, headers=STAFF).status_code == 200


def test_default_range_is_the_last_30_days():
    since, until = dashboard.check_range(None, None, today=data.UNTIL)
    assert (since.isoformat(), until.isoformat()) == ("2026-10-09", "2026-11-07")
    assert dashboard.check_range(data.SINCE, None, today=data.UNTIL) == (data.SINCE, data.UNTIL)


def test_figures_are_kept_for_the_charts_and_renewed_by_a_new_question(client, monkeypatch):
    data.seed()
    assert figures(client)["questions"] == 10
    calls = []
    original = dashboard.compute
    monkeypatch.setattr(dashboard, "compute", lambda *args, **kwargs: calls.append(args) or original(*args, **kwargs))
    for name in dashboard.CHARTS:  # the page's six charts reuse the figures it just read
        chart(client, name)
    assert calls == []
    interaction_log.save(data._row(data.at(data.UNTIL, 9), "zalo", "answered", "lệ phí kết hôn", [data.MARRIAGE], 700))
    assert figures(client)["questions"] == 11 and len(calls) == 1
