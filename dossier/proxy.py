"""The one origin: an nginx configuration routing `/<service>/…` to the four services.

The same function writes the embedded default's file (`make run`, the tests) and the compose
file's (`deploy/nginx.conf`, upstreams by container name), so the two cannot drift apart.

Who the client is: every proxied location sets the whole forwarded header set itself (a
`proxy_set_header` in a location replaces every inherited one, so each location repeats them),
overwriting whatever the client sent, and adds `X-Dossier-Proxy` with a value derived from the
secret key (`shared.web.forwarded`), kept in a separate file that only the proxy reads. The
services believe forwarded headers only when that value is right.

Request bodies: nginx reads a form or JSON body completely before a service sees it, so a client
sending its body slowly holds only an nginx connection, never one of a service's few threads
(24 half-sent sign-in forms used to stall every intake page). The routes that take large files
stream through instead (the service enforces its own limits with a clear 413); they need a
signed-in user and get a tighter per-address connection bound. Slow headers and bodies time
out; each client address holds a bounded number of connections. The access log records the path
without its query string: no link secret may land in a log.

Responses are buffered in memory only (no temporary files): a page of a few hundred kilobytes is
taken from the service in one go, freeing its worker at once, while a dossier ZIP larger than
the buffers passes through as it is produced.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from shared.config import SERVICES
from shared.web.forwarded import PROXY_HEADER, proxy_secret

TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if not found:
        raise FileNotFoundError("nginx is not installed (make install runs tools/system-deps.sh)")
    return found


# Routes taking files, streamed to the service: `<service>` → path patterns after the prefix.
# Intake's API upload, its batch upload and the parts of a resumable upload (all need a
# signed-in user).
STREAMED = {"intake": (r"/api/applications/[^/]+/documents",
                       r"/api/applications/[^/]+/documents/batch",
                       r"/api/applications/[^/]+/uploads/[^/]+/parts/[0-9]+")}
# Every other body is read whole by nginx first, up to this (the services' own limits are
# smaller: DOSSIER_MAX_JSON_BYTES, 1 MiB by default).
BODY_LIMIT = "8m"
# Connections one client address may hold; an office behind one NAT address shares it, so it is
# generous: its job is to bound what one source can tie up, not to pace users.
CONNECTIONS_PER_ADDRESS = 64
# Streamed uploads hold a service thread while the body arrives: a browser's own
# connection limit per host is 6.
UPLOADS_PER_ADDRESS = 6
# Form posts that cost a password hash or open a throttle count (sign-in, registration, a public
# objection), per address: a burst that a person never reaches, then 5 a second.
FORM_POSTS = "rate=5r/s"
FORM_BURST = 50
SECRET_VARIABLE = "$dossier_proxy_secret"  # noqa: S105  (an nginx variable's name)


# Exact paths whose POSTs are paced, with a body limit of their own (None: BODY_LIMIT). The
# public objection form takes evidence files: a bound above the form's own (5 × 10 MiB + 1 MiB,
# OBJECTION_BODY_BYTES in services/review/pages_public.py; a test keeps it above), so review
# answers with its own message. Not imported: `make run` writes this file before anything
# starts, and importing review's pages costs seconds there.
FORMS: dict[str, str | None] = {"/intake/sign-in": None, "/intake/register": None,
                                "/intake/forgot-password": None,
                                "/review/public/objections/new": "64m"}


def _forwarding(prefix: str) -> list[str]:
    """The whole header set for one proxied location (nothing is inherited once a location sets
    one header). Overwritten, not appended: a client cannot plant an address or a prefix."""
    return [
        "proxy_set_header Connection \"\";",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $host;",
        "proxy_set_header X-Forwarded-Port $server_port;",
        f"proxy_set_header X-Forwarded-Prefix {prefix};",
        f"proxy_set_header {PROXY_HEADER} {SECRET_VARIABLE};",
    ]


def _location(match: str, target: str, prefix: str, *, extra: list[str] | None = None
              ) -> list[str]:
    return [f"    location {match} {{", f"      proxy_pass {target};",
            *(f"      {line}" for line in extra or []),
            *(f"      {line}" for line in _forwarding(prefix)), "    }"]


def secret_include(secret_key: str) -> str:
    """The file holding the proxy's header value (kept out of the main configuration)."""
    return f'map $host {SECRET_VARIABLE} {{ default "{proxy_secret(secret_key)}"; }}\n'


