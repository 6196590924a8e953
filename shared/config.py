"""Settings: environment variables → one frozen object, read once per process.

Every knob lives in SETTINGS below with its variable name, default and meaning; the README's
configuration table is generated from the same list (`dossier config --markdown`), so the two
cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SERVICES: tuple[str, ...] = ("intake", "documents", "review", "notify")
DEFAULT_PORTS: dict[str, int] = {"intake": 8001, "documents": 8002, "review": 8003, "notify": 8004}


class ConfigError(Exception):
    """A setting is missing or malformed; raised at start-up, never mid-request."""


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str | None
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _size(raw: str) -> int:
    """Bytes, with an optional K/M/G suffix (binary multiples), so operators can write 2G."""
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    factor = 1
    for suffix, mult in (("K", 1024), ("M", 1024**2), ("G", 1024**3)):
        if text.endswith(suffix):
            text, factor = text[:-1], mult
            break
    return int(float(text) * factor)


def _zone(raw: str) -> str:
    """An IANA zone name, checked at start-up rather than at the first date rule."""
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {raw!r}") from exc
    return raw.strip()


SETTINGS: tuple[Setting, ...] = (
    Setting("DOSSIER_DATA_DIR", "data_dir", "./var",
            "Folder for the embedded default: SQLite files, Redis AOF, S3 data, logs."),
    Setting("DOSSIER_SECRET_KEY", "secret_key", None,
            "Key that signs bearer tokens and session cookies. `make run` generates one "
            "into the data folder on first start.", secret=True),
    Setting("DOSSIER_TOKEN_TTL", "token_ttl", "43200",
            "Lifetime of a bearer token in seconds.", int),
    Setting("DOSSIER_REDIS_URL", "redis_url", "redis://127.0.0.1:6389/0",
            "Celery broker (Redis)."),
    Setting("DOSSIER_S3_ENDPOINT", "s3_endpoint", "127.0.0.1:8333",
            "S3 API host:port (MinIO in production, SeaweedFS embedded)."),
    Setting("DOSSIER_S3_ACCESS_KEY", "s3_access_key", None, "S3 access key.", secret=True),
    Setting("DOSSIER_S3_SECRET_KEY", "s3_secret_key", None, "S3 secret key.", secret=True),
    Setting("DOSSIER_S3_SECURE", "s3_secure", "false", "Use HTTPS towards the S3 API.", _bool),
    Setting("DOSSIER_S3_PUBLIC_URL", "s3_public_url", None,
            "Base URL browsers use to reach the S3 API (e.g. `https://files.example.org`), "
            "for presigned links; default: the internal endpoint."),
    Setting("DOSSIER_S3_REGION", "s3_region", "us-east-1", "S3 region name."),
    Setting("DOSSIER_S3_BUCKET", "s3_bucket", "dossier-materials",
            "Bucket for all materials (created with versioning and object lock)."),
    Setting("DOSSIER_INTAKE_DATABASE_URL", "intake_database_url", None,
            "Intake's database; default `sqlite:///$DOSSIER_DATA_DIR/intake.db`."),
    Setting("DOSSIER_DOCUMENTS_DATABASE_URL", "documents_database_url", None,
            "Documents' database; default `sqlite:///$DOSSIER_DATA_DIR/documents.db`."),
    Setting("DOSSIER_REVIEW_DATABASE_URL", "review_database_url", None,
            "Review's database; default `sqlite:///$DOSSIER_DATA_DIR/review.db`."),
    Setting("DOSSIER_NOTIFY_DATABASE_URL", "notify_database_url", None,
            "Notify's database; default `sqlite:///$DOSSIER_DATA_DIR/notify.db`."),
    Setting("DOSSIER_INTAKE_PORT", "intake_port", "8001", "HTTP port of intake.", int),
    Setting("DOSSIER_DOCUMENTS_PORT", "documents_port", "8002", "HTTP port of documents.", int),
    Setting("DOSSIER_REVIEW_PORT", "review_port", "8003", "HTTP port of review.", int),
    Setting("DOSSIER_NOTIFY_PORT", "notify_port", "8004", "HTTP port of notify.", int),
    Setting("DOSSIER_MAX_JSON_BYTES", "max_json_bytes", "1M",
            "Largest JSON request body (413 above it).", _size),
    Setting("DOSSIER_MAX_UPLOAD_BYTES", "max_upload_bytes", "2G",
            "Largest single uploaded file (413 above it).", _size),
    Setting("DOSSIER_TASK_LEASE_SECONDS", "task_lease_seconds", "30",
            "Lease on a task a worker holds: the worker renews it every quarter of this "
            "while alive, so the tasks of a worker that died are queued again within about "
            "this many seconds plus 10.", int),
    Setting("DOSSIER_TASK_TIME_LIMIT", "task_time_limit", "600",
            "Seconds a task may run before it is stopped and recorded as a dead letter.", int),
    Setting("DOSSIER_WORKER_MAX_MEMORY_MB", "worker_max_memory_mb", "1024",
            "A worker child that grew past this is replaced after its current task.", int),
    Setting("DOSSIER_TASK_MAX_RETRIES", "task_max_retries", "8",
            "Retries (exponential backoff) before a task is recorded as dead.", int),
    Setting("DOSSIER_OUTBOX_POLL_SECONDS", "outbox_poll_seconds", "0.5",
            "How often each worker's outbox relay looks for unpublished events.", float),
    Setting("DOSSIER_TASK_START_DELAY", "task_start_delay", "0",
            "Fault injection for resilience tests: seconds each task waits before it "
            "starts. Keep 0 in production.", float),
    Setting("DOSSIER_TXN_GUARD", "txn_guard", "false",
            "Testing aid: record every network call, child process or object-store call made "
            "inside a database writer transaction in `$DOSSIER_DATA_DIR/txn-guard.jsonl`. The "
            "test stacks turn it on; keep it off in production.", _bool),
    Setting("DOSSIER_CALENDAR_FILE", "calendar_file", None,
            "Extra working-day calendar (JSON/YAML) that adds or overrides years."),
    Setting("DOSSIER_TIMEZONE", "timezone", "Asia/Shanghai",
            "Time zone of the one clock every date rule asks (publicity windows, deadlines, "
            "objection windows): an IANA name.", _zone),
    Setting("DOSSIER_PRESIGN_SECONDS", "presign_seconds", "300",
            "Lifetime of presigned download links.", int),
    Setting("DOSSIER_LOG_LEVEL", "log_level", "INFO", "Log level of services and workers."),
    Setting("DOSSIER_DATA_KEY", "data_key", None,
            "Key for field encryption of personal data (identity numbers, objection "
            "reporters); default: derived from `DOSSIER_SECRET_KEY`. Keep it when rotating "
            "the signing key.", secret=True),
    Setting("DOSSIER_AUDIT_KEY", "audit_key", None,
            "Key of the audit log's keyed hash chain and of its anchors (HMAC-SHA256); "
            "default: derived from `DOSSIER_SECRET_KEY`. Keep it when rotating the signing key: "
            "records signed under another key no longer verify.", secret=True),
    Setting("DOSSIER_AUDIT_ANCHOR_SECONDS", "audit_anchor_seconds", "300",
            "How often each worker writes its service's audit head (last record's number and "
            "hash) to the object store under compliance retention, when it has moved; records "
            "after the last anchor can still be cut off unnoticed. 0 turns the timer off "
            "(`dossier audit anchor` still writes one).", float),
    Setting("DOSSIER_AUDIT_ANCHOR_RETENTION_DAYS", "audit_anchor_retention_days", "3650",
            "Days each audit anchor stays under compliance retention (nobody can delete it).",
            int),
    Setting("DOSSIER_PUBLIC_URL", "public_url", "http://127.0.0.1:8000",
            "The one address browsers use (the reverse proxy in front of the four services); "
            "links in e-mails and on certificates start with it."),
    Setting("DOSSIER_PROXY_PORT", "proxy_port", "8000",
            "Port of the reverse proxy `make run` starts (nginx).", int),
    Setting("DOSSIER_SESSION_IDLE_SECONDS", "session_idle_seconds", "7200",
            "A browser session ends after this many seconds without a request.", int),
    Setting("DOSSIER_SESSION_MAX_SECONDS", "session_max_seconds", "43200",
            "A browser session ends this many seconds after sign-in, however active.", int),
    Setting("DOSSIER_I18N_STRICT", "i18n_strict", "false",
            "Show `[[untranslated: …]]` for any page text missing from the active language's "
            "catalogue (the page tests turn it on).", _bool),
    Setting("DOSSIER_PAGE_CACHE_SECONDS", "page_cache_seconds", "600",
            "How long a rendered busy page (the expert's work list, the applicant's packet) is "
            "kept in Redis for reuse until what it shows changes; 0 turns the cache off.", int),
    # --- intake settings ---
    Setting("DOSSIER_INTAKE_UNITS_FILE", "intake_units_file", None,
            "YAML list of recommending units (county regulators, committees, industry "
            "authorities); default: the Xinzhou list shipped with intake."),
    Setting("DOSSIER_INTAKE_MAX_PACKET_BYTES", "intake_max_packet_bytes", "10G",
            "Largest total size of one application's current material (413 above it).", _size),
    Setting("DOSSIER_INTAKE_BATCH_MAX_FILES", "intake_batch_max_files", "50",
            "Most files one batch upload (`POST …/documents/batch`) may carry (413 above it).",
            int),
    Setting("DOSSIER_INTAKE_BATCH_MAX_BYTES", "intake_batch_max_bytes", "512M",
            "Largest total of the files of one batch upload (413 above it); larger files go "
            "one by one or as resumable uploads.", _size),
    Setting("DOSSIER_INTAKE_RETENTION_DAYS", "intake_retention_days", "3650",
            "Days a submitted version stays under compliance retention (immutable).", int),
    # --- end of intake settings ---
    # --- documents settings ---
    Setting("DOSSIER_DOCUMENTS_INSPECT_SECONDS", "documents_inspect_seconds", "60",
            "Wall time (and CPU time) one file's inspection may take before its verdict is "
            "`inspect.timeout`.", float),
    Setting("DOSSIER_DOCUMENTS_INSPECT_MEMORY", "documents_inspect_memory", "768M",
            "Address-space cap of each sandboxed inspector process; above it the verdict is "
            "`inspect.memory`.", _size),
    Setting("DOSSIER_DOCUMENTS_MAX_PAGES", "documents_max_pages", "2000",
            "Most pages any one uploaded file may have: above it the verdict is "
            "`inspect.too_many_pages` (invalid, page count kept) and its structure and text "
            "are not read; 0: no limit. Requirements may set lower limits in the catalogue.",
            int),
    Setting("DOSSIER_DOCUMENTS_ZIP_MAX_ENTRIES", "documents_zip_max_entries", "5000",
            "Most entries a DOCX (ZIP) may hold before it is refused as a zip bomb.", int),
    Setting("DOSSIER_DOCUMENTS_ZIP_MAX_BYTES", "documents_zip_max_bytes", "512M",
            "Largest total uncompressed size of a DOCX before it is refused.", _size),
    Setting("DOSSIER_DOCUMENTS_ZIP_MAX_RATIO", "documents_zip_max_ratio", "200",
            "Largest compression ratio of a large DOCX entry before it is refused.", int),
    Setting("DOSSIER_DOCUMENTS_CATALOGUE", "documents_catalogue", "quality-award-2025",
            "Requirement catalogue used when a cycle names none (files in "
            "`services/documents/catalogues/`)."),
    Setting("DOSSIER_DOCUMENTS_CATALOGUE_DIR", "documents_catalogue_dir", None,
            "Extra folder of requirement catalogues (YAML) that adds to or overrides the "
            "shipped ones."),
    # --- end of documents settings ---
    # --- review settings ---
    Setting("DOSSIER_REVIEW_DATA_DIR", "review_data_dir", None,
            "Folder of operator-edited review data that overrides the shipped defaults: "
            "`rubrics/<kind>.yaml`, `opinions.yaml`, `awards.yaml`, `grounds.yaml`, each also "
            "per cycle under `<cycle>/`."),
    Setting("DOSSIER_REVIEW_WATERMARK_FONT", "review_watermark_font", None,
            "CJK TrueType font (TTF, or TTC: its first face) embedded in trade-secret "
            "watermarks; default: the first of Debian's `fonts-wqy-microhei`, "
            "`fonts-wqy-zenhei`, `fonts-arphic-uming`, `fonts-droid-fallback` found. Without "
            "any, watermarks fall back to the non-embedded CID font STSong-Light (a warning "
            "is logged)."),
    Setting("DOSSIER_REVIEW_VIEW_MAX_PAGES", "review_view_max_pages", "2000",
            "Most pages (from the inspection record) a PDF may have to be read page by page in "
            "the browser or downloaded watermarked; above it the expert is told once to ask "
            "the operator, and no page is rendered.", int),
    Setting("DOSSIER_REVIEW_VIEW_MAX_BYTES", "review_view_max_bytes", "200M",
            "Largest PDF read page by page in the browser or downloaded watermarked.", _size),
    Setting("DOSSIER_REVIEW_RENDER_SECONDS", "review_render_seconds", "30",
            "Wall time (and CPU time) one page picture or one watermarked file may take in "
            "review's limited render process; a file that overruns is remembered as not "
            "viewable.", float),
    Setting("DOSSIER_REVIEW_RENDER_MEMORY", "review_render_memory", "768M",
            "Address-space cap of review's render processes (page pictures, watermarks); the "
            "web and worker processes never parse a PDF themselves.", _size),
    # --- end of review settings ---
    # --- notify settings ---
    Setting("DOSSIER_NOTIFY_SMTP_HOST", "notify_smtp_host", None,
            "SMTP server for e-mail notifications; unset: e-mail is off, the in-app inbox "
            "and webhooks still work."),
    Setting("DOSSIER_NOTIFY_SMTP_PORT", "notify_smtp_port", "25", "SMTP port.", int),
    Setting("DOSSIER_NOTIFY_SMTP_USER", "notify_smtp_user", None, "SMTP login, if required."),
    Setting("DOSSIER_NOTIFY_SMTP_PASSWORD", "notify_smtp_password", None, "SMTP password.",
            secret=True),
    Setting("DOSSIER_NOTIFY_SMTP_STARTTLS", "notify_smtp_starttls", "false",
            "Upgrade the SMTP connection with STARTTLS.", _bool),
    Setting("DOSSIER_NOTIFY_MAIL_FROM", "notify_mail_from", "Dossier <noreply@dossier.local>",
            "Sender address of notification e-mails."),
    Setting("DOSSIER_NOTIFY_SEND_TIMEOUT", "notify_send_timeout", "10",
            "Seconds any SMTP or webhook call may take before it counts as failed.", float),
    Setting("DOSSIER_NOTIFY_MAX_ATTEMPTS", "notify_max_attempts", "8",
            "Attempts per delivery (e-mail or webhook) before it is parked as dead for an "
            "operator to retry.", int),
    Setting("DOSSIER_NOTIFY_RETRY_SECONDS", "notify_retry_seconds", "30",
            "First retry delay of a failed delivery; doubles each attempt (capped at 6 h).",
            float),
    Setting("DOSSIER_NOTIFY_BATCH", "notify_batch", "100",
            "E-mails sent by one task over one SMTP connection.", int),
    Setting("DOSSIER_NOTIFY_TEMPLATES", "notify_templates", None,
            "Operator's message templates (YAML, same shape as "
            "services/notify/templates/messages.yaml); entries override the built-in ones."),
    Setting("DOSSIER_NOTIFY_REMINDER_TIME", "notify_reminder_time", "08:30",
            "Local time (Asia/Shanghai) at which Celery beat sends the day's reminders."),
    Setting("DOSSIER_NOTIFY_WEBHOOK_PRIVATE", "notify_webhook_private", "false",
            "Allow webhook addresses on loopback or private networks (tests, or an office "
            "system on the internal network); off, such addresses are refused.", _bool),
    Setting("DOSSIER_NOTIFY_TODAY", "notify_today", None,
            "Fault/clock injection for tests: the date reminders treat as today. Keep unset."),
    # --- end of notify settings ---
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    secret_key: str
    token_ttl: int
    redis_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool
    s3_public_url: str | None
    s3_region: str
    s3_bucket: str
    intake_database_url: str | None
    documents_database_url: str | None
    review_database_url: str | None
    notify_database_url: str | None
    intake_port: int
    documents_port: int
    review_port: int
    notify_port: int
    max_json_bytes: int
    max_upload_bytes: int
    task_lease_seconds: int
    task_time_limit: int
    worker_max_memory_mb: int
    task_max_retries: int
    outbox_poll_seconds: float
    task_start_delay: float
    txn_guard: bool
    calendar_file: str | None
    timezone: str
    presign_seconds: int
    log_level: str
    data_key: str | None
    audit_key: str | None
    audit_anchor_seconds: float
    audit_anchor_retention_days: int
    public_url: str
    proxy_port: int
    session_idle_seconds: int
    session_max_seconds: int
    i18n_strict: bool
    page_cache_seconds: int
    # --- intake fields ---
    intake_units_file: str | None
    intake_max_packet_bytes: int
    intake_batch_max_files: int
    intake_batch_max_bytes: int
    intake_retention_days: int
    # --- end of intake fields ---
    # --- documents fields ---
    documents_inspect_seconds: float
    documents_inspect_memory: int
    documents_max_pages: int
    documents_zip_max_entries: int
    documents_zip_max_bytes: int
    documents_zip_max_ratio: int
    documents_catalogue: str
    documents_catalogue_dir: str | None
    # --- end of documents fields ---
    # --- review fields ---
    review_data_dir: str | None
    review_watermark_font: str | None = None
    review_view_max_pages: int = 2000
    review_view_max_bytes: int = 200 * 1024 * 1024
    review_render_seconds: float = 30.0
    review_render_memory: int = 768 * 1024 * 1024
    # --- end of review fields ---
    # --- notify fields ---
    notify_smtp_host: str | None = None
    notify_smtp_port: int = 25
    notify_smtp_user: str | None = None
    notify_smtp_password: str | None = None
    notify_smtp_starttls: bool = False
    notify_mail_from: str = "Dossier <noreply@dossier.local>"
    notify_send_timeout: float = 10.0
    notify_max_attempts: int = 8
    notify_retry_seconds: float = 30.0
    notify_batch: int = 100
    notify_templates: str | None = None
    notify_reminder_time: str = "08:30"
    notify_webhook_private: bool = False
    notify_today: str | None = None
    # --- end of notify fields ---
    extra: Mapping[str, str] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        explicit = getattr(self, f"{service}_database_url")
        if explicit:
            return str(explicit)
        return f"sqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def field_key(self) -> str:
        """Secret for `shared.crypto.FieldCipher`."""
        return self.data_key or f"data-key:{self.secret_key}"

    def audit_secret(self) -> str:
        """Secret for `shared.audit.AuditKey`."""
        return self.audit_key or f"audit-key:{self.secret_key}"

    def port(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    @property
    def mail_enabled(self) -> bool:
        """Whether notify sends e-mail at all: what pages may promise about an e-mailed link."""
        return bool(self.notify_smtp_host)

    def replace(self, **changes: Any) -> Settings:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


MIN_SECRET_LENGTH = 32
_REQUIRED = {"DOSSIER_SECRET_KEY", "DOSSIER_S3_ACCESS_KEY", "DOSSIER_S3_SECRET_KEY"}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from `environ` (default: os.environ); fail loudly on bad values."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        # An empty value (common in .env and compose files) means 'use the default'.
        raw = env.get(setting.env) or setting.default
        if raw is None or raw == "":
            if setting.env in _REQUIRED:
                problems.append(f"{setting.env} is required ({setting.help})")
            values[setting.attr] = None
            continue
        try:
            values[setting.attr] = setting.parse(raw)
        except ValueError as exc:
            problems.append(f"{setting.env}={raw!r}: {exc}")
    secret = values.get("secret_key")
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        # HS256 wants at least 256 bits of key (RFC 7518 §3.2); refuse a guessable one early.
        problems.append(f"DOSSIER_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
    if problems:
        raise ConfigError("; ".join(problems))
    values["data_dir"] = Path(values["data_dir"])
    values["extra"] = {k: v for k, v in env.items() if k.startswith("DOSSIER_")}
    return Settings(**values)


def markdown_table() -> str:
    """The README's configuration table."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default is not None else "—"
        rows.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(rows)
