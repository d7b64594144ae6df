"""Print one example conversation per channel (rest = web chat, zalo) from the real actions on the seed
catalogue (BM25, no model), for docs/answering.md:  .venv/bin/python scripts/example_conversations.py rest|zalo
`english`: an English conversation in the web chat, with the test province facts (tests/fixtures/local_facts.yaml)
merged over the seed, so the provincial fee shows too."""

import json
import os
import sys
import tempfile

os.environ["TTHC_CATALOG__DATA_DIR"] = tempfile.mkdtemp()
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from assistant.app.actions import common
from assistant.app.actions.procedures import ActionAnswerProcedure
from assistant.core.settings import PROJECT_ROOT
from connectors.zalo.messages import build_messages, with_site_links
from knowledge_base import english
from knowledge_base.importers import load_catalog
from knowledge_base.store import KnowledgeBase
from tests.actions.conftest import Conversation

facts = PROJECT_ROOT / "tests/fixtures/local_facts.yaml" if sys.argv[1] == "english" else None
kb = KnowledgeBase.build(
    load_catalog(PROJECT_ROOT / "knowledge_base/catalog", facts).procedures,
    tempfile.mkdtemp(),
    model_path=None,
    progress=False,
)
common.get_knowledge_base = lambda: kb
answer = ActionAnswerProcedure()


def tap(chat, title):
    [b] = [b for b in chat.buttons if b["title"] == title]
    if not b["payload"].startswith("/"):  # an English quick reply is an English message (the NLU routes it)
        chat.turn(answer, b["payload"], english.catalogue_intent(b["payload"]))
        return b["payload"]
    intent, entities = b["payload"][1:].split("{", 1)
    chat.turn(answer, b["payload"], intent, **json.loads("{" + entities))
    return b["payload"]


channel = "rest" if sys.argv[1] == "english" else sys.argv[1]
chat = Conversation(channel=channel)
steps = (
    [("làm căn cước cần giấy tờ gì", "ask_documents"), ("Lệ phí", None)]
    if channel == "rest"
    else [("thủ tục đăng ký khai sinh", "ask_procedure"), ("Nộp trực tuyến", None)]
)
if sys.argv[1] == "english":
    steps = [
        ("How do I register temporary residence?", "ask_procedure"),
        ("Fee", None),
        ("And how long does it take?", "ask_processing_time"),
    ]
who = "User" if sys.argv[1] == "english" else "Anh/Chị"
for text, intent in steps:
    if intent:
        chat.turn(answer, text, intent)
        print(f"{who}: {text}   [intent {intent}]")
    else:
        payload = tap(chat, text)
        print(f"{who} {'taps' if who == 'User' else 'bấm'} «{text}»   [sends {payload}]")
    for m in chat.messages:
        if channel == "rest":
            print("Trợ lý:\n" + m["text"])
            print(
                "  buttons: "
                + " · ".join(
                    b["title"] + (f" → {b['url']}" if b.get("url") else f" → {b['payload']}")
                    for b in m.get("buttons") or []
                )
            )
        else:
            for zm in build_messages(m["text"], with_site_links(m.get("buttons"), "https://tthc.example.gov.vn")):
                print("Zalo message (%d characters):\n%s" % (len(zm["text"]), zm["text"]))
                for b in (zm.get("attachment") or {}).get("payload", {}).get("buttons", []):
                    print(f"  [{b['title']}] {b['type']} {json.dumps(b['payload'], ensure_ascii=False)}")
    print()
