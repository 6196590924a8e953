"""`make run` (`dossier run`): everything healthy fast, and a restart keeps all data; the data
folder is the owner's alone, Redis wants its password, and the first sign-in link is kept
nowhere in it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from award_cycle import ensure_open_cycle
from samples import blank_pdf, sha256
from waiting import poll

from dossier.localstack import free_port_block
from dossier.processes import instance_processes, port_taken
from shared.auth import issue_token

SERVICES = ("intake", "documents", "review", "notify")



def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dossier.cli", "run"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def all_healthy(urls: dict[str, str]) -> bool:
    try:
        return all(requests.get(f"{u}/healthz", timeout=2).status_code == 200
                   for u in urls.values())
    except requests.RequestException:
        return False


def sign_in_link(banner: str) -> str | None:
    """The first sign-in link `dossier run` prints while no operator has a password."""
    found = re.findall(r"http://\S+/intake/set-password\?token=\S+", banner)
    return found[-1] if found else None


def not_private(data: Path) -> list[str]:
    """Files and folders under `data` that group or others may use. As root, nginx's workers
    (group nobody) may pass through the data folder and run/ to reach their temp folders.
    SeaweedFS sets its volume-info files (`*.vif`: volume ids, no data) to 0644 itself, past
    the umask; they sit in its 0700 folder."""
    passable = {data, data / "run"} if os.geteuid() == 0 else set()
    found = []
    for path in [data, *data.rglob("*")]:
        if path.is_symlink() or (path.suffix == ".vif" and path.parent == data / "s3"):
            continue
        mode = path.stat().st_mode & 0o777
        allowed = 0o710 if path in passable else 0o700
        if mode & ~allowed:
            found.append(f"{path} {mode:o}")
    return found


def first_invitation_handled(notify: str, secret_key: str) -> bool:
    me = {"Authorization": "Bearer " + issue_token(secret_key, subject="operator",
                                                   role="operator", ttl_seconds=600)}
    items = requests.get(f"{notify}/api/inbox", headers=me, timeout=5).json()["items"]
    return any(m["title"] == "请设置您的登录密码" for m in items)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C does
    proc.wait(90)


def instance_env(data: Path) -> tuple[dict[str, str], dict[str, str], int]:
    """Environment of an instance on free ports; its services' URLs; its proxy port."""
    web = free_port_block(4)
    s3 = free_port_block(10)
    redis_port = free_port_block(1)
    proxy_port = free_port_block(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
    env.update({
        "DOSSIER_DATA_DIR": str(data),
        "DOSSIER_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "DOSSIER_S3_ENDPOINT": f"127.0.0.1:{s3 + 6}",
        "DOSSIER_PROXY_PORT": str(proxy_port),
        **{f"DOSSIER_{svc.upper()}_PORT": str(web + i) for i, svc in enumerate(SERVICES)},
    })
    urls = {svc: f"http://127.0.0.1:{web + i}" for i, svc in enumerate(SERVICES)}
    return env, urls, proxy_port


def secret_of(data: Path) -> str:
    return dict(line.split("=", 1) for line in (data / "secrets.env").read_text()
                .splitlines() if "=" in line and not line.startswith("#"))["DOSSIER_SECRET_KEY"]


def applicant(data: Path) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(
        secret_of(data), subject="embedded-applicant", role="applicant", ttl_seconds=3600)}


