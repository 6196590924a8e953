"""Pages for visitors without an account: published lists, objections, certificate checks.

They show what a public notice shows and nothing more: names, kinds, tiers and windows, never
scores, amounts or documents. They also work for signed-in users (the same page, the same
rules); an objection filed while signed in seals the account's subject with the identity.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Response, redirect, request, send_from_directory, url_for
from sqlalchemy import func, select

from services.review import objections, outcomes
from services.review.models import (
    Application,
    Award,
    Cycle,
    Objection,
    PublicList,
    Revocation,
)
from services.review.programme import Programme
from shared import clock
from shared.errors import DossierError, NotFound
from shared.http import service_context
from shared.web.blueprint import PageBlueprint, public
from shared.web.browser import optional_principal
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import field_errors, problem_text, render
from shared.web.state import sessions

blp = PageBlueprint("review_public_pages", __name__)
STATIC = Path(__file__).parent / "web" / "static"
PER_PAGE = 20
KINDS = {"acceptance": N_("Acceptance list"), "recommendation": N_("Award recommendation list"),
         "final": N_("Final list")}
TIERS = {"award": N_("Award"), "nomination": N_("Nomination")}
# Objections per address and hour: enough for a person, too few for a flood.
OBJECTIONS_PER_HOUR = 10
# Receipt-code look-ups per address and hour: a person checks a few times; 55 random bits
# cannot be walked at this rate.
FOLLOW_UPS_PER_HOUR = 60
FOLLOW_STATUS = {"received": N_("Received, not yet examined"),
                 "investigating": N_("Under investigation"), "answered": N_("Answered")}
OUTCOMES = {"upheld": N_("The objection was found justified."),
            "dismissed": N_("The objection was not found justified.")}
# The evidence files may make an objection larger than the service's JSON limit.
OBJECTION_BODY_BYTES = objections.MAX_FILES * objections.MAX_FILE_BYTES + 1024 * 1024


def _local(text: Any) -> str:
    if not isinstance(text, dict):
        return str(text or "")
    key = "en" if language() == "en" else "zh"
    return str(text.get(key) or text.get("zh") or text.get("en") or "")


@blp.app_template_global("review_list_kind")
def list_kind(kind: str) -> str:
    return _(KINDS[kind]) if kind in KINDS else kind


@blp.app_template_global("review_tier")
def tier_label(tier: str | None) -> str:
    return _(TIERS[tier]) if tier in TIERS else ""


@blp.get("/public/static/<path:filename>")
@public
def static_file(filename: str) -> Response:
    """Review's own stylesheet and page scripts (the layout's are in the shared folder)."""
    return send_from_directory(STATIC, filename, max_age=300)


# -- published lists --------------------------------------------------------------------------

def _window(plist: PublicList, today: date) -> str:
    if today < plist.starts_on:
        return "upcoming"
    return "open" if today <= plist.ends_on else "closed"


def _public_entries(plist: PublicList) -> list[dict[str, Any]]:
    # What a public notice shows: who and which tier; never scores, amounts or documents.
    return [{"application_id": e.get("application_id"), "name": e.get("applicant_name"),
             "kind": e.get("kind"), "tier": e.get("tier")} for e in plist.entries or []]


@blp.get("/public/lists")
@public
def lists() -> Any:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    today = clock.today()
    programme = Programme(service_context().settings.review_data_dir)
    with service_context().db.reader() as session:
        total = int(session.scalar(select(func.count()).select_from(PublicList)) or 0)
        rows = list(session.scalars(select(PublicList).order_by(
            PublicList.starts_on.desc(), PublicList.published_at.desc())
            .limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
        titles = {c.id: c.title for c in session.scalars(select(Cycle).where(
            Cycle.id.in_({r.cycle for r in rows})))}
        items = [{"id": r.id, "kind": r.kind, "cycle": titles.get(r.cycle, r.cycle),
                  "starts_on": r.starts_on, "ends_on": r.ends_on,
                  "window": _window(r, today), "entries": _public_entries(r),
                  "notice": _notice(r.notice or outcomes.notice_for(programme, r.cycle)),
                  "deviations": list(r.deviations or []),
                  "deviation_reason": r.deviation_reason} for r in rows]
    return render("review/public/lists.html", items=items, page=page,
                  more=page * PER_PAGE < total, deviations=DEVIATIONS)


DEVIATIONS = {outcomes.START_IN_PAST: N_("The publicity began before this list was published "
                                         "here."),
              outcomes.ACCEPTANCE_RUNNING: N_("This publicity began before the acceptance "
                                              "list's publicity ended.")}


def _notice(notice: dict[str, Any]) -> dict[str, str]:
    """The notice's texts in the page's language (empty where the office gave none)."""
    return {k: _local(notice.get(k)) for k in ("issuer", "receiver", "address", "phone")}


# -- objections -------------------------------------------------------------------------------

@blp.url_value_preprocessor
def _allow_evidence(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before the CSRF check reads the form: evidence files may exceed the JSON limit.
    if endpoint == "review_public_pages.new_objection" and request.method == "POST":
        request.max_content_length = OBJECTION_BODY_BYTES


def _open_lists(session: Any) -> list[dict[str, Any]]:
    today = clock.today()
    rows = session.scalars(select(PublicList).where(
        PublicList.starts_on <= today, PublicList.ends_on >= today)
        .order_by(PublicList.starts_on.desc()))
    titles = {c.id: c.title for c in session.scalars(select(Cycle))}
    return [{"id": r.id, "kind": r.kind, "cycle": titles.get(r.cycle, r.cycle),
             "ends_on": r.ends_on, "entries": _public_entries(r)} for r in rows]


def _throttled(kind: str = "objection-throttle", limit: int = OBJECTIONS_PER_HOUR) -> bool:
    """Counts this address's requests of one kind in the current hour (Redis, shared by every
    worker)."""
    key = f"review:{kind}:{request.remote_addr or 'unknown'}"
    client = sessions().redis
    count = int(client.incr(key))
    if count == 1:
        client.expire(key, 3600)
    return count > limit


@blp.route("/public/objections/new", methods=["GET", "POST"])
@public
def new_objection() -> Any:
    ctx = service_context()
    form = {"list_id": request.form.get("list_id") or request.args.get("list", ""),
            "application_id": request.form.get("application_id", ""),
            "identity": request.form.get("identity", "anonymous"),
            "reporter_name": (request.form.get("reporter_name") or "").strip(),
            "reporter_contact": (request.form.get("reporter_contact") or "").strip(),
            "text": (request.form.get("text") or "").strip()}
    with ctx.db.reader() as session:
        open_lists = _open_lists(session)
    if not form["list_id"] and open_lists:
        form["list_id"] = open_lists[0]["id"]

    def again(status: int, problem: str, errors: dict[str, str]) -> Any:
        return render("review/public/objection.html", status, lists=open_lists, form=form,
                      problem=problem, errors=errors, limits=objections)

    if request.method == "GET":
        return again(200, "", {})
    if _throttled():
        raise DossierError("objection.throttled", status=429,
                           zh="提交过于频繁，请一小时后再试。",
                           en="Too many objections from this address; try again in an "
                              "hour.")
    errors: dict[str, str] = {}
    if len(form["text"]) < 5:
        errors["text"] = _("Describe the objection in at least 5 characters.")
    if form["identity"] not in ("anonymous", "real-name"):
        errors["identity"] = _("Choose real name or anonymous.")
    anonymous = form["identity"] != "real-name"
    if not anonymous:
        if not form["reporter_name"]:
            errors["reporter_name"] = _("Enter your name.")
        if not form["reporter_contact"]:
            errors["reporter_contact"] = _("Enter a phone number or an e-mail address.")
    files = []
    for upload in request.files.getlist("evidence_files"):
        if not upload or not upload.filename:
            continue  # the browser sends an empty part when no file was chosen
        data = upload.stream.read(objections.MAX_FILE_BYTES + 1)
        files.append(objections.EvidenceFile(upload.filename, data))
    if errors:
        return again(422, _("Correct the fields marked below."), errors)
    who = optional_principal()
    body: dict[str, Any] = {"application_id": form["application_id"] or None,
                            "anonymous": anonymous,
            "reporter_name": None if anonymous else form["reporter_name"][:100],
            "reporter_contact": None if anonymous else form["reporter_contact"][:200],
            "text": form["text"][:10000], "evidence": []}
    try:
        objection = objections.file_objection(
            ctx.db, ctx.outbox, ctx.audit, ctx.store, ctx.settings.field_key(),
            form["list_id"], body, subject=who.subject if who else None,
            role=who.role if who else "visitor", files=files)
    except NotFound:
        return again(422, _("Choose a list that is under publicity."),
                     {"list_id": _("Choose a list that is under publicity.")})
    except DossierError as exc:
        found = field_errors(exc)
        if exc.code == "objection.not_listed":
            found["application_id"] = problem_text(exc)
        if exc.code == "objection.outside_window":
            found["list_id"] = problem_text(exc)
        return again(exc.status, problem_text(exc), found)
    return redirect(url_for(".objection_received",
                            code=objections.display_code(objection.receipt_code or "")),
                    code=303)


@blp.get("/public/objections/received/<code>")
@public
def objection_received(code: str) -> Any:
    """The reporter's receipt: the receipt code and when it arrived, nothing else."""
    found = objections.normalise_code(code)
    with service_context().db.reader() as session:
        objection = session.scalars(select(Objection).where(
            Objection.receipt_code == found)).first() if found else None
        if objection is None:
            raise NotFound()
        plist = session.get(PublicList, objection.list_id)
        return render("review/public/received.html",
                      code=objections.display_code(objection.receipt_code or ""),
                      received_at=objection.received_at,
                      list_kind=plist.kind if plist else "", files=len(
                          objection.evidence_files or []))


