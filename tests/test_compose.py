"""docker-compose.yml against the code it runs, checked without Docker.

Every module path, command, setting and port the compose file names must exist in the code, so
renaming a module, a CLI subcommand or a setting breaks this test instead of a deployment.
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

import dossier.cli
from shared.config import DEFAULT_PORTS, SERVICES, SETTINGS, ConfigError, load_settings
from shared.http import PUBLIC_ENDPOINTS
from shared.tasks import queue_for

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
POSTGRES_INIT = ROOT / "deploy" / "postgres-init.sql"
KNOWN_ENV = {s.env for s in SETTINGS}
SECRET_ENV = {s.env for s in SETTINGS if s.secret}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
GUNICORN_TARGET = re.compile(r"services\.(?P<svc>\w+)\.app:create_app\(\)")

# What an operator exports before `docker compose up`; stands in for real secrets.
OPERATOR_ENV = {
    "DOSSIER_SECRET_KEY": "compose-test-secret-" + "x" * 32,
    "DOSSIER_S3_ACCESS_KEY": "compose-test-access",
    "DOSSIER_S3_SECRET_KEY": "compose-test-s3-secret",
    "POSTGRES_PASSWORD": "compose-test-password",
    "REDIS_PASSWORD": "compose-test-redis-password",
}
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# ----------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    assert isinstance(loaded.get("services"), dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def argv(value: str | list[str] | None) -> list[str]:
    """A compose `command` or healthcheck `test` as an argument list."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    args = [str(a) for a in value]
    if args and args[0] in {"CMD", "CMD-SHELL"}:
        return shlex.split(args[1]) if args[0] == "CMD-SHELL" else args[1:]
    return args


def option(args: list[str], name: str) -> str:
    """The value after `name` (`--bind X` or `--bind=X`); fails if absent or repeated."""
    values = [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]
    values += [a.split("=", 1)[1] for a in args if a.startswith(name + "=")]
    assert len(values) == 1, f"expected exactly one {name} in {args}"
    return values[0]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against `variables`."""
    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        value = variables.get(name)
        if value:
            return value
        if op.endswith("-"):
            return arg
        raise AssertionError(f"${{{name}}} is not set and has no default")
    return _VARIABLE.sub(substitute, text.replace("$$", "\0")).replace("\0", "$")


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency name -> condition (the short list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def running(services: dict[str, dict[str, Any]], program: str) -> dict[str, list[str]]:
    """Containers whose command starts with `program`, with their argument lists."""
    found = {}
    for name, service in services.items():
        args = argv(service.get("command"))
        if args and args[0] == program:
            found[name] = args
    return found


def web_containers(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return running(services, "gunicorn")


def worker_containers(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {name: args for name, args in running(services, "celery").items()
            if "worker" in args}


def beat_containers(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {name: args for name, args in running(services, "celery").items() if "beat" in args}


def one_shot(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services others wait on to finish: not long-running."""
    return {dep for s in services.values() for dep, cond in depends_on(s).items()
            if cond == "service_completed_successfully"}


def migrate_container(services: dict[str, dict[str, Any]]) -> str:
    migrators = [name for name, s in services.items()
                 if argv(s.get("command"))[:2] == ["dossier", "migrate"]]
    assert len(migrators) == 1, f"expected one `dossier migrate` container: {migrators}"
    return migrators[0]


