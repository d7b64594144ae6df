"""One place for settings: settings.yml, then settings.local.yml (untracked), then TTHC_* env vars.

`Settings` is a pydantic-settings object whose only source is `ProjectSettingsSource` (the two YAML files
merged, then `TTHC_SECTION__KEY` variables parsed as YAML scalars/lists). The app server builds one in
`create_app()` and hands it to routers through a FastAPI dependency (`assistant/app/server/deps.py`); the CLI
and library defaults use `get_settings()`, built once per process the same way. A bad value stops with a
one-line `SettingsError` naming the key and where to fix it.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from assistant.core.errors import SetupError

try:
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
except ModuleNotFoundError:  # .venv-rasa (pydantic 1, no pydantic-settings): the same fields, plain models
    BaseSettings = BaseModel  # type: ignore[assignment,misc]
    PydanticBaseSettingsSource = object  # type: ignore[assignment,misc]
    SettingsConfigDict = None  # type: ignore[assignment,misc]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "TTHC_"


class ProvinceSettings(BaseModel):
    name: str = "Tây Ninh"
    portal_url: str = ""
    hotline: str = ""
    one_stop_address: str = ""
    email: str = ""
    # Since 1 July 2025 there is no district level (cấp huyện). An answer from a record that still names it
    # says where such procedures are handled now: at the citizen's commune or ward ("commune") or at the
    # province ("province"). `district_note`, when set, replaces the note's default wording
    # (assistant/app/district_reform.py).
    district_successor: Literal["commune", "province"] = "commune"
    district_note: str = ""
    # The province's own facts (HĐND fees, one-stop addresses and hours, hotline), a versioned YAML merged over
    # the national records at import (knowledge_base/importers/local_facts.py); "" = none. A sample for the
    # default province: knowledge_base/local/tay_ninh.sample.yaml (sample data, not the province's rules).
    local_facts: str = ""


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    app_port: int = 8000
    rasa_port: int = 5005
    rasa_workers: int = 2
    allowed_origins: list[str] = []

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.app_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"


class CatalogSettings(BaseModel):
    seed_path: Path = Path("knowledge_base/catalog")
    data_dir: Path = Path("var")


class EmbeddingSettings(BaseModel):
    model_path: Path = Path("models/multilingual-e5-small")
    threads: int = 2


class RasaSettings(BaseModel):
    model_dir: Path = Path("models/rasa")


class OneStopSystemSettings(BaseModel):
    tracking_url: str = ""
    timeout_seconds: float = 5.0


class WebchatSettings(BaseModel):
    """The citizens' website chat (connectors/webchat)."""

    rasa_url: str = ""  # Rasa URL as the browser sees it; empty = server.rasa_url
    title: str = "Trợ lý thủ tục hành chính"
    max_message_chars: int = 1000  # longer messages are refused client-side with a polite note


class SecuritySettings(BaseModel):
    """Limits for the public endpoints; see docs/security.md."""

    rate_limit_per_minute: int = 120  # sustained requests per client IP; 0 disables rate limiting
    rate_limit_burst: int = 40  # requests a client may send at once before the sustained rate applies
    # Path prefixes not rate-limited (liveness). Rasa's action calls (all from one address) are
    # exempt only when they carry the action token (assistant/app/server/security.py).
    rate_limit_exempt_paths: list[str] = ["/health"]
    max_body_bytes: int = 65536  # larger request bodies get a polite 413
    # Rasa's action calls (POST /webhook, with the action token) carry the conversation's recent
    # events, far over a citizen's request; a long chat must not lose its answers to the public cap.
    max_action_call_bytes: int = 8 * 1024 * 1024
    # Admin token (catalogue reload, staff views). Never in settings.yml: set TTHC_ADMIN_TOKEN
    # or put it in the untracked settings.local.yml. Empty = admin endpoints disabled (503).
    admin_token: str = ""
    # Shared secret between Rasa and the app server's action endpoint (POST /webhook), sent by Rasa
    # in the ACTION_TOKEN_HEADER header. Never in settings.yml: `tthc up` generates one per start
    # unless TTHC_ACTION_TOKEN (or this key in settings.local.yml) sets it, e.g. for several hosts.
    # An app server without one refuses every action call (503): never open.
    action_token: str = ""
    # Who may read /metrics (Prometheus text format): client addresses in these networks, as the app
    # sees them (behind nginx, the X-Forwarded-For it sets). Loopback by default: a Prometheus or agent
    # on the same machine. The reverse proxy does not pass /metrics at all.
    metrics_allowed_networks: list[str] = ["127.0.0.0/8", "::1/128"]


