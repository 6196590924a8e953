"""Case numbers (办件编号): the short number an applicant, a recommender and the office quote
instead of an application's id, as a 政务 service gives every case it takes in.

The form is `<cycle>-<sequence>` (`2026-0042`): the cycle is what the office already names an
award round by, and the sequence counts the cycle's applications in the order they were opened.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.intake.models import Cycle


def format_case_number(cycle: str, sequence: int) -> str:
    return f"{cycle}-{sequence:04d}"


def assign(session: Session, cycle: str) -> str:
    """The next case number of `cycle`. One atomic UPDATE … RETURNING on the cycle's counter,
    so two applications opened at once (scaled workers, PostgreSQL) never share a number."""
    sequence = session.execute(
        update(Cycle).where(Cycle.id == cycle).values(case_seq=Cycle.case_seq + 1)
        .returning(Cycle.case_seq).execution_options(synchronize_session=False)).scalar_one()
    return format_case_number(cycle, int(sequence))
