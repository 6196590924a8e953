"""The one navigation every page shows, per role, as paths on the one origin.

Each path is owned by the service named by its first segment (the reverse proxy routes
`/<service>/…` to it). Labels are msgids in the shared catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

SIGN_IN_PATH = "/intake/sign-in"
HOME_PATH = "/intake/"
INBOX_PATH = "/notify/inbox"


def N_(msgid: str) -> str:
    return msgid


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: frozenset[str]  # "visitor" = not signed in; "*" = every signed-in role


def _r(*roles: str) -> frozenset[str]:
    return frozenset(roles)


EVERYONE = _r("visitor", "applicant", "recommender", "operator", "expert", "supervisor", "admin")
OFFICE = _r("operator", "admin", "supervisor")

NAV: tuple[NavItem, ...] = (
    NavItem("/intake/packets", N_("My applications"), _r("applicant")),
    NavItem("/intake/queue", N_("Recommendation queue"), _r("recommender")),
    NavItem("/intake/office/setup", N_("Cycle set-up"), OFFICE),
    NavItem("/intake/office/applications", N_("Formal review"), OFFICE),
    NavItem("/intake/office/acceptance", N_("Acceptance lists"), OFFICE),
    NavItem("/intake/accounts", N_("Accounts"), _r("operator", "admin")),
    NavItem("/review/experts", N_("Experts and conflicts"), OFFICE),
    NavItem("/review/panels", N_("Assignment and scoring"), OFFICE),
    NavItem("/review/ranking", N_("Ranking and lists"), OFFICE),
    NavItem("/review/outcomes", N_("Decision and certificates"), OFFICE),
    NavItem("/review/objections", N_("Objections"), _r("operator", "admin", "supervisor")),
    NavItem("/review/audit", N_("Audit log"), _r("supervisor", "admin")),
    NavItem("/review/dossiers", N_("My assignments"), _r("expert")),
    NavItem("/review/public/lists", N_("Published lists"), EVERYONE),
    NavItem("/review/public/certificates", N_("Verify a certificate"), EVERYONE),
    NavItem("/review/public/objections/new", N_("File an objection"), _r("visitor")),
)


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str
    current: bool


def nav_for(role: str | None, script_root: str, path: str) -> list[NavLink]:
    """The links one role sees; `current` marks the section the page belongs to."""
    who = role or "visitor"
    here = f"{script_root}{path}"
    return [NavLink(item.path, item.label, here == item.path or here.startswith(item.path + "/"))
            for item in NAV if who in item.roles]