def test_run_is_healthy_within_60s_and_a_restart_keeps_documents_and_messages(
        tmp_path: Path) -> None:
    data = tmp_path / "var"
    env, urls, proxy_port = instance_env(data)
    log = tmp_path / "run.log"
    # A folder left world-readable by an older version: the start closes it.
    (data / "logs").mkdir(parents=True)
    data.chmod(0o755)
    (data / "logs").chmod(0o755)
    (data / "logs" / "old.log").write_text("from before\n")
    (data / "logs" / "old.log").chmod(0o644)

    began = time.monotonic()
    proc = start(env, log)
    try:
        poll(lambda: all_healthy(urls), 60)
        assert time.monotonic() - began < 60
        poll(lambda: all_healthy({"origin": f"http://127.0.0.1:{proxy_port}/intake"}), 30)
        secret = dict(line.split("=", 1) for line in (data / "secrets.env").read_text()
                      .splitlines() if "=" in line and not line.startswith("#"))
        me = {"Authorization": "Bearer " + issue_token(
            secret["DOSSIER_SECRET_KEY"], subject="embedded-applicant", role="applicant",
            ttl_seconds=3600)}
        ensure_open_cycle(urls["intake"], secret["DOSSIER_SECRET_KEY"])
        app = requests.post(f"{urls['intake']}/api/applications", headers=me, json={
            "cycle": "2025", "kind": "organisation", "name": "嵌入式运行测试公司"}).json()
        pdf = blank_pdf(2)
        r = requests.post(f"{urls['intake']}/api/applications/{app['id']}/documents",
                          headers=me, data={"requirement": "business-licence"},
                          files={"file": ("营业执照.pdf", pdf, "application/pdf")})
        assert r.status_code == 201, r.text
        poll(lambda: requests.get(f"{urls['notify']}/api/inbox", headers=me).json()["items"], 60)
        first_link = poll(lambda: sign_in_link(log.read_text()), 60)
        assert first_link.startswith(f"http://127.0.0.1:{proxy_port}/intake/set-password?token=")
        assert not_private(data) == []
        assert (data / "secrets.env").stat().st_mode & 0o777 == 0o600
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(env["DOSSIER_REDIS_URL"], socket_timeout=2).ping()
        assert "REDIS_PASSWORD" in (data / "secrets.env").read_text()
        # Relayed and handled: the first sign-in link went through the outbox, Redis and
        # notify, and none of them, nor any log, holds its token.
        poll(lambda: first_invitation_handled(urls["notify"], secret["DOSSIER_SECRET_KEY"]), 60)
        token = first_link.split("token=", 1)[1]
        assert [p for p in data.rglob("*") if p.is_file() and token.encode() in p.read_bytes()
                ] == []
        page = requests.get(first_link, timeout=10)
        assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
        # A fresh start in order says nothing alarming: an error in a log means a fault.
        alarms = [line for f in [log, *(data / "logs").glob("*.log")]
                  for line in f.read_text(errors="replace").splitlines()
                  if any(w in line for w in (" ERROR ", " CRIT ", "Traceback"))]
        assert alarms == []
    finally:
        stop(proc)
    banner = log.read_text()
    assert "Operator token" in banner
    assert f"Open http://127.0.0.1:{proxy_port}/ in a browser" in banner
    assert not all_healthy(urls)

    proc = start(env, log)
    try:
        poll(lambda: all_healthy(urls), 60)
        detail = requests.get(f"{urls['intake']}/api/applications/{app['id']}", headers=me)
        assert detail.status_code == 200
        [document] = detail.json()["documents"]
        assert document["versions"][0]["sha256"] == sha256(pdf)
        inbox = requests.get(f"{urls['notify']}/api/inbox", headers=me).json()
        assert [m["title"] for m in inbox["items"]] == ["上传的材料已检查完毕"]
        inspection = requests.get(
            f"{urls['documents']}/api/inspections/{document['versions'][0]['id']}", headers=me)
        assert inspection.json()["pages"] == 2
        # Nobody set the operator's password yet: a fresh link, and the old one is void.
        second_link = poll(lambda: sign_in_link(log.read_text().split(first_link, 1)[1]), 60)
        assert second_link != first_link
        assert requests.get(first_link, timeout=10).status_code == 410
        assert requests.get(second_link, timeout=10).status_code == 200
    finally:
        stop(proc)


def test_a_hard_killed_run_leaves_nothing_running_and_a_busy_port_is_named_at_start(
        tmp_path: Path) -> None:
    data = tmp_path / "var"
    env, urls, proxy_port = instance_env(data)
    log = tmp_path / "run.log"
    proc = start(env, log)
    try:
        poll(lambda: all_healthy(urls), 120)
        assert len(instance_processes(data)) >= 10  # servers, web servers, workers, proxy
        me = applicant(data)
        ensure_open_cycle(urls["intake"], secret_of(data))
        app = requests.post(f"{urls['intake']}/api/applications", headers=me, json={
            "cycle": "2025", "kind": "organisation", "name": "断电测试有限公司"}).json()
        pdf = blank_pdf(3)
        r = requests.post(f"{urls['intake']}/api/applications/{app['id']}/documents",
                          headers=me, data={"requirement": "business-licence"},
                          files={"file": ("断电前.pdf", pdf, "application/pdf")})
        assert r.status_code == 201, r.text  # its inspection may be under way at the kill
    finally:
        # What a closed terminal or `kill -9` does: no chance to stop anything in order.
        proc.kill()
        with contextlib.suppress(ProcessLookupError, OSError, ValueError):
            os.kill(int((data / "run" / "supervisord.pid").read_text()), signal.SIGKILL)
        proc.wait(10)
    poll(lambda: not instance_processes(data), 60, 0.5)
    assert not all_healthy(urls)
    assert not port_taken(proxy_port)

    with socket.socket() as squatter:  # something else holds the proxy's port
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", proxy_port))
        squatter.listen()
        again = subprocess.run([sys.executable, "-m", "dossier.cli", "run"], env=env,
                               capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert f"端口 {proxy_port}（proxy） 已被占用" in again.stderr
    assert f"port {proxy_port} (proxy) already in use" in again.stderr
    assert again.stderr.startswith("无法启动")  # before migrations or anything else
    assert "dossier stop" in again.stderr
    assert not instance_processes(data)  # it started nothing

    proc = start(env, log)  # the whole system again, on what the kill left
    try:
        poll(lambda: all_healthy(urls), 120)
        version = r.json()["id"]
        done = poll(lambda: requests.get(f"{urls['documents']}/api/inspections/{version}",
                                         headers=me).status_code == 200, 90)
        assert done
        detail = requests.get(f"{urls['intake']}/api/applications/{app['id']}", headers=me)
        assert detail.json()["documents"][0]["versions"][0]["sha256"] == sha256(pdf)
        titles = poll(lambda: [m["title"] for m in requests.get(
            f"{urls['notify']}/api/inbox", headers=me).json()["items"]], 60)
        assert titles == ["上传的材料已检查完毕"]
    finally:
        stop(proc)


def test_dossier_stop_ends_an_instance_whose_supervisor_is_gone(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    # An orphan of an older start: a server working in the data folder, its parent long gone.
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                              cwd=data, start_new_session=True)
    try:
        assert instance_processes(data) == [orphan.pid]
        env = {**os.environ, "DOSSIER_DATA_DIR": str(data)}
        done = subprocess.run([sys.executable, "-m", "dossier.cli", "stop"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "stopped 1 process" in done.stdout
        assert orphan.wait(10) == -signal.SIGTERM
    finally:
        orphan.kill()
