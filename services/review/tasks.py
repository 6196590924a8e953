"""Review's Celery side: the table of events it consumes (docs/events.md), each to the domain
function it calls (thin: load, call, save)."""

from __future__ import annotations

import logging
from functools import partial

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from services.review import assignment_jobs, copies, requirements
from services.review.programme import Programme
from shared.events import Event, EventTable, Subscription
from shared.messages import load_payload
from shared.service import ServiceContext

log = logging.getLogger(__name__)


def events(ctx: ServiceContext) -> EventTable:
    """Each event → the domain function that keeps review's copy (`copies`, `requirements`)."""
    programme = Programme(ctx.settings.review_data_dir)
    return {
        "cycle.saved": partial(on_cycle_saved, ctx, programme),
        "packet.accepted": partial(on_packet_accepted, ctx, programme),
        "acceptance.published": copies.record_acceptance_list,
        "requirements.published": on_requirements_published,
        # The job's work is the slow step, outside the inbox's transaction; it keeps its own
        # short transactions and is a no-op for a job already finished.
        assignment_jobs.EVENT: Subscription(on_assignment_ran,
                                            slow=partial(run_assignment_job, ctx)),
    }


def on_cycle_saved(ctx: ServiceContext, programme: Programme, session: Session,
                   event: Event) -> None:
    copies.record_cycle(session, event, programme.grounds(), ctx.outbox)


def on_packet_accepted(ctx: ServiceContext, programme: Programme, session: Session,
                       event: Event) -> None:
    copies.record_accepted_packet(session, event, programme.grounds(), ctx.outbox)


def on_requirements_published(session: Session, event: Event) -> None:
    """Keep the cycle's requirement list for the pages that name documents; the event's time
    orders announcements of one cycle that arrive out of order."""
    if not requirements.record(session, load_payload(event.type, event.payload),
                               event.occurred_at):
        log.info("requirements of cycle %s: a newer list is already kept",
                 event.payload.get("cycle"))


def run_assignment_job(ctx: ServiceContext, event: Event) -> str:
    job_id = str(event.payload["job_id"])
    try:
        return assignment_jobs.run(ctx.db, ctx.outbox, ctx.audit, job_id)
    except SoftTimeLimitExceeded:
        # Stopped by the worker's time limit: say so on the job, then let the task end as a
        # dead letter like any other task that runs away.
        assignment_jobs.fail(ctx.db, job_id, assignment_jobs.TooLong())
        raise


def on_assignment_ran(session: Session, event: Event, status: str) -> None:
    log.info("assignment job %s: %s", event.payload.get("job_id"), status)


def register(celery: Celery, ctx: ServiceContext) -> None:
    ctx.inbox.subscribe(events(ctx))