def dossier_invocations(services: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    calls = []
    for name, service in services.items():
        for args in (argv(service.get("command")),
                     argv((service.get("healthcheck") or {}).get("test"))):
            if args and args[0] == "dossier":
                calls.append((name, args[1:]))
    return calls


# ------------------------------------------------------------------------------ settings


def test_every_dossier_variable_in_an_environment_is_a_known_setting(services):
    named = {(name, var) for name, s in services.items() for var in environment(s)
             if var.startswith("DOSSIER_")}
    assert named, "no DOSSIER_* variable found at all: is the environment anchor merged?"
    unknown = sorted((name, var) for name, var in named if var not in KNOWN_ENV)
    assert not unknown, f"not in shared.config.SETTINGS: {unknown}"


def test_every_app_container_environment_loads_as_valid_settings(services):
    app_containers = [name for name, s in services.items()
                      if argv(s.get("command"))[:1] in (["gunicorn"], ["celery"], ["dossier"])]
    # web + worker per service, the migration, the proxy's header secret, notify's beat
    assert len(app_containers) == 2 * len(SERVICES) + 3, app_containers
    for name in app_containers:
        env = {k: interpolate(v, OPERATOR_ENV) for k, v in environment(services[name]).items()}
        try:
            settings = load_settings(env)
        except ConfigError as exc:
            pytest.fail(f"{name}: {exc}")
        for svc in SERVICES:
            url = settings.database_url(svc)
            assert url.startswith("postgresql+psycopg://"), f"{name}: {svc} database is {url}"
            assert url.rsplit("/", 1)[1] == svc, f"{name}: {svc} uses database {url}"


def test_secrets_are_interpolated_from_the_operator_environment_not_written_down(services):
    for name, service in services.items():
        for var, value in environment(service).items():
            is_secret = var in SECRET_ENV or re.search(r"PASSWORD|SECRET|ROOT_USER", var)
            if is_secret:
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{name}: {var}={value!r}"
            for match in re.finditer(r"://[^:/@]+:(?P<password>[^@]*)@", value):
                assert match["password"].startswith("${"), f"{name}: password in {var}"


def test_redis_requires_the_password_every_app_container_connects_with(services):
    redis = services["redis"]
    script = argv(redis.get("entrypoint"))
    assert script[:2] == ["sh", "-c"], script
    # requirepass from a file written from the variable, not on a command line `ps` shows
    assert "requirepass %s" in script[2] and '"$$REDIS_PASSWORD"' in script[2], script[2]
    assert "redis-server /data/redis.conf" in script[2] and "umask 077" in script[2]
    assert "--requirepass" not in " ".join(script + argv(redis.get("command")))
    assert environment(redis)["REDIS_PASSWORD"] == "${REDIS_PASSWORD:?set it}"
    # the health check authenticates (REDISCLI_AUTH) and wants PONG, not just any answer
    assert environment(redis)["REDISCLI_AUTH"] == "${REDIS_PASSWORD:?set it}"
    assert "PONG" in " ".join(argv(redis["healthcheck"]["test"]))
    for name, service in services.items():
        url = environment(service).get("DOSSIER_REDIS_URL")
        if url is not None:
            settings = load_settings({**{k: interpolate(v, OPERATOR_ENV)
                                         for k, v in environment(service).items()}})
            assert urlparse(settings.redis_url).password == OPERATOR_ENV["REDIS_PASSWORD"], name


# --------------------------------------------------------------------------- web servers


def test_each_service_has_a_web_container_and_a_worker_container(services):
    web, workers = web_containers(services), worker_containers(services)
    assert set(web) == set(SERVICES)
    assert set(workers) == {f"{svc}-worker" for svc in SERVICES}


def test_one_beat_schedules_notify_reminders(services):
    beats = beat_containers(services)
    assert list(beats) == ["notify-beat"], beats
    args = beats["notify-beat"]
    assert args[args.index("-A") + 1] == "services.notify.worker"
    assert "ports" not in services["notify-beat"]


def test_every_gunicorn_target_is_an_importable_create_app_factory(services):
    for name, args in web_containers(services).items():
        target = args[-1]
        match = GUNICORN_TARGET.fullmatch(target)
        assert match, f"{name}: gunicorn target {target!r} is not services.X.app:create_app()"
        assert match["svc"] == name, f"{name} serves {target}"
        module = importlib.import_module(f"services.{name}.app")
        assert callable(getattr(module, "create_app", None)), f"{module.__name__}.create_app"


def test_gunicorn_binds_each_service_to_its_default_port(services):
    for name, args in web_containers(services).items():
        host, _, port = option(args, "--bind").rpartition(":")
        assert host == "0.0.0.0", f"{name} binds {host}"  # noqa: S104 - inside the container
        assert int(port) == DEFAULT_PORTS[name], f"{name} binds port {port}"
        for published in services[name].get("ports") or []:
            container_port = str(published).rsplit(":", 1)[-1].split("/")[0]
            assert int(container_port) == DEFAULT_PORTS[name], f"{name} publishes {published}"


def test_web_health_checks_request_the_public_healthz_endpoint_on_the_service_port(services):
    assert "healthz" in PUBLIC_ENDPOINTS, "a health check carries no bearer token"
    for name in web_containers(services):
        probe = " ".join(argv(services[name]["healthcheck"]["test"]))
        assert f"http://127.0.0.1:{DEFAULT_PORTS[name]}/healthz" in probe, probe


# ------------------------------------------------------------------------------- workers


def test_every_celery_app_is_a_worker_module_with_a_module_level_celery(services):
    for name, args in worker_containers(services).items():
        module = option(args, "-A")
        assert module == f"services.{name.removesuffix('-worker')}.worker", f"{name}: {module}"
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"{name}: {path} does not exist"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
        assert "celery" in assigned, f"{path} has no module-level `celery`"


def test_every_worker_consumes_the_queue_its_service_routes_tasks_to(services):
    for name, args in worker_containers(services).items():
        svc = name.removesuffix("-worker")
        assert args[args.index(option(args, "-A")) + 1] == "worker", f"{name}: {args}"
        assert option(args, "-Q") == svc == queue_for(f"{svc}.handle_event")
        assert option(args, "-n").startswith(f"{svc}@"), f"{name}: node name"


def test_no_worker_publishes_ports_or_fixes_its_container_name(services):
    for name in worker_containers(services):
        assert "ports" not in services[name], f"{name} publishes ports; it cannot be scaled"
        assert "container_name" not in services[name], f"{name} has a fixed container_name"


def test_worker_health_checks_ask_the_cli_about_their_own_service(services):
    for name in worker_containers(services):
        probe = argv(services[name]["healthcheck"]["test"])
        assert probe == ["dossier", "healthcheck", "worker", name.removesuffix("-worker")]


# ------------------------------------------------------------------------ dossier commands


def test_the_dossier_program_in_the_image_is_the_cli_main():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "dossier"]
    assert script.value == "dossier.cli:main"