class PrivacySettings(BaseModel):
    retention_days: int = 90  # `tthc privacy purge` deletes stored conversations/feedback older than this
    mask_logs: bool = True  # mask ID numbers, phone numbers and e-mails in every log record


class DeploymentSettings(BaseModel):
    """Where the shared state lives (docs/deploy.md).

    "single-vm": SQLite files in catalog.data_dir (Rasa's tracker and locks, the app's data, the Zalo
    store, rate limits). "scale-out": several nodes, each running both servers, share PostgreSQL (Rasa's
    tracker store, the app's data, the Zalo store) and Redis (Rasa's lock store, rate limits);
    `tthc up --profile scale-out` is the same as setting this. Passwords only in the environment:
    TTHC_PG_PASSWORD and TTHC_REDIS_PASSWORD."""

    profile: Literal["single-vm", "scale-out"] = "single-vm"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_db: str = "tthc"
    postgres_user: str = "tthc"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0
    # Where Rasa calls the custom actions. Empty = this node's app server (server.app_url). On several
    # nodes: the internal action balancer (deploy/nginx, `--action-listen`), so a Rasa whose own app
    # server is down still reaches another one.
    action_endpoint_url: str = ""

    @property
    def scale_out(self) -> bool:
        return self.profile == "scale-out"

    @property
    def postgres_url(self) -> str:
        from assistant.core.storage import postgres_url

        return postgres_url(self.postgres_host, self.postgres_port, self.postgres_db, self.postgres_user)

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"


