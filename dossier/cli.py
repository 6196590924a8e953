"""`dossier`: the operator's command line.

    dossier token --role operator --subject op1     print a bearer token for scripting
    dossier invite --role R --subject S --name N [--unit U] [--email E]
                                                    a staff account's one-time set-password link
    dossier migrate [SERVICE ...]                   bring databases to the newest schema
    dossier run                                     the whole system on this machine (make run)
    dossier stop                                    stop what `dossier run` started (orphans too)
    dossier config [--markdown]                     every setting with its value or default
    dossier openapi SERVICE                         a service's OpenAPI document
    dossier healthcheck worker SERVICE              exit 0 if that worker's heartbeat is fresh
    dossier audit verify [--service S]              check each audit chain against its anchors
    dossier audit anchor [--service S]              anchor each audit chain's head now
    dossier proxy-secret PATH                       write the proxy's header secret for nginx
    dossier revision SERVICE -m MESSAGE             autogenerate a migration (developers)
    dossier inspect [--json] PATH...                inspect local PDF/DOCX files (sandboxed)
    dossier assign --experts E.csv --applications A.csv --out OUT.csv ...
                                                    optimal expert assignment from CSV files
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared.config import SERVICES, SETTINGS, load_settings, markdown_table

if TYPE_CHECKING:
    from shared.service import ServiceContext


def _token(args: argparse.Namespace) -> int:
    from shared.auth import issue_token

    settings = load_settings()
    scope = dict(item.split("=", 1) for item in args.scope or [])
    print(issue_token(settings.secret_key, subject=args.subject, role=args.role,
                      ttl_seconds=args.ttl or settings.token_ttl, scope=scope))
    return 0


def _invite(args: argparse.Namespace) -> int:
    from services.intake.invitations import invite
    from shared.errors import DossierError

    try:
        link = invite(load_settings(), role=args.role, subject=args.subject, name=args.name,
                      unit=args.unit, email=args.email)
    except DossierError as exc:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
        print(f"dossier invite: {exc.en}{' ' + problems if problems else ''}", file=sys.stderr)
        return 1
    print(link)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from shared.migrations import upgrade

    settings = load_settings()
    for service in args.services or SERVICES:
        upgrade(service, settings)
        print(f"{service}: schema up to date")
    return 0


def _revision(args: argparse.Namespace) -> int:
    from alembic import command

    from shared.migrations import alembic_config, upgrade

    settings = load_settings()
    upgrade(args.service, settings)
    command.revision(alembic_config(args.service, settings.database_url(args.service)),
                     message=args.message, autogenerate=True)
    return 0


def _config(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table())
        return 0
    import os
    for s in SETTINGS:
        value = os.environ.get(s.env, s.default)
        shown = "(set)" if s.secret and value else value
        if shown:  # Redis and database URLs carry passwords
            shown = re.sub(r"(://[^:/@]*:)[^@/]+@", r"\1***@", shown)
        print(f"{s.env}={shown if shown is not None else ''}")
    return 0


def _proxy_secret(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dossier.proxy import write_secret_include
    write_secret_include(Path(args.path), load_settings().secret_key)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    import os
    from importlib import import_module

    # The document does not depend on secrets; fill them so it can be printed anywhere.
    for name in ("DOSSIER_SECRET_KEY", "DOSSIER_S3_ACCESS_KEY", "DOSSIER_S3_SECRET_KEY"):
        os.environ.setdefault(name, "unused-" + "x" * 32)
    app = import_module(f"services.{args.service}.app").create_app()
    spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    print(json.dumps(spec, ensure_ascii=False, indent=2))
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    from shared.tasks import heartbeat_path

    path = heartbeat_path(args.service)
    fresh = path.exists() and time.time() - path.stat().st_mtime < args.max_age
    return 0 if fresh else 1


def _service_context(service: str) -> ServiceContext:
    from importlib import import_module

    from shared.service import ServiceContext

    metadata = import_module(f"services.{service}.models").metadata
    return ServiceContext.create(service, metadata, load_settings())


def _audit(args: argparse.Namespace) -> int:
    from shared.audit_anchors import check_chain, write_anchor

    failed = False
    for service in [args.service] if args.service else SERVICES:
        ctx = _service_context(service)
        if args.action == "anchor":
            anchor = write_anchor(ctx.db, ctx.audit, ctx.store, service,
                                  ctx.settings.audit_anchor_retention_days)
            print(f"{service}: " + (f"anchored at record {anchor.seq}" if anchor
                                    else "no records to anchor"))
            continue
        check = check_chain(ctx.db, ctx.audit, ctx.store, service)
        if check.ok:
            tail = (f"agrees with {check.anchors} anchor(s), the latest at record "
                    f"{check.anchor.seq}" if check.anchor else "no anchor written yet")
            print(f"{service}: OK, {check.records} record(s); {tail}")
        else:
            failed = True
            where = f" at record {check.first_bad_seq}" if check.first_bad_seq else ""
            print(f"{service}: BROKEN{where}: {check.reason}")
    return 1 if failed else 0


def _assign(args: argparse.Namespace) -> int:
    from pathlib import Path

    from services.review.batch import BatchError, assign_files, write_pairs

    try:
        result = assign_files(Path(args.experts), Path(args.applications),
                              Path(args.conflicts) if args.conflicts else None,
                              Path(args.affinity) if args.affinity else None,
                              args.per_application, args.max_load, args.require_field_match,
                              args.explain)
    except BatchError as exc:
        print(f"dossier assign: {exc}", file=sys.stderr)
        return 1
    write_pairs(Path(args.out), result)
    total = int(result.objective) if result.objective == int(result.objective) else \
        round(result.objective, 3)
    gap = (result.bound - result.objective) / max(abs(result.bound), 1)
    proof = "optimal" if gap == 0 else f"upper bound {result.bound:g}, gap {gap:.2e}"
    print(f"{len(result.pairs)} pairs, total affinity {total} ({proof}), "
          f"{result.detected_conflicts} same-organisation conflict(s) detected", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from dossier.embedded import run

    return run(no_wait=args.check)


def _stop(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from dossier.processes import stop_instance

    data_dir = Path(os.environ.get("DOSSIER_DATA_DIR", "./var")).resolve()
    found = stop_instance(data_dir)
    print(f"dossier stop: {data_dir}: " + (f"stopped {found} process(es)" if found
                                             else "nothing was running"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["inspect"]:
        # Its own parser (services/documents/inspect_cli.py): it needs no secrets or servers.
        from services.documents.inspect_cli import main as inspect_main
        return inspect_main(args_in[1:])
    parser = argparse.ArgumentParser(prog="dossier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("token", help="print a signed bearer token")
    p.add_argument("--role", required=True,
                   choices=["applicant", "recommender", "operator", "expert", "supervisor",
                            "admin"])
    p.add_argument("--subject", required=True)
    p.add_argument("--ttl", type=int, help="seconds (default DOSSIER_TOKEN_TTL)")
    p.add_argument("--scope", action="append", metavar="KEY=VALUE",
                   help="role-specific claim, e.g. jurisdiction=140902")
    p.set_defaults(fn=_token)

    p = sub.add_parser("invite", help="create a staff account (if new) and print its one-time "
                       "set-password link")
    p.add_argument("--role", required=True,
                   choices=["recommender", "expert", "operator", "supervisor"])
    p.add_argument("--subject", required=True, help="the login name, e.g. zhang.wei")
    p.add_argument("--name", required=True)
    p.add_argument("--unit", help="a recommender's unit code, e.g. 140902")
    p.add_argument("--email", help="where notify sends the link too")
    p.set_defaults(fn=_invite)

    p = sub.add_parser("migrate", help="upgrade service databases to the newest schema")
    p.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    p.set_defaults(fn=_migrate)

    p = sub.add_parser("revision", help="autogenerate a migration for one service")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("-m", "--message", required=True)
    p.set_defaults(fn=_revision)

    p = sub.add_parser("config", help="show settings")
    p.add_argument("--markdown", action="store_true", help="the README table")
    p.set_defaults(fn=_config)

    p = sub.add_parser("openapi", help="print a service's OpenAPI document")
    p.add_argument("service", choices=SERVICES)
    p.set_defaults(fn=_openapi)

    p = sub.add_parser("healthcheck", help="liveness of a worker (container health checks)")
    p.add_argument("kind", choices=["worker"])
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--max-age", type=float, default=60.0)
    p.set_defaults(fn=_healthcheck)

    p = sub.add_parser("audit", help="check the audit chains, or anchor their heads now")
    p.add_argument("action", choices=["verify", "anchor"])
    p.add_argument("--service", choices=SERVICES, help="one service (default: all four)")
    p.set_defaults(fn=_audit)

    p = sub.add_parser("proxy-secret", help="write the nginx include with the header value the "
                       "services require of forwarded requests (compose's proxy-secret step)")
    p.add_argument("path")
    p.set_defaults(fn=_proxy_secret)

    sub.add_parser("inspect", help="inspect local PDF/DOCX files: dossier inspect --help")

    p = sub.add_parser("assign", help="optimal expert assignment from CSV files")
    p.add_argument("--experts", required=True, help="id,name,organisation,fields (;-separated)")
    p.add_argument("--applications", required=True, help="id,applicant,organisation,field")
    p.add_argument("--conflicts", help="expert_id,application_id,reason (declared conflicts)")
    p.add_argument("--affinity", help="expert_id,application_id,score (unlisted pairs: 0)")
    p.add_argument("--per-application", type=int, required=True, help="experts per application")
    p.add_argument("--max-load", type=int, required=True, help="applications per expert")
    p.add_argument("--require-field-match", action="store_true",
                   help="only experts whose fields include the application's field")
    p.add_argument("--explain", action="store_true",
                   help="add each pair's affinity, eligible experts and how many rank higher")
    p.add_argument("--out", required=True, help="application_id,expert_id")
    p.set_defaults(fn=_assign)

    p = sub.add_parser("run", help="run the whole system on this machine")
    p.add_argument("--check", action="store_true",
                   help="start, wait until every service is healthy, print, then stop")
    p.set_defaults(fn=_run)

    p = sub.add_parser("stop", help="stop every process of the instance in DOSSIER_DATA_DIR")
    p.set_defaults(fn=_stop)

    args = parser.parse_args(args_in)
    try:
        return int(args.fn(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from shared.config import ConfigError
        if isinstance(exc, ConfigError):
            print(f"dossier: configuration error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
