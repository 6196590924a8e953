"""Steps of intake's flows over real HTTP, shared by the intake tests."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import requests
from celery import Celery
from waiting import poll

from dossier.localstack import AppStack
from services.intake.identifiers import id_check_char, uscc_check_char
from shared.auth import issue_token
from shared.events import Event
from shared.workdays import WorkCalendar

CALENDAR = WorkCalendar.default()

USCC_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc(county: str = "140902") -> str:
    body = "91" + county + "".join(random.choice(USCC_BODY) for _ in range(9))
    return body + uscc_check_char(body)


def new_id_number(born: date = date(1980, 5, 17), county: str = "140902") -> str:
    body = county + born.strftime("%Y%m%d") + f"{random.randrange(1000):03d}"
    return body + id_check_char(body)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Intake:
    """A client of one intake service: tokens for any role, short calls for each step."""

    stack: AppStack
    http: requests.Session

    @property
    def url(self) -> str:
        return self.stack.url("intake")

    def as_(self, role: str, subject: str, **scope: str) -> dict[str, str]:
        token = issue_token(self.stack.secret_key, subject=subject, role=role,
                            ttl_seconds=3600, scope=scope or None)
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, who: dict[str, str], **kw: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}/api{path}", headers=who, **kw)

    @property
    def operator(self) -> dict[str, str]:
        return self.as_("operator", "operator-city")

    def open_cycle(self, cycle: str | None = None, year: int | None = None,
                   programme: str | None = None, **fields: Any) -> dict[str, Any]:
        cycle = cycle or unique("c")[:20]
        today = date.today()
        body = {"year": year or today.year, "title": "第三届忻州市市长质量奖",
                "opens_on": (today - timedelta(days=30)).isoformat(),
                "closes_on": (today + timedelta(days=60)).isoformat(), "status": "open",
                "programme": programme or unique("prog"), **fields}
        r = self.call("PUT", f"/cycles/{cycle}", self.operator, json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def requirements(self, cycle: str, timeout: float = 60) -> dict[str, Any]:
        """The cycle's requirement list, once documents has announced it (it answers every
        `cycle.saved`); pages that name requirements need it."""
        def fetch() -> dict[str, Any] | None:
            r = self.call("GET", f"/cycles/{cycle}/requirements", self.operator)
            return r.json() if r.status_code == 200 else None

        return poll(fetch, timeout)

    def recommender(self, unit: str, subject: str | None = None) -> dict[str, str]:
        subject = subject or unique("rec")
        r = self.call("PUT", f"/accounts/{subject}", self.operator,
                      json={"role": "recommender", "name": "李娜", "unit": unit})
        assert r.status_code == 200, r.text
        return self.as_("recommender", subject)

    def create(self, who: dict[str, str], cycle: str, kind: str = "organisation",
               **fields: Any) -> requests.Response:
        body: dict[str, Any] = {"cycle": cycle, "kind": kind,
                                "name": fields.pop("name", "忻州市示例机械有限公司")}
        if kind == "organisation":
            body.update(credit_code=new_uscc(), county="140902", industry="装备制造",
                        founded_on="2015-06-01", legal_representative="张三",
                        attest_no_violation=True, attest_no_accident=True)
        else:
            body.update(id_number=new_id_number(), employer="忻州市示例机械有限公司",
                        quality_years=8, county="140902", attest_no_violation=True)
        body.update(fields)
        return self.call("POST", "/applications", who, json=body)

    def upload(self, who: dict[str, str], app_id: str, filename: str, data: bytes,
               requirement: str = "self-evaluation", headers: dict[str, str] | None = None,
               **fields: str) -> requests.Response:
        form = {"requirement": requirement, "confidentiality": "internal", **fields}
        return self.call("POST", f"/applications/{app_id}/documents", {**who, **(headers or {})},
                         data=form, files={"file": (filename, data, "application/pdf")})

    def detail(self, who: dict[str, str], app_id: str) -> dict[str, Any]:
        r = self.call("GET", f"/applications/{app_id}", who)
        assert r.status_code == 200, r.text
        return r.json()

    def publicity(self, who: dict[str, str], app_id: str, document_id: str,
                  starts_on: date | None = None, ends_on: date | None = None
                  ) -> requests.Response:
        """By default 5 working days that ended before today."""
        if starts_on is None:
            starts_on = CALENDAR.add_workdays(date.today(), -8)
        if ends_on is None:
            ends_on = CALENDAR.publicity_end(starts_on)
        return self.call("PUT", f"/applications/{app_id}/publicity", who,
                         json={"starts_on": starts_on.isoformat(),
                               "ends_on": ends_on.isoformat(), "document_id": document_id})

    def submit(self, who: dict[str, str], app_id: str, route: str = "county",
               **fields: Any) -> requests.Response:
        body = {"route": route, "attest_no_state_secrets": True, "attest_authentic": True,
                **fields}
        return self.call("POST", f"/applications/{app_id}/submit", who, json=body)


def processed(stack: AppStack, event_id: str) -> bool:
    """Whether intake's inbox has handled the event."""
    return stack.processed("intake", event_id)


def deliver(stack: AppStack, event_type: str, payload: dict[str, Any],
            source: str = "review", wait: bool = True, occurred_at: str | None = None) -> str:
    """Send another service's event to intake as a real Celery message through the broker."""
    event = Event(id=str(uuid.uuid4()), type=event_type, source=source,
                  occurred_at=occurred_at or "2026-11-25T00:00:00+00:00", payload=payload)
    sender = Celery("test-sender", broker=stack.env()["DOSSIER_REDIS_URL"],
                    set_as_current=False)
    sender.conf.task_serializer = "json"
    sender.send_task("intake.handle_event", args=[event.envelope()], queue="intake")
    if wait:
        poll(lambda: processed(stack, event.id), 30)
    return event.id


def outbox(stack: AppStack, event_type: str) -> list[dict[str, Any]]:
    return [row.payload["payload"] for row in stack.outbox("intake", event_type)]
