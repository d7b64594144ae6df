"""The layout: each runtime has its own room and dependencies point one way (docs/architecture.md, "Layout").

Every .py file of assistant/, connectors/ and knowledge_base/ belongs to the room of the longest module prefix it
starts with; each of its imports (at module level or inside a function) must be one that room may import.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("assistant", "connectors", "knowledge_base")
# Web and chat frameworks, each allowed only in the rooms of the runtime that has it installed.
FRAMEWORKS = ("rasa", "rasa_sdk", "sanic", "fastapi", "starlette", "uvicorn")
# Rasa input channels: loaded by the Rasa server (endpoint in credentials.yml), they import Rasa and Sanic.
RASA_INPUT_CHANNELS = ("connectors.guarded_rest", "connectors.zalo.channel")


@dataclass(frozen=True)
class Room:
    prefix: str
    runtime: str
    may_import: tuple[str, ...]  # project modules, as prefixes
    frameworks: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()  # never, even inside may_import

    def holds(self, module: str) -> bool:
        if self.prefix == "assistant":  # the package marker only: every other module lives in a room
            return module == "assistant"
        return module == self.prefix or module.startswith(self.prefix + ".")

    def rule(self) -> str:
        allowed = ", ".join(self.may_import) or "nothing of the project"
        if self.except_:
            allowed += f" (not {', '.join(self.except_)})"
        return (
            f"{self.prefix} ({self.runtime}) may import only {allowed} "
            f"and the frameworks {', '.join(self.frameworks) or '(none)'}"
        )


ROOMS = (
    Room("assistant.core", "both runtimes", ("assistant.core",)),
    Room(
        "assistant.rasa_process",
        "Rasa process, .venv-rasa",
        ("assistant.core", "assistant.rasa_process", "connectors", "knowledge_base.text", "knowledge_base.english"),
        ("rasa",),
    ),
    Room(
        "assistant.app",
        "app server, .venv",
        ("assistant.core", "assistant.app", "knowledge_base", "connectors"),
        ("fastapi", "starlette", "uvicorn", "rasa_sdk"),
        except_=RASA_INPUT_CHANNELS,
    ),
    Room("assistant.cli", "CLI, .venv", PACKAGES, FRAMEWORKS),
    *(
        Room(channel, "Rasa process, .venv-rasa", ("assistant.core", "connectors"), ("rasa", "sanic"))
        for channel in RASA_INPUT_CHANNELS
    ),
    Room(
        "connectors",
        "both runtimes: the channels' helpers, Zalo delivery",
        ("assistant.core", "connectors"),
        except_=RASA_INPUT_CHANNELS,
    ),
    Room("knowledge_base", ".venv; text and english also in the Rasa process", ("knowledge_base",)),
    Room("assistant", "package marker", ()),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> Room | None:
    rooms = [room for room in ROOMS if room.holds(module)]
    return max(rooms, key=lambda room: len(room.prefix)) if rooms else None


def imports_of(source: str, module: str, is_package: bool, is_module=lambda name: False) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the source, relative ones resolved; `from a import b` names
    a.b when that is a module of the project."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                found.append((node.lineno, f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base))
    return found


def violations_in(
    source: str, module: str, label: str, is_package: bool = False, is_module=lambda name: False
) -> list[str]:
    room = room_of(module)
    if room is None:
        return [f"{label}: {module} is in no room; move it into assistant/core, rasa_process, app or cli"]
    found = []
    for line, name in imports_of(source, module, is_package, is_module):
        top = name.split(".")[0]
        under = lambda prefixes: any(name == p or name.startswith(p + ".") for p in prefixes)  # noqa: E731, B023
        if top in PACKAGES:
            allowed = under(room.may_import) and not under(room.except_)
        else:
            allowed = top not in FRAMEWORKS or top in room.frameworks
        if not allowed:
            found.append(f"{label}:{line} imports {name}, but {room.rule()}")
    return found


def test_every_import_follows_its_rooms_rule():
    files = [
        path
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    ]
    modules = {module_name(path, PROJECT_ROOT) for path in files}
    # Each runtime's room is there and holds code: a mistyped prefix cannot pass by matching nothing.
    assert all(any(room.holds(module) for module in modules) for room in ROOMS), "a room of ROOMS holds no module"
    problems = []
    for path in files:
        problems += violations_in(
            path.read_text(encoding="utf-8"),
            module_name(path, PROJECT_ROOT),
            path.relative_to(PROJECT_ROOT).as_posix(),
            path.name == "__init__.py",
            modules.__contains__,
        )
    assert not problems, 'imports against the layout (docs/architecture.md, "Layout"):\n' + "\n".join(problems)


def test_the_rule_catches_imports_against_the_layout():
    """The checker itself: imports that break the rule, one per room, inside functions too."""
    modules = {"assistant.app.answers", "connectors.zalo.channel"}.__contains__
    cases = {
        "assistant.core.settings": "def load():\n    from assistant.app import answers\n",
        "assistant.rasa_process.entry": "import knowledge_base.store\n",
        "assistant.app.metrics": "from connectors.zalo import channel\n",
        "connectors.zalo.store": "from assistant.app.answers import compose\n",
        "connectors.zalo.messages": "import rasa\n",
        "knowledge_base.text": "from assistant.core import reply\n",
        "assistant.stray": "",
    }
    for module, source in cases.items():
        assert violations_in(source, module, module, is_module=modules), module
    assert violations_in("from ..app import answers\n", "assistant.core.settings", "settings", is_module=modules)
    # and what the rule allows
    assert not violations_in("from assistant.core import reply\nimport rasa\n", "connectors.zalo.channel", "channel")
    assert not violations_in("from assistant.app.server import deps\nimport fastapi\n", "assistant.app.metrics", "m")