@blp.get("/public/objections/follow")
@public
def follow_objection() -> Any:
    """Anyone holding a receipt code reads the objection's status and the published answer;
    never its text, evidence or reporter."""
    raw = (request.args.get("code") or "").strip()
    if not raw:
        return render("review/public/follow.html", code="", found=None, errors={},
                      problem="", statuses=FOLLOW_STATUS, outcomes=OUTCOMES)
    if _throttled("follow-throttle", FOLLOW_UPS_PER_HOUR):
        raise DossierError("objection.follow_throttled", status=429,
                           zh="查询过于频繁，请一小时后再试。",
                           en="Too many look-ups from this address; try again in an hour.")
    try:
        with service_context().db.reader() as session:
            found = objections.follow(session, raw)
    except NotFound:
        return render("review/public/follow.html", 404, code=raw, found=None,
                      errors={"code": _("No objection has this receipt code.")},
                      problem=_("No objection has this receipt code."),
                      statuses=FOLLOW_STATUS, outcomes=OUTCOMES)
    except DossierError as exc:
        return render("review/public/follow.html", exc.status, code=raw, found=None,
                      errors=field_errors(exc), problem=problem_text(exc),
                      statuses=FOLLOW_STATUS, outcomes=OUTCOMES)
    return render("review/public/follow.html", code=objections.display_code(found.receipt_code),
                  found=found, errors={}, problem="", statuses=FOLLOW_STATUS,
                  outcomes=OUTCOMES)