def test_every_dossier_command_used_is_a_real_subcommand(services, capsys):
    calls = dossier_invocations(services)
    assert {args[0] for _, args in calls} >= {"migrate", "healthcheck"}
    for name, args in calls:
        for probe in ([args[0], "--help"], [*args, "--help"]):  # the full line must parse too
            with pytest.raises(SystemExit) as exited:
                dossier.cli.main(probe)
            output = capsys.readouterr()
            assert exited.value.code == 0, f"{name}: dossier {' '.join(probe)}: {output.err}"


def test_migrations_run_once_after_postgres_is_healthy(services):
    migrate = migrate_container(services)
    assert migrate in one_shot(services)
    assert services[migrate].get("restart", "no") == "no"
    assert depends_on(services[migrate]).get("postgres") == "service_healthy"


# --------------------------------------------------------------------------- dependencies


def test_every_depends_on_entry_names_a_defined_service_with_a_known_condition(services):
    for name, service in services.items():
        for dep, condition in depends_on(service).items():
            assert dep in services, f"{name} depends on undefined {dep}"
            assert dep != name, f"{name} depends on itself"
            assert condition in CONDITIONS, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health"


def test_app_containers_wait_for_redis_minio_and_completed_migrations(services):
    migrate = migrate_container(services)
    for name in {**web_containers(services), **worker_containers(services)}:
        deps = depends_on(services[name])
        assert deps.get("redis") == "service_healthy", name
        assert deps.get("minio") == "service_healthy", name
        assert deps.get(migrate) == "service_completed_successfully", name


def test_every_long_running_service_has_a_health_check(services):
    long_running = set(services) - one_shot(services)
    assert long_running >= {"minio", "redis", "postgres", *SERVICES}
    for name in long_running:
        check = services[name].get("healthcheck") or {}
        assert not check.get("disable"), f"{name} disables its health check"
        assert argv(check.get("test")), f"{name} has no health check"


def test_every_named_volume_is_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source}"
            else:
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


# ----------------------------------------------------------------------------- databases


def test_postgres_init_script_creates_one_database_per_service(services):
    sql = POSTGRES_INIT.read_text(encoding="utf-8")
    created = re.findall(r"CREATE\s+DATABASE\s+(\w+)", sql, flags=re.IGNORECASE)
    assert sorted(created) == sorted(SERVICES)
    mounts = [str(v) for v in services["postgres"].get("volumes") or []]
    assert any(m.startswith("./deploy/postgres-init.sql:/docker-entrypoint-initdb.d/")
               for m in mounts), mounts


def test_proxy_config_is_the_generated_one() -> None:
    from dossier.proxy import compose_conf

    assert (ROOT / "deploy" / "nginx.conf").read_text() == compose_conf(), \
        "regenerate: python -c 'from dossier.proxy import compose_conf; print(compose_conf())'"
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in compose["services"]["proxy"]["volumes"]


def test_the_proxy_gets_its_header_secret_from_a_completed_one_shot_step(services):
    from dossier.proxy import COMPOSE_SECRET_FILE
    step = services["proxy-secret"]
    assert argv(step["command"])[:2] == ["dossier", "proxy-secret"]
    volume = step["volumes"][0].split(":")[0]
    folder = COMPOSE_SECRET_FILE.rsplit("/", 1)[0]
    assert f"{volume}:{folder}:ro" in services["proxy"]["volumes"]
    assert depends_on(services["proxy"])["proxy-secret"] == "service_completed_successfully"
