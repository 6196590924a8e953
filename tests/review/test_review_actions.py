"""Review's actions called as the API, the pages and the tasks call them: one domain function
each (experts, conflict_records, panel_setup, applications), over a unit of work, with no Flask
and no server: a SQLite file per test, the real outbox and audit log tables. Each test checks
the change, the event it causes and the audit record with the actor, together."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.review import applications, conflict_records, experts, panel_setup
from services.review.conflicts import grounds
from services.review.models import Application, Assignment, ConflictRecord, Expert, Panel, metadata
from shared import clock
from shared.audit import AuditKey, AuditLog
from shared.auth import Principal
from shared.db import Database
from shared.errors import DossierError
from shared.events import Outbox
from shared.unit_of_work import UnitOfWork, open_work

OPERATOR = Principal(subject="op-wang", role="operator")
CODE = "91140900MA0K000001"
RULES = grounds()


class World:
    """One review database and the collaborators a unit of work holds."""

    def __init__(self, root: Path) -> None:
        self.db = Database(f"sqlite:///{root / 'review.db'}")
        metadata.create_all(self.db.engine)
        self.outbox = Outbox(metadata, "review")
        self.audit = AuditLog(metadata.tables["audit_log"], AuditKey("审计密钥-测试"))

    def work(self, who: Principal = OPERATOR) -> Any:
        return open_work(self.db, self.outbox, self.audit, who)

    def events(self, type_: str) -> list[dict[str, Any]]:
        table = self.outbox.table
        with self.db.reader() as session:
            return [row.payload["payload"] for row in session.execute(
                select(table).where(table.c.type == type_).order_by(table.c.seq))]

    def audits(self, action: str) -> list[Any]:
        table = self.audit.table
        with self.db.reader() as session:
            return list(session.execute(select(table).where(table.c.action == action)))

    def add(self, *rows: Any) -> None:
        with self.db.session() as session:
            session.add_all(rows)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    w.add(Application(id="app-1", cycle="xz-2027", kind="organisation", owner="owner-1",
                      applicant_name="忻州精工机械有限公司", unit="140902",
                      profile={"name": "忻州精工机械有限公司", "credit_code": CODE,
                               "industry": "机械制造"},
                      documents=[{"document_id": "d1", "confidentiality": "trade-secret"},
                                 {"document_id": "d2", "confidentiality": "public"}],
                      accepted_at=datetime.now(UTC)),
          Application(id="app-2", cycle="xz-2027", kind="organisation", owner="owner-2",
                      applicant_name="忻州示范农业合作社", unit="140902",
                      profile={"name": "忻州示范农业合作社"}, documents=[],
                      accepted_at=datetime.now(UTC)))
    yield w
    w.db.engine.dispose()


def _details(organisation: str = "山西大学", **more: Any) -> experts.ExpertDetails:
    return experts.ExpertDetails.from_body({"name": "李明", "organisation": organisation,
                                            "fields": ["机械制造"], **more})


def _expert(world: World, subject: str = "e-li", organisation: str = "山西大学") -> str:
    with world.work() as work:
        return experts.create(work, experts.NewExpert(subject, _details(organisation)),
                              RULES).id


def _serving(world: World, expert_id: str, application_id: str = "app-1") -> str:
    """An active assignment of the expert on a material-review panel of the cycle."""
    panel = Panel(id=str(uuid.uuid4()), cycle="xz-2027", stage="material", per_application=1,
                  max_load=5, require_field_match=False, weight=1.0, pool=[], applications=[],
                  deadline=None, created_at=datetime.now(UTC))
    assignment = Assignment(id=str(uuid.uuid4()), panel_id=panel.id,
                            application_id=application_id, expert_id=expert_id,
                            status="active", affinity=100, explanation={},
                            created_at=datetime.now(UTC))
    world.add(panel)
    world.add(assignment)
    return assignment.id


def _status(world: World, assignment_id: str) -> str:
    with world.db.reader() as session:
        found = session.get(Assignment, assignment_id)
        assert found is not None
        return found.status


# -- experts ----------------------------------------------------------------------------------

def test_creating_an_expert_announces_the_account_detects_conflicts_and_audits_the_actor(
        world: World) -> None:
    expert_id = _expert(world, "e-zhang", organisation="忻州精工机械有限公司")
    with world.db.reader() as session:
        live = conflict_records.search(conflict_records.ConflictFilter(
            expert_id=expert_id, active=True))
        grounds_found = {c.ground for c in session.scalars(live)}
    assert grounds_found == {"same-organisation"}
    assert [e["subject"] for e in world.events("account.saved")] == ["e-zhang"]
    [record] = world.audits("expert.created")
    assert (record.actor, record.role, record.target) == ("op-wang", "operator",
                                                          f"expert:{expert_id}")


def test_updating_an_expert_into_a_conflict_recuses_them_at_once(world: World) -> None:
    expert_id = _expert(world)
    assignment_id = _serving(world, expert_id)
    with world.work() as work:
        experts.update(work, expert_id, _details(
            past_affiliations=[{"organisation": "忻州精工机械有限公司", "credit_code": CODE,
                                "ended_on": date(2026, 1, 31)}]), RULES)
    assert _status(world, assignment_id) == "ended"
    assert [r.detail["recusals"] for r in world.audits("expert.updated")] == [1]
    assert world.events("recusal.recorded")[0]["expert"] == "e-li"
    with world.db.reader() as session:
        stored = session.get(Expert, expert_id)
        assert stored is not None
        # dates stored as ISO text in the JSON column, as every entry point stores them
        assert stored.past_affiliations[0]["ended_on"] == "2026-01-31"
        assert stored.subject == "e-li"


def test_an_unknown_expert_is_not_found_by_any_action(world: World) -> None:
    for act in (lambda w: experts.update(w, "nobody", _details(), RULES),
                lambda w: experts.deactivate(w, "nobody", "退休"),
                lambda w: experts.reactivate(w, "nobody")):
        with pytest.raises(DossierError) as caught, world.work() as work:
            act(work)
        assert caught.value.status == 404


def test_importing_a_gbk_csv_registers_every_row_and_counts_the_conflicts(world: World) -> None:
    csv_text = ("subject,name,organisation,organisation_credit_code,fields\n"
                "e-a,赵一,忻州精工机械有限公司,,机械制造\n"
                "e-b,钱二,山西大学,,农业;食品\n")
    with world.work() as work:
        result = experts.import_csv(work, csv_text.encode("gb18030"), None, RULES)
    assert result == experts.Imported(imported=2, conflicts_detected=1)
    with world.db.reader() as session:
        names = sorted(session.scalars(select(Expert.name)))
    assert names == ["赵一", "钱二"]
    assert [r.detail for r in world.audits("expert.imported")] == [{"count": 2}]


def test_an_import_naming_a_registered_account_imports_nothing(world: World) -> None:
    _expert(world, "e-a")
    csv_text = "subject,name,organisation\ne-new,孙三,山西大学\ne-a,赵一,山西大学\n"
    with pytest.raises(DossierError) as caught, world.work() as work:
        experts.import_csv(work, csv_text.encode(), "utf-8", RULES)
    assert (caught.value.code, caught.value.status) == ("expert.exists", 409)
    with world.db.reader() as session:
        assert list(session.scalars(select(Expert.subject))) == ["e-a"]
    assert world.audits("expert.imported") == []


def test_taking_an_expert_out_of_service_ends_assignments_and_back_in_restores_the_account(
        world: World) -> None:
    expert_id = _expert(world)
    assignment_id = _serving(world, expert_id)
    with world.work() as work:
        assert experts.deactivate(work, expert_id, "已退休").active is False
    assert _status(world, assignment_id) == "ended"
    assert [r.detail["reason"] for r in world.audits("expert.deactivated")] == ["已退休"]
    with world.work() as work:
        assert experts.reactivate(work, expert_id).active is True
    assert [e["active"] for e in world.events("account.saved")] == [True, False, True]
    assert len(world.audits("expert.reactivated")) == 1


def test_the_registry_search_filters_by_words_field_county_and_service(world: World) -> None:
    _expert(world, "e-1")
    with world.work() as work:
        moved = experts.create(work, experts.NewExpert("e-2", experts.ExpertDetails.from_body(
            {"name": "周七", "organisation": "太原理工大学", "fields": ["食品"],
             "county": "140902"})), RULES)
        experts.deactivate(work, moved.id, "调离")
    with world.db.reader() as session:
        def subjects(**wanted: Any) -> list[str]:
            query = experts.search(session, experts.ExpertFilter(**wanted))
            return [e.subject for e in session.scalars(query)]

        assert subjects(q="理工") == ["e-2"]
        assert subjects(field="机械制造") == ["e-1"]
        assert subjects(county="140902") == ["e-2"]
        assert subjects(active=True) == ["e-1"]
        assert experts.counties(session) == ["140902"]


# -- conflicts --------------------------------------------------------------------------------

def test_an_operator_records_a_conflict_and_the_expert_is_recused_with_an_audit(
        world: World) -> None:
    expert_id = _expert(world)
    assignment_id = _serving(world, expert_id)
    report = conflict_records.ConflictReport(application_id="app-1", ground="relative",
                                             reason="申报单位法人为其亲属", expert_id=expert_id,
                                             requested_by_applicant=True)
    with world.work() as work:
        done = conflict_records.record(work, report, RULES)
        assert done.record.source == "applicant"
        named = conflict_records.named(work.session, [done.record])[0]
    assert (named["expert_name"], named["applicant_name"]) == ("李明", "忻州精工机械有限公司")
    assert _status(world, assignment_id) == "ended"
    [audit] = world.audits("conflict.recorded")
    assert (audit.actor, audit.detail["source"], audit.detail["expert"]) == (
        "op-wang", "applicant", "e-li")
    assert world.events("recusal.recorded")[0]["ground"] == "relative"


def test_an_expert_declares_their_own_conflict_whatever_expert_the_report_names(
        world: World) -> None:
    mine, other = _expert(world, "e-li"), _expert(world, "e-zhou")
    report = conflict_records.ConflictReport(application_id="app-2", ground="other",
                                             reason="曾为其提供咨询", expert_id=other)
    with world.work(Principal(subject="e-li", role="expert")) as work:
        done = conflict_records.record(work, report, RULES)
    assert (done.record.expert_id, done.record.source, done.record.recorded_by) == (
        mine, "expert", "e-li")


@pytest.mark.parametrize(("expert_id", "application_id", "code"), [
    (None, "app-1", "conflict.expert_unknown"),
    ("nobody", "app-1", "conflict.expert_unknown"),
    ("<known>", "no-such-application", "conflict.application_unknown"),
])
def test_a_conflict_must_name_a_registered_expert_and_an_application(
        world: World, expert_id: str | None, application_id: str, code: str) -> None:
    known = _expert(world)
    report = conflict_records.ConflictReport(
        application_id=application_id, ground="other", reason="理由充分",
        expert_id=known if expert_id == "<known>" else expert_id)
    with pytest.raises(DossierError) as caught, world.work() as work:
        conflict_records.record(work, report, RULES)
    assert (caught.value.code, caught.value.status) == (code, 422)
    assert world.audits("conflict.recorded") == []


def test_a_conflict_is_withdrawn_once_with_its_reason_and_kept(world: World) -> None:
    expert_id = _expert(world)
    with world.work() as work:
        recorded = conflict_records.record(work, conflict_records.ConflictReport(
            application_id="app-2", ground="other", reason="误报", expert_id=expert_id),
            RULES).record
    with world.work() as work:
        withdrawn = conflict_records.withdraw(work, recorded.id, "核实后并无利害关系")
        assert (withdrawn.withdrawn_by, withdrawn.withdrawal_reason) == (
            "op-wang", "核实后并无利害关系")
    with pytest.raises(DossierError) as caught, world.work() as work:
        conflict_records.withdraw(work, recorded.id, "再次撤回")
    assert caught.value.code == "conflict.already_withdrawn"
    with world.db.reader() as session:
        assert session.get(ConflictRecord, recorded.id) is not None
        withdrawn_only = conflict_records.search(conflict_records.ConflictFilter(active=False))
        assert [c.id for c in session.scalars(withdrawn_only)] == [recorded.id]
    assert [r.detail for r in world.audits("conflict.withdrawn")] == [
        {"reason": "核实后并无利害关系"}]


# -- panels -----------------------------------------------------------------------------------

def _new_panel(**more: Any) -> panel_setup.NewPanel:
    return panel_setup.NewPanel.from_body({"cycle": "xz-2027", "stage": "material",
                                           "per_application": 3, "max_load": 8, **more})


def test_a_panel_is_created_once_per_stage_stamped_by_the_one_clock(world: World) -> None:
    with clock.frozen(datetime(2027, 3, 1, 0, 30, tzinfo=clock.current().zone)), \
            world.work() as work:
        panel = panel_setup.create(work, _new_panel(deadline=date(2027, 7, 31)))
        assert panel.created_at == datetime(2027, 2, 28, 16, 30, tzinfo=UTC)
    assert [r.detail for r in world.audits("panel.created")] == [{"stage": "material"}]
    with pytest.raises(DossierError) as caught, world.work() as work:
        panel_setup.create(work, _new_panel())
    assert caught.value.code == "panel.exists"
    with pytest.raises(DossierError) as caught, world.work() as work:
        panel_setup.create(work, _new_panel(stage="defence", pool=["nobody"]))
    assert caught.value.code == "panel.pool_unknown"


def test_changing_a_panel_keeps_what_the_change_leaves_out_and_clears_a_deadline_set_to_none(
        world: World) -> None:
    with world.work() as work:
        panel_id = panel_setup.create(work, _new_panel(deadline=date(2027, 7, 31))).id
    with world.work() as work:
        panel_setup.update(work, panel_id, panel_setup.PanelChanges.from_body(
            {"max_load": 12, "applications": ["app-1"]}))
    with world.db.reader() as session:
        panel = panel_setup.get(session, panel_id)
        assert (panel.per_application, panel.max_load, panel.deadline, panel.applications) == (
            3, 12, date(2027, 7, 31), ["app-1"])
    with world.work() as work:
        panel_setup.update(work, panel_id, panel_setup.PanelChanges(deadline=None))
    with world.db.reader() as session:
        assert panel_setup.get(session, panel_id).deadline is None
    assert [r.detail["changed"] for r in world.audits("panel.updated")] == [
        ["applications", "max_load"], ["deadline"]]


def test_a_panel_with_its_assignment_can_no_longer_change(world: World) -> None:
    expert_id = _expert(world)
    with world.work() as work:
        panel_id = panel_setup.create(work, _new_panel()).id
    world.add(Assignment(id=str(uuid.uuid4()), panel_id=panel_id, application_id="app-1",
                         expert_id=expert_id, status="active", affinity=0, explanation={},
                         created_at=datetime.now(UTC)))
    with pytest.raises(DossierError) as caught, world.work() as work:
        panel_setup.update(work, panel_id, panel_setup.PanelChanges(max_load=3))
    assert (caught.value.code, caught.value.status) == ("panel.assigned", 409)


# -- applications, and the unit of work itself --------------------------------------------

def test_the_application_list_counts_documents_secrets_and_live_conflicts(world: World) -> None:
    _expert(world, "e-zhang", organisation="忻州精工机械有限公司")
    with world.db.reader() as session:
        page = applications.listing(session, 1, 50, cycle="xz-2027")
    rows = {r["id"]: r for r in page["items"]}
    assert page["total"] == 2
    assert (rows["app-1"]["documents"], rows["app-1"]["trade_secret_documents"],
            rows["app-1"]["active_conflicts"]) == (2, 1, 1)
    assert rows["app-2"]["active_conflicts"] == 0


def test_a_failed_action_leaves_no_change_no_event_and_no_audit_record(world: World) -> None:
    with pytest.raises(DossierError), world.work() as work:
        experts.create(work, experts.NewExpert("e-x", _details()), RULES)
        raise DossierError("panel.exists", status=409)  # anything failing after the change
    with world.db.reader() as session:
        assert list(session.scalars(select(Expert))) == []
    assert world.events("account.saved") == []
    assert world.audits("expert.created") == []


def test_the_unit_of_work_stamps_the_actor_and_tells_time_in_utc(world: World) -> None:
    with world.work(Principal(subject="sup-liu", role="supervisor")) as work:
        assert isinstance(work, UnitOfWork)
        work.audit("expert.created", "expert:x", subject="x")
        with clock.frozen(datetime(2027, 1, 1, 0, 30, tzinfo=clock.current().zone)):
            work.clock = clock.current()
            assert work.now() == datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
            assert work.today() == date(2027, 1, 1)
    [record] = world.audits("expert.created")
    assert (record.actor, record.role) == ("sup-liu", "supervisor")


# -- what the operator's pages read -----------------------------------------------------------

def test_an_experts_profile_holds_their_conflicts_assignments_and_panels(world: World) -> None:
    expert_id = _expert(world, "e-zhang", organisation="忻州精工机械有限公司")
    assignment_id = _serving(world, expert_id, "app-2")
    with world.db.reader() as session:
        seen = experts.profile(session, expert_id)
        assert [r.ground for r in seen.records] == ["same-organisation"]
        assert [a.id for a in seen.served] == [assignment_id]
        assert [p.stage for p in seen.panels.values()] == ["material"]
        assert set(seen.applications) == {"app-1", "app-2"}


def test_a_cycles_overview_lists_panels_in_stage_order_with_the_stages_still_free(
        world: World) -> None:
    with world.work() as work:
        panel_setup.create(work, _new_panel(stage="defence"))
        material = panel_setup.create(work, _new_panel(stage="material")).id
    expert_id = _expert(world)
    world.add(Assignment(id=str(uuid.uuid4()), panel_id=material, application_id="app-1",
                         expert_id=expert_id, status="active", affinity=0, explanation={},
                         created_at=datetime.now(UTC)))
    with world.db.reader() as session:
        seen = panel_setup.overview(session, "xz-2027")
        assert [p.stage for p in seen.panels] == ["material", "defence"]
        assert seen.free_stages == ["on-site"]
        assert seen.assignments[material]["active"] == 1
        assert applications.cycles(session) == ["xz-2027"]
        names = [a.applicant_name for a in applications.of_cycle(session, "xz-2027")]
        assert len(names) == 2 and names == sorted(names)