class Settings(BaseSettings):
    """All settings; build with `load_settings()` (or `get_settings()` for the process-wide copy)."""

    if SettingsConfigDict is not None:
        model_config = SettingsConfigDict(extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then the project's files and TTHC_* variables (no .env, no secrets dir)."""
        environ, root = _SOURCE_INPUT.get()
        return init_settings, ProjectSettingsSource(settings_cls, environ=environ, root=root)

    province: ProvinceSettings = ProvinceSettings()
    national_portal_url: str = "https://dichvucong.gov.vn"
    server: ServerSettings = ServerSettings()
    catalog: CatalogSettings = CatalogSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    rasa: RasaSettings = RasaSettings()
    one_stop_system: OneStopSystemSettings = OneStopSystemSettings()
    webchat: WebchatSettings = WebchatSettings()
    security: SecuritySettings = SecuritySettings()
    privacy: PrivacySettings = PrivacySettings()
    deployment: DeploymentSettings = DeploymentSettings()

    def resolve(self, path: Path) -> Path:
        """Relative paths in settings are relative to the project root."""
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def data_dir(self) -> Path:
        """Active catalogue index, databases and logs (git-ignored)."""
        return self.resolve(self.catalog.data_dir)

    @property
    def local_facts_path(self) -> Path | None:
        """The province's facts file (resolved), or None when not configured."""
        value = self.province.local_facts.strip()
        return self.resolve(Path(value)) if value else None

    @property
    def embedding_model_path(self) -> Path:
        return self.resolve(self.embedding.model_path)

    @property
    def zalo_outbox_path(self) -> Path:
        """Replies the Zalo channel could not deliver yet (written by the Rasa server, read by the CLI)."""
        return self.data_dir / "zalo_outbox.sqlite"

    @property
    def app_database(self) -> str | Path:
        """Hand-offs, feedback, recorded questions (assistant/core/storage.py): a SQLite file, or PostgreSQL
        on the scale-out profile."""
        return self.deployment.postgres_url if self.deployment.scale_out else self.data_dir / "app.db"

    @property
    def zalo_store(self) -> str | Path:
        """The Zalo connector's outbox, dedupe, tokens and leases (connectors/zalo/store.py)."""
        return self.deployment.postgres_url if self.deployment.scale_out else self.zalo_outbox_path

    @property
    def tracker_database(self) -> str | Path:
        """Rasa's tracker store: the SQLite file `tthc up` gives Rasa, or PostgreSQL on scale-out."""
        return self.deployment.postgres_url if self.deployment.scale_out else self.data_dir / "rasa_tracker.db"


ADMIN_TOKEN_ENV = "TTHC_ADMIN_TOKEN"
ACTION_TOKEN_ENV = "TTHC_ACTION_TOKEN"
ACTION_TOKEN_HEADER = "X-Action-Token"  # endpoints.yml sends it; assistant/app/server/security.py checks it


def configured_secret(env_name: str, from_settings: str, environ: dict[str, str] | None = None) -> str:
    """A secret from its environment variable, else from settings (settings.local.yml); '' if unset."""
    environ = os.environ if environ is None else environ
    return (environ.get(env_name, "") or from_settings or "").strip()


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """TTHC_SECTION__KEY=value -> {"section": {"key": value}}; values parsed as YAML scalars/lists."""
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        try:
            node[path[-1]] = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            node[path[-1]] = raw
    return overrides


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SettingsError(f"{path} is not valid YAML{where}: fix the file or remove it") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must be a YAML mapping (section: key: value)")
    return data


# What `load_settings(environ, root)` asks the source to read; (None, PROJECT_ROOT) = os.environ, the project.
_SOURCE_INPUT: ContextVar[tuple[dict[str, str] | None, Path]] = ContextVar(
    "tthc_settings_input", default=(None, PROJECT_ROOT)
)


class SettingsError(SetupError, ValueError):
    """A settings value that does not validate: one line naming the key and where to fix it."""


class ProjectSettingsSource(PydanticBaseSettingsSource):
    """settings.yml (or $TTHC_CONFIG), then settings.local.yml, then TTHC_SECTION__KEY variables."""

    def __init__(
        self, settings_cls: type[BaseSettings], environ: dict[str, str] | None = None, root: Path = PROJECT_ROOT
    ) -> None:
        super().__init__(settings_cls)
        self.environ = dict(os.environ) if environ is None else environ
        self.root = root

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self().get(field_name), field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        return project_values(self.environ, self.root)


def project_values(environ: dict[str, str], root: Path) -> dict[str, Any]:
    """The raw settings mapping: settings.yml (or $TTHC_CONFIG), settings.local.yml, then TTHC_* variables."""
    config_file = Path(environ.get("TTHC_CONFIG", root / "settings.yml"))
    data = _read_yaml(config_file)
    data = _deep_merge(data, _read_yaml(root / "settings.local.yml"))
    return _deep_merge(data, _env_overrides({k: v for k, v in environ.items() if k != "TTHC_CONFIG"}))


def _one_line(error: ValidationError) -> str:
    errors = error.errors()
    first = errors[0]
    location = [str(part) for part in first.get("loc", ())]
    key = ".".join(location) or "settings"
    variable = ENV_PREFIX + "__".join(part.upper() for part in location)
    value = f" = {first['input']!r}" if "input" in first else ""  # pydantic 1 does not report the value
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return (
        f"bad setting {key}{value}: {first.get('msg')}{more}; fix it in settings.yml, settings.local.yml or {variable}"
    )


def load_settings(environ: dict[str, str] | None = None, root: Path = PROJECT_ROOT) -> Settings:
    """Settings from the files under `root` and `environ` (default: os.environ). Raises SettingsError."""
    token = _SOURCE_INPUT.set((environ, root))
    try:
        if SettingsConfigDict is None:  # the Rasa environment: validate the same mapping with pydantic 1
            return Settings.parse_obj(project_values(dict(os.environ) if environ is None else environ, root))
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None
    finally:
        _SOURCE_INPUT.reset(token)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings for the CLI and library defaults (the app server injects its own)."""
    return load_settings()
