"""`dossier run`'s files, checked in-process: a private data folder, Redis's password in a 0600
file and in every process's URL, never on a command line. (The whole run is
tests/e2e/test_embedded_run.py.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import urlparse

from dossier.embedded import load_or_create_secrets, make_private, supervisor_config, with_password


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_open_data_folder_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "intake-web.log").write_text("old\n")
    data.chmod(0o755)
    (data / "logs").chmod(0o775)
    (data / "logs" / "intake-web.log").chmod(0o644)
    make_private(data)
    assert mode(data) == 0o700 and mode(data / "logs") == 0o700
    assert mode(data / "logs" / "intake-web.log") == 0o600
    fresh = tmp_path / "new"
    make_private(fresh)
    assert mode(fresh) == 0o700


def test_generated_secrets_include_redis_password_in_a_file_only_the_owner_reads(
        tmp_path: Path) -> None:
    first = load_or_create_secrets(tmp_path)
    assert mode(tmp_path / "secrets.env") == 0o600
    assert len(first["REDIS_PASSWORD"]) >= 40
    # An older file without the password gains one; the other secrets stay as they were.
    lines = (tmp_path / "secrets.env").read_text().splitlines()
    (tmp_path / "secrets.env").write_text(
        "\n".join(x for x in lines if not x.startswith("REDIS_PASSWORD")) + "\n")
    again = load_or_create_secrets(tmp_path)
    assert again["DOSSIER_SECRET_KEY"] == first["DOSSIER_SECRET_KEY"]
    assert again["REDIS_PASSWORD"] and again["REDIS_PASSWORD"] != first["REDIS_PASSWORD"]
    assert mode(tmp_path / "secrets.env") == 0o600


def test_the_redis_url_gets_the_password_unless_it_names_one() -> None:
    url = with_password("redis://127.0.0.1:6389/2", "p-w_d")
    assert urlparse(url).password == "p-w_d" and urlparse(url).port == 6389
    assert url.endswith("/2")
    assert with_password("redis://:mine@10.0.0.5:6379/0", "other") == \
        "redis://:mine@10.0.0.5:6379/0"


def test_supervisor_starts_everything_private_and_redis_with_its_password_file(
        tmp_path: Path) -> None:
    data = tmp_path / "var"
    make_private(data)
    env = {"DOSSIER_SECRET_KEY": "s" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
           "DOSSIER_S3_SECRET_KEY": "b", "DOSSIER_DATA_DIR": str(data),
           "DOSSIER_REDIS_URL": with_password("redis://127.0.0.1:6390/0", "the-redis-pw")}
    conf = supervisor_config(data, env).read_text()
    assert "umask=077" in conf.split("[unix_http_server]")[0]
    assert "the-redis-pw" not in conf  # not on any program's command line
    redis_conf = data / "run" / "redis.conf"
    assert mode(redis_conf) == 0o600
    assert redis_conf.read_text() == "requirepass the-redis-pw\n"
    redis_line = next(x for x in conf.splitlines() if x.startswith("command=") and
                      "redis" in x and "--appendonly" in x)
    assert str(redis_conf) in redis_line
    if os.geteuid() == 0:  # nginx's workers (group nobody) pass through to their temp folders
        assert mode(data) == 0o710 and mode(data / "run") == 0o710
    else:
        assert mode(data) == 0o700
