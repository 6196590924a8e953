"""The award holder's own documents: the certificate and the decision letter as PDF, for the
applicant who owns the application and nobody else. Plain functions, no Flask or Celery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.certificates import (
    CertificateFacts,
    DecisionFacts,
    certificate_pdf,
    decision_letter_pdf,
)
from services.review.models import Application, Award, Cycle
from services.review.programme import Programme
from shared.errors import DossierError, NotFound

TIER_WORDS = {"award": "奖项", "nomination": "提名奖"}
VERIFY_HINT = "扫描二维码或访问以下地址核验 Scan or visit to verify:"


@dataclass(frozen=True)
class HolderAward:
    """What the two documents are drawn from, read in one short transaction."""

    award_id: str
    certificate: CertificateFacts
    decision: DecisionFacts


def owned_award(session: Session, programme: Programme, owner: str, application_id: str,
                verify_url: Callable[[str], str]) -> HolderAward:
    """The award of `application_id` if `owner` owns the application: another applicant's
    award, or an application without one, is the same 404 (nothing is revealed)."""
    app = session.get(Application, application_id)
    award = session.scalars(select(Award).where(Award.application_id == application_id)
                            .order_by(Award.decided_at.desc())).first()
    if app is None or app.owner != owner or award is None:
        raise NotFound()
    if award.revoked_at is not None:
        raise DossierError("award.revoked", status=410, zh="该奖项已被撤销。",
                           en="This award has been revoked.")
    cycle = session.get(Cycle, award.cycle)
    title = dict(programme.awards(award.cycle)["titles"][award.tier])
    decided_on = award.decided_at.date().isoformat()
    return HolderAward(
        award_id=award.id,
        certificate=CertificateFacts(holder=app.applicant_name, tier_title=title,
                                     year=award.year, serial=award.serial,
                                     decided_on=decided_on, verify_hint=VERIFY_HINT,
                                     verify_url=verify_url(award.serial)),
        decision=DecisionFacts(holder=app.applicant_name, case_number=app.case_number,
                               cycle_title=cycle.title if cycle else f"{award.year} 年度",
                               tier_title=title, tier_words=TIER_WORDS.get(award.tier, ""),
                               amount=award.amount, serial=award.serial,
                               decided_on=decided_on, reference=award.decision_reference))


def render(held: HolderAward, document: str, font: str) -> bytes:
    """`certificate` or `decision` as PDF bytes (called with no transaction open)."""
    if document == "certificate":
        return certificate_pdf(held.certificate, font)
    return decision_letter_pdf(held.decision, font)