# -- certificate verification (Art. 29) -------------------------------------------------------

@blp.get("/public/certificates")
@public
def certificate_check() -> Any:
    serial = (request.args.get("serial") or "").strip()
    if serial:
        return redirect(url_for(".certificate", serial=serial), code=303)
    return render("review/public/certificates.html", serial="")


@blp.get("/public/certificates/<serial>")
@public
def certificate(serial: str) -> Any:
    """What the QR code on a certificate opens: holder, award, cycle, date, revocation."""
    with service_context().db.reader() as session:
        award = session.scalars(select(Award).where(Award.serial == serial.strip())).first()
        if award is None:
            return render("review/public/certificates.html", 404, serial=serial,
                          not_found=True)
        app = session.get(Application, award.application_id)
        cycle = session.get(Cycle, award.cycle)
        revocation = session.scalars(select(Revocation).where(
            Revocation.award_id == award.id)).first()
        rules = Programme(service_context().settings.review_data_dir).awards(award.cycle)
        titles = rules.get("titles", {})
        grounds = rules.get("revocation_grounds", {})
        facts = {"serial": award.serial, "holder": app.applicant_name if app else "",
                 "award": _local(titles.get(award.tier)) or tier_label(award.tier),
                 "tier": award.tier, "year": award.year,
                 "cycle": cycle.title if cycle else award.cycle,
                 "issued_on": award.decided_at, "revoked_on": award.revoked_at,
                 "revocation_ground": _local(grounds.get(revocation.ground, revocation.ground))
                 if revocation else None}
    return render("review/public/certificate.html", facts=facts)
