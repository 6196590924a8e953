"""The proxy's generated configuration, read as text (running: tests/web/test_proxy.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from dossier.proxy import FORMS, compose_conf, nginx_binary, write_embedded_conf
from shared.config import SERVICES
from shared.web.forwarded import PROXY_HEADER

HEADERS = ("Connection", "Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
           "X-Forwarded-Port", "X-Forwarded-Prefix", PROXY_HEADER)


def locations(conf: str) -> dict[str, str]:
    """Each `location` line's match → its block's text (blocks are not nested here)."""
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^    location ([^{]+?) \{\n(.*?)^    \}", conf, re.M | re.S)}


def test_every_proxied_location_sets_the_whole_forwarded_header_set() -> None:
    proxied = {match: body for match, body in locations(compose_conf()).items()
               if "proxy_pass" in body}
    assert len(proxied) >= len(SERVICES) + len(FORMS) + 2
    for match, body in proxied.items():
        named = re.findall(r"proxy_set_header (\S+) ", body)
        assert sorted(named) == sorted(HEADERS), match
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in body, match
    # Nothing left at the http level for a location to silently drop.
    assert "\n  proxy_set_header" not in compose_conf()


def test_only_upload_routes_stream_their_bodies() -> None:
    conf = compose_conf()
    assert "\n  proxy_request_buffering on;" in conf
    streamed = [m for m, body in locations(conf).items() if "proxy_request_buffering off" in body]
    assert streamed == [r"~ ^/intake(?<dossier_path>/api/applications/[^/]+/documents)$",
                        r"~ ^/intake(?<dossier_path>/api/applications/[^/]+/documents/batch)$",
                        r"~ ^/intake(?<dossier_path>/api/applications/[^/]+/uploads/[^/]+/parts"
                        r"/[0-9]+)$"]


def test_the_objection_forms_bound_is_above_the_forms_own_limit() -> None:
    from services.review.pages_public import OBJECTION_BODY_BYTES

    limit = FORMS["/review/public/objections/new"]
    assert limit is not None and limit.endswith("m")
    assert int(limit[:-1]) * 1024 * 1024 > OBJECTION_BODY_BYTES


def test_the_embedded_configuration_is_valid_and_its_secret_is_owner_only(
        tmp_path: Path) -> None:
    conf = write_embedded_conf(tmp_path, 8000, {svc: "127.0.0.1:1" for svc in SERVICES},
                               secret_key="a key for this test")
    secret = conf.parent / "proxy-secret.conf"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert "a key for this test" not in secret.read_text() + conf.read_text()
    done = subprocess.run([nginx_binary(), "-t", "-c", str(conf), "-p", str(conf.parent),
                           "-e", "stderr"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
