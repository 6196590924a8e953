"""Each worker anchors its service's audit head in the object store on its own, and
`dossier audit verify` confirms all four chains of the running stack (PostgreSQL)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests
from waiting import poll

from dossier.localstack import AppStack
from shared.audit_anchors import list_anchors
from shared.storage import S3ObjectStore


def test_a_worker_anchors_its_new_audit_head_under_retention_and_the_command_confirms_it(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    subject = f"anchor-{secrets.token_hex(3)}"
    r = http.put(f"{stack.url('notify')}/api/recipients/{subject}/preferences",
                 json={"language": "en"}, headers=auth("operator", "op-anchor"))
    assert r.status_code == 200, r.text
    head = stack.query("notify", "SELECT seq, hash FROM audit_log WHERE target = :t",
                       t=f"recipient:{subject}")[0]
    env = stack.env()
    store = S3ObjectStore(env["DOSSIER_S3_ENDPOINT"], env["DOSSIER_S3_ACCESS_KEY"],
                          env["DOSSIER_S3_SECRET_KEY"], stack.bucket)

    # Nobody asked: the notify worker's timer (DOSSIER_AUDIT_ANCHOR_SECONDS=1 here) writes it.
    anchor = poll(lambda: [a for a in list_anchors(store, "notify") if a.seq >= head.seq],
                  timeout=30)[0]
    if anchor.seq == head.seq:
        assert anchor.hash == head.hash
    # Written, then put under retention a moment later (two requests to the store).
    until = poll(lambda: store.retained_until(anchor.object_key, anchor.version_id), 10, 0.05)
    assert until and until > datetime.now(UTC) + timedelta(days=3000)

    done = subprocess.run([sys.executable, "-m", "dossier.cli", "audit", "verify"],
                          capture_output=True, text=True, env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["intake", "documents", "review", "notify"]
    assert all(": OK, " in line for line in lines)
