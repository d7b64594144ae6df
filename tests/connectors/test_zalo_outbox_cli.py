"""`tthc zalo outbox` over a real outbox database (app env; the store is stdlib-only)."""

from __future__ import annotations

from assistant.cli import main
from connectors.zalo.logs import user_ref
from connectors.zalo.store import ZaloStore

USER = "8512345678901234567"


def test_outbox_lists_waiting_and_dead_replies_and_revives_dead_ones(tmp_path, capsys):
    path = tmp_path / "zalo_outbox.sqlite"
    store = ZaloStore(path)
    waiting = store.enqueue(USER, {"text": "Hồ sơ cần chuẩn bị"}, "HTTP 503 from Zalo")
    dead = store.enqueue("111222333444555", {"text": "Lệ phí"}, "Zalo error -213: user not follow")
    store.failed(dead, "Zalo error -213: user not follow", dead=True)

    assert main(["zalo", "outbox", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 waiting, 1 dead" in out
    assert f"#{waiting} waiting user {user_ref(USER)}" in out and "HTTP 503" in out
    assert f"#{dead} dead" in out and "-213" in out
    assert USER not in out  # user ids are never printed

    assert main(["zalo", "outbox", "--path", str(path), "--revive-dead"]) == 0
    assert "Revived 1 dead" in capsys.readouterr().out
    assert (store.pending_count(), store.dead_count()) == (2, 0)
    assert [item.attempts for item in store.pending()] == [0, 0]


def test_missing_outbox_is_a_one_line_error(tmp_path, capsys):
    assert main(["zalo", "outbox", "--path", str(tmp_path / "none.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tthc: error: no Zalo outbox at") and "--path" in err
    assert not (tmp_path / "none.sqlite").exists()
