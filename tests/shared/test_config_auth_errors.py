"""Settings, bearer tokens, typed errors and task routing: the pure-logic parts of `shared`."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import jwt
import pytest

from shared.auth import ROLES, issue_token, verify_token
from shared.config import (
    SERVICES,
    SETTINGS,
    ConfigError,
    Settings,
    load_settings,
    markdown_table,
)
from shared.errors import MESSAGES, Conflict, DossierError, Forbidden
from shared.storage import ObjectNotFound
from shared.tasks import queue_for, route_task

REPO = Path(__file__).resolve().parents[2]
REQUIRED = {
    "DOSSIER_SECRET_KEY": "a-secret-" + "x" * 32,
    "DOSSIER_S3_ACCESS_KEY": "access",
    "DOSSIER_S3_SECRET_KEY": "s3-secret",
}
SECRET = "token-signing-secret-" + "x" * 48  # 64+ bytes: long enough for HS512 too


def settings(**env: str) -> Settings:
    return load_settings({**REQUIRED, **env})


# -- settings -----------------------------------------------------------------------------------

def test_settings_not_given_take_their_documented_defaults() -> None:
    s = settings()

    assert s.data_dir == Path("./var")
    assert s.secret_key == "a-secret-" + "x" * 32
    assert (s.s3_access_key, s.s3_secret_key) == ("access", "s3-secret")
    assert s.token_ttl == 43200
    assert s.redis_url == "redis://127.0.0.1:6389/0"
    assert s.s3_endpoint == "127.0.0.1:8333"
    assert s.s3_secure is False
    assert s.s3_region == "us-east-1"
    assert s.s3_bucket == "dossier-materials"
    assert [s.port(svc) for svc in SERVICES] == [8001, 8002, 8003, 8004]
    assert s.max_json_bytes == 1024 * 1024
    assert s.max_upload_bytes == 2 * 1024**3
    assert s.task_lease_seconds == 30
    assert s.task_max_retries == 8
    assert s.outbox_poll_seconds == 0.5
    assert s.task_start_delay == 0.0
    assert s.calendar_file is None
    assert s.presign_seconds == 300
    assert s.log_level == "INFO"
    assert s.extra == REQUIRED


def test_values_given_in_the_environment_override_the_defaults() -> None:
    s = settings(DOSSIER_TOKEN_TTL="60", DOSSIER_S3_SECURE="yes", DOSSIER_REVIEW_PORT="9003",
                 DOSSIER_OUTBOX_POLL_SECONDS="0.1", OTHER_VARIABLE="ignored")

    assert s.token_ttl == 60
    assert s.s3_secure is True
    assert s.port("review") == 9003
    assert s.outbox_poll_seconds == 0.1
    assert "OTHER_VARIABLE" not in s.extra


def test_missing_secrets_are_refused_naming_every_missing_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({})
    for name in REQUIRED:
        assert name in str(refused.value)

    with pytest.raises(ConfigError) as one_missing:
        load_settings({**REQUIRED, "DOSSIER_S3_SECRET_KEY": ""})
    assert "DOSSIER_S3_SECRET_KEY" in str(one_missing.value)
    assert "DOSSIER_SECRET_KEY " not in str(one_missing.value)
    assert "DOSSIER_S3_ACCESS_KEY" not in str(one_missing.value)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2G", 2 * 1024**3),
    ("2g", 2 * 1024**3),
    ("2GiB", 2 * 1024**3),
    ("1M", 1024**2),
    ("10MB", 10 * 1024**2),
    ("512K", 512 * 1024),
    ("1.5G", 3 * 1024**3 // 2),
    ("4096", 4096),
])
def test_sizes_accept_binary_suffixes(raw: str, expected: int) -> None:
    assert settings(DOSSIER_MAX_UPLOAD_BYTES=raw).max_upload_bytes == expected


@pytest.mark.parametrize(("variable", "raw"), [
    ("DOSSIER_TOKEN_TTL", "12h"),
    ("DOSSIER_TASK_LEASE_SECONDS", "half a minute"),
    ("DOSSIER_MAX_UPLOAD_BYTES", "lots"),
    ("DOSSIER_S3_SECURE", "maybe"),
    ("DOSSIER_OUTBOX_POLL_SECONDS", "fast"),
])
def test_a_malformed_value_is_refused_naming_its_variable(variable: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings(**{variable: raw})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"DOSSIER_TOKEN_TTL": "soon", "DOSSIER_INTAKE_PORT": "http"})
    text = str(refused.value)
    for name in [*REQUIRED, "DOSSIER_TOKEN_TTL", "DOSSIER_INTAKE_PORT"]:
        assert name in text


def test_an_empty_value_never_leaves_a_setting_with_a_default_unset() -> None:
    """`FOO=` in a compose file or .env must not slip through as None: either the default
    applies or start-up fails naming the variable (ConfigError promises "never mid-request")."""
    defaults = settings()
    unset: list[str] = []
    for setting in SETTINGS:
        if setting.default is None:
            continue
        try:
            got = getattr(settings(**{setting.env: ""}), setting.attr)
        except ConfigError as refused:
            if setting.env not in str(refused):
                unset.append(f"{setting.env}: refused without being named")
        except Exception as exc:  # e.g. Path(None) blowing up: neither default nor ConfigError
            unset.append(f"{setting.env}: {type(exc).__name__}")
        else:
            if got != getattr(defaults, setting.attr):
                unset.append(f"{setting.env}: {got!r}")
    assert not unset, "an empty value left these settings without their default: " + \
        ", ".join(unset)


def test_each_service_database_defaults_to_a_sqlite_file_in_the_data_folder(
        tmp_path: Path) -> None:
    s = settings(DOSSIER_DATA_DIR=str(tmp_path / "data"),
                 DOSSIER_NOTIFY_DATABASE_URL="postgresql+psycopg://u:p@db/notify")

    for service in ("intake", "documents", "review"):
        url = s.database_url(service)
        assert url == f"sqlite:///{(tmp_path / 'data' / f'{service}.db').resolve()}"
        assert Path(url.removeprefix("sqlite:///")).is_absolute()
    assert s.database_url("notify") == "postgresql+psycopg://u:p@db/notify"


def test_the_readme_carries_the_generated_configuration_table() -> None:
    table = markdown_table()
    assert all(f"`{s.env}`" in table for s in SETTINGS)
    readme = REPO / "README.md"
    assert readme.exists(), "README.md is missing; it must contain `dossier config --markdown`"
    assert table in readme.read_text(encoding="utf-8")


# -- tokens -------------------------------------------------------------------------------------

def _claims(**overrides: object) -> dict[str, object]:
    # Some are built when the tests are collected, maybe many minutes before they run.
    now = int(time.time())
    claims: dict[str, object] = {"iss": "dossier", "sub": "u-1", "role": "admin", "iat": now,
                                 "exp": now + 7 * 86400, "jti": "j-1"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _refused(token: str, secret: str = SECRET, code: str = "auth.token_invalid"
             ) -> DossierError:
    with pytest.raises(DossierError) as refused:
        verify_token(secret, token)
    assert refused.value.code == code
    assert refused.value.status == 401
    # Our own words in both languages, never the JWT library's text.
    assert refused.value.detail is None
    assert refused.value.zh != refused.value.en and code not in refused.value.zh
    return refused.value


def test_an_issued_token_verifies_to_its_subject_role_and_scope() -> None:
    token = issue_token(SECRET, subject="expert-7", role="expert", ttl_seconds=60,
                        scope={"jurisdiction": "北京市", "panels": ["p-1", "p-2"]})

    who = verify_token(SECRET, token)

    assert who.subject == "expert-7"
    assert who.role == "expert"
    assert who.scope == {"jurisdiction": "北京市", "panels": ["p-1", "p-2"]}
    assert who.token_id
    assert who.is_("operator", "expert") and not who.is_("admin")
    other = verify_token(SECRET, issue_token(SECRET, subject="expert-7", role="expert",
                                             ttl_seconds=60))
    assert other.token_id != who.token_id
    assert other.scope == {}


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SECRET, subject="u-1", role="operator", ttl_seconds=60,
                        now=time.time() - 3600)
    refused = _refused(token, code="auth.token_expired")
    assert "过期" in refused.zh and "expired" in refused.en


def test_a_token_signed_with_another_secret_is_refused() -> None:
    _refused(issue_token("some-other-secret-entirely-000000", subject="u-1", role="admin",
                         ttl_seconds=60))


def test_an_unsigned_token_with_algorithm_none_is_refused() -> None:
    _refused(jwt.encode(_claims(), None, algorithm="none"))
    # Hand-made too, in case a library version refuses to produce one.
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    _refused(f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(_claims())}.")


def test_a_token_signed_with_an_algorithm_other_than_hs256_is_refused() -> None:
    _refused(jwt.encode(_claims(), SECRET, algorithm="HS512"))


def test_a_token_whose_claims_were_edited_after_signing_is_refused() -> None:
    header, _payload, signature = issue_token(SECRET, subject="u-1", role="applicant",
                                              ttl_seconds=60).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(_claims(role="admin")).encode())
    _refused(f"{header}.{forged.rstrip(b'=').decode()}.{signature}")


@pytest.mark.parametrize("claims", [
    _claims(role="superuser"),
    _claims(role=None),
    _claims(iss="someone-else"),
    _claims(exp=None),
    _claims(sub=None),
], ids=["unknown-role", "no-role", "foreign-issuer", "no-expiry", "no-subject"])
def test_a_correctly_signed_token_with_bad_claims_is_refused(claims: dict[str, object]) -> None:
    _refused(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_garbage_is_refused_as_an_invalid_token() -> None:
    _refused("not-a-token")


def test_issuing_a_token_for_an_unknown_role_or_no_subject_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        issue_token(SECRET, subject="u-1", role="superuser", ttl_seconds=60)
    with pytest.raises(ValueError, match="subject"):
        issue_token(SECRET, subject="", role=ROLES[0], ttl_seconds=60)


# -- errors -------------------------------------------------------------------------------------

def test_an_error_formats_its_parameters_into_both_languages() -> None:
    err = DossierError("upload.too_large", status=413, zh="文件“{name}”超过 {limit} MB。",
                       en="File '{name}' exceeds {limit} MB.", name="申报书.pdf", limit=50)

    assert err.zh == "文件“申报书.pdf”超过 50 MB。"
    assert err.en == "File '申报书.pdf' exceeds 50 MB."
    assert err.message("zh") == err.zh and err.message("en") == err.en
    assert err.status == 413
    assert err.params == {"name": "申报书.pdf", "limit": 50}
    assert str(err) == "upload.too_large: File '申报书.pdf' exceeds 50 MB."


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_a_known_code_takes_its_status_and_texts_from_messages(code: str) -> None:
    status, zh, en = MESSAGES[code]
    err = DossierError(code, detail="why")

    assert (err.status, err.zh, err.en, err.detail) == (status, zh, en, "why")


def test_an_explicit_status_wins_and_an_unknown_code_falls_back_to_the_class() -> None:
    assert DossierError("auth.forbidden", status=404).status == 404
    unknown = DossierError("thing.odd")
    assert unknown.status == 400
    assert unknown.en == "thing.odd" and unknown.zh == "thing.odd"


def test_error_subclasses_carry_their_own_code_and_status() -> None:
    assert (Conflict().code, Conflict().status) == ("http.conflict", 409)
    assert (Forbidden().code, Forbidden().status) == ("auth.forbidden", 403)
    missing = ObjectNotFound(detail="k")
    assert (missing.code, missing.status) == ("storage.not_found", 404)
    assert missing.zh == "存储中找不到该对象。"


# -- task routing -------------------------------------------------------------------------------

def test_a_task_goes_to_the_queue_of_the_service_that_names_it() -> None:
    assert queue_for("documents.inspect") == "documents"
    assert [queue_for(f"{s}.handle_event") for s in SERVICES] == list(SERVICES)
    assert route_task("notify.send", [], {}, {}) == {"queue": "notify"}


@pytest.mark.parametrize("name", ["billing.charge", "Documents.inspect", "", ".inspect"])
def test_a_task_name_without_a_known_service_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape("<service>.<verb>")):
        queue_for(name)


def test_a_short_signing_key_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings({**REQUIRED, "DOSSIER_SECRET_KEY": "short"})