def nginx_conf(listen: str, upstreams: Mapping[str, str], *, run_dir: str,
               log_dir: str | None, secret_file: str, user: str | None = None,
               workers: str = "auto", extra: Mapping[str, str] | None = None) -> str:
    """`listen` is `host:port` (or a port); `upstreams` maps each service to `host:port`.
    With `log_dir` None, logs go to the container's stdout/stderr. `secret_file` is the path of
    `secret_include`'s text. `extra` adds routes `/<name>/` → `host:port` beside the services'
    (the pages benchmark's bare app)."""
    extra = dict(extra or {})
    error_log = f"{log_dir}/proxy-error.log" if log_dir else "/dev/stderr"
    access_log = f"{log_dir}/proxy-access.log" if log_dir else "/dev/stdout"
    lines = [
        "# Generated by dossier/proxy.py; edit that file, not this one.",
        *([f"user {user};"] if user else []),
        f"worker_processes {workers};",
        f"pid {run_dir}/nginx.pid;",
        f"error_log {error_log} warn;",
        "events { worker_connections 1024; }",
        "http {",
        # The path without its query string ($uri, not $request) and no referrer: links may
        # carry secrets there.
        "  log_format dossier '$remote_addr [$time_local] \"$request_method $uri "
        "$server_protocol\" $status $body_bytes_sent $request_time \"$http_user_agent\"';",
        f"  access_log {access_log} dossier;",
        *(f"  {d}_temp_path {run_dir}/nginx-{d};" for d in TEMP_DIRS),
        f"  include {secret_file};",
        "  server_tokens off;",
        f"  client_max_body_size {BODY_LIMIT};",
        "  client_body_buffer_size 1m;",
        "  proxy_request_buffering on;",
        "  client_header_timeout 10s;",
        "  client_body_timeout 20s;",
        "  send_timeout 60s;",
        "  keepalive_timeout 30s;",
        "  reset_timedout_connection on;",
        "  limit_conn_zone $binary_remote_addr zone=per_address:10m;",
        "  limit_conn_zone $binary_remote_addr zone=uploads:10m;",
        "  limit_conn_status 429;",
        f"  limit_conn per_address {CONNECTIONS_PER_ADDRESS};",
        # Only POSTs are counted: an empty key is not limited.
        "  map $request_method $dossier_form_post { POST $binary_remote_addr; default \"\"; }",
        f"  limit_req_zone $dossier_form_post zone=form_posts:10m {FORM_POSTS};",
        "  limit_req_status 429;",
        "  proxy_buffering on;",
        "  proxy_buffer_size 16k;",
        "  proxy_buffers 32 16k;",
        "  proxy_busy_buffers_size 64k;",
        "  proxy_max_temp_file_size 0;",
        "  proxy_http_version 1.1;",
        "  proxy_read_timeout 600s;",
        "  proxy_send_timeout 600s;",
    ]
    routes = {**{svc: upstreams[svc] for svc in SERVICES}, **extra}
    for name, address in routes.items():
        # nginx must drop an idle upstream connection before the service does (gunicorn keeps
        # one 75 s, `KEEP_ALIVE`): reusing one the service is closing resets a streamed upload
        # part, which nginx cannot resend.
        lines += [f"  upstream {name} {{ server {address}; keepalive 32; "
                  "keepalive_timeout 60s; }"]
    lines += [
        "  server {",
        f"    listen {listen};",
        "    location = / { return 302 /intake/; }",
        # Browsers ask for it on every page; no content rather than an error in the console.
        "    location = /favicon.ico { access_log off; return 204; }",
    ]
    for svc in routes:
        prefix = f"/{svc}"
        lines += [f"    location = {prefix} {{ return 301 {prefix}/; }}",
                  *_location(f"{prefix}/", f"http://{svc}/", prefix)]
        for path, limit in FORMS.items():
            if path.startswith(f"{prefix}/"):
                lines += _location(f"= {path}", f"http://{svc}{path.removeprefix(prefix)}",
                                   prefix, extra=[
                                       f"limit_req zone=form_posts burst={FORM_BURST} nodelay;",
                                       *([f"client_max_body_size {limit};"] if limit else [])])
        for pattern in STREAMED.get(svc, ()):
            lines += _location(f"~ ^{prefix}(?<dossier_path>{pattern})$",
                               f"http://{svc}$dossier_path$is_args$args", prefix, extra=[
                                   "proxy_request_buffering off;", "client_max_body_size 0;",
                                   # Both named: a level that names one limit_conn inherits none.
                                   f"limit_conn per_address {CONNECTIONS_PER_ADDRESS};",
                                   f"limit_conn uploads {UPLOADS_PER_ADDRESS};"])
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def write_embedded_conf(data_dir: Path, port: int, upstreams: Mapping[str, str],
                        host: str = "127.0.0.1", extra: Mapping[str, str] | None = None, *,
                        secret_key: str) -> Path:
    """The proxy's file under the data folder, with temp folders its workers can write, and
    the header secret beside it, readable by its owner only."""
    run = data_dir / "run"
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    user = None
    for d in TEMP_DIRS:
        (run / f"nginx-{d}").mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # nginx's workers drop to nobody when started as root; let them use their folders.
        import grp
        import pwd
        nobody = pwd.getpwnam("nobody")
        user = f"nobody {grp.getgrgid(nobody.pw_gid).gr_name}"
        for d in TEMP_DIRS:
            os.chown(run / f"nginx-{d}", nobody.pw_uid, nobody.pw_gid)
    secret = write_secret_include(run / "proxy-secret.conf", secret_key)
    path = run / "nginx.conf"
    path.write_text(nginx_conf(f"{host}:{port}", upstreams, run_dir=str(run),
                               log_dir=str(logs), secret_file=str(secret), user=user,
                               workers="2", extra=extra))
    return path


def write_secret_include(path: Path, secret_key: str) -> Path:
    """`secret_include`'s text at `path`, created owner-only (nginx's master reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret_include(secret_key))
    os.chmod(path, 0o600)
    return path


def nginx_argv(conf: Path) -> list[str]:
    return [nginx_binary(), "-c", str(conf), "-p", str(conf.parent), "-e", "stderr",
            "-g", "daemon off;"]


# Where the compose file's one-shot `dossier proxy-secret` leaves the header secret for nginx.
COMPOSE_SECRET_FILE = "/etc/nginx/dossier/proxy-secret.conf"  # noqa: S105  (a path)


def compose_conf() -> str:
    """`deploy/nginx.conf`: the same routing, upstreams by compose service name."""
    from shared.config import DEFAULT_PORTS
    return nginx_conf("8000", {svc: f"{svc}:{DEFAULT_PORTS[svc]}" for svc in SERVICES},
                      run_dir="/var/cache/nginx", log_dir=None, secret_file=COMPOSE_SECRET_FILE,
                      workers="auto")
