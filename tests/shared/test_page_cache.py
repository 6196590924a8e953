"""Change tracking on real databases and the page cache on the real Redis: a kept page is served
while nothing it depends on moves, and never after."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import ForeignKey, String, delete, insert, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from waiting import poll

from dossier.localstack import BackingServers
from shared import changes
from shared.audit import AuditKey, AuditLog
from shared.db import Database, service_metadata
from shared.pagecache import PageCache


class Base(DeclarativeBase):
    """The ORM base of this service's tables, on its own MetaData."""

    metadata = service_metadata()


metadata = Base.metadata


class Shelf(Base):
    __tablename__ = "shelves"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    label: Mapped[str] = mapped_column(String(40))


class Book(Base):
    __tablename__ = "books"
    __change_keys__ = ("shelf_id",)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    shelf_id: Mapped[str] = mapped_column(ForeignKey("shelves.id"))
    title: Mapped[str] = mapped_column(String(40))


@pytest.fixture(params=["sqlite", "postgresql"])
def tracked(request: pytest.FixtureRequest, new_database_url: Callable[[str, str], str],
            open_database: Callable[[str], Database]
            ) -> tuple[Database, list[set[str]]]:
    db = open_database(new_database_url(request.param, "changes"))
    metadata.create_all(db.engine)
    published: list[set[str]] = []
    changes.track(db.factories, published.append)
    with db.session() as session:
        session.add_all([Shelf(id="s1", label="一"), Shelf(id="s2", label="二")])
    published.clear()
    return db, published


def test_each_write_publishes_the_tags_it_touched_once_committed(
        tracked: tuple[Database, list[set[str]]]) -> None:
    db, published = tracked
    with db.session() as session:
        session.add(Book(id="b1", shelf_id="s1", title="质量"))
    assert published == [{"books", "books.shelf_id=s1"}]

    with db.session() as session:  # moved to another shelf: both partitions changed
        session.get(Book, "b1").shelf_id = "s2"  # type: ignore[union-attr]
    assert published[-1] == {"books", "books.shelf_id=s1", "books.shelf_id=s2"}

    with db.session() as session:  # a table without partition keys: every partition
        session.get(Shelf, "s1").label = "壹"  # type: ignore[union-attr]
    assert published[-1] == {"shelves", "shelves.*"}

    with db.session() as session:  # bulk statements cannot name their rows
        session.execute(update(Book).where(Book.id == "b1").values(title="新"))
    assert published[-1] == {"books", "books.*"}
    with db.session() as session:
        session.execute(insert(Book).values(id="b2", shelf_id="s1", title="二"))
        session.execute(delete(Book).where(Book.id == "b2"))
    assert published[-1] == {"books", "books.*"}

    count = len(published)
    with db.session() as session:  # loaded, not changed
        session.get(Book, "b1")
    with db.reader() as session:
        list(session.query(Book))
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(Book(id="b3", shelf_id="s1", title="回滚"))
        session.flush()
        raise RuntimeError("rolled back")
    with db.session() as session:  # bookkeeping tables are not tracked
        AuditLog(metadata.tables["audit_log"], AuditKey("k" * 32)).append(
            session, actor="a", role="operator", action="viewed", target="t")
    assert len(published) == count


def test_dependencies_name_only_declared_partitions() -> None:
    assert changes.on_rows(Book, shelf_id="s1") == ["books.*", "books.shelf_id=s1"]
    assert changes.on_table(Shelf) == ["shelves"]
    with pytest.raises(ValueError, match="not partitioned"):
        changes.on_rows(Shelf, id="s1")
    with pytest.raises(ValueError, match="not partitioned"):
        changes.on_rows(Book, title="x")


@pytest.fixture
def cache(backing: BackingServers) -> Iterator[PageCache]:
    client = redis.Redis.from_url(backing.redis_url_for(9))
    yield PageCache(client, f"test-{secrets.token_hex(4)}", ttl=60)
    client.close()


def test_a_kept_page_is_served_until_a_tag_it_depends_on_moves(cache: PageCache) -> None:
    mine = [*changes.on_table(Shelf), *changes.on_rows(Book, shelf_id="s1")]
    key = cache.key("/shelves/s1", "session-a", "zh-CN")
    first = cache.lookup(key)
    assert not first.hit
    assert cache.store(first, "<p>一号书架</p>", mine)
    again = cache.lookup(key)
    assert again.hit and again.body == "<p>一号书架</p>".encode()
    assert cache.client.ttl(key) > 0

    cache.publish({"books", "books.shelf_id=s2"})  # another shelf's book
    cache.publish({"experts"})  # a table the page did not read
    assert cache.lookup(key).hit
    assert not cache.lookup(cache.key("/shelves/s1", "session-b", "zh-CN")).hit

    cache.publish({"books", "books.shelf_id=s1"})
    assert not cache.lookup(key).hit

    for moved in ({"books", "books.*"}, {"shelves", "shelves.*"}, {"*"}):
        fresh = cache.lookup(key)
        assert cache.store(fresh, "<p>new</p>", mine)
        assert cache.lookup(key).hit
        cache.publish(moved)
        assert not cache.lookup(key).hit, moved


def test_a_page_rendered_while_its_data_changed_is_not_kept(cache: PageCache) -> None:
    key = cache.key("/shelves/s1", "session-a", "en")
    looked = cache.lookup(key)
    cache.publish({"books", "books.shelf_id=s1"})  # committed while the page was being built
    assert not cache.store(looked, "<p>maybe stale</p>", changes.on_rows(Book, shelf_id="s1"))
    assert not cache.lookup(key).hit
    # A write elsewhere during the render does not stop the page being kept.
    looked = cache.lookup(key)
    cache.publish({"books", "books.shelf_id=s2"})
    assert cache.store(looked, "<p>fresh</p>", changes.on_rows(Book, shelf_id="s1"))
    assert cache.lookup(key).body == b"<p>fresh</p>"


def test_a_session_and_its_accounts_page_come_back_in_one_call(cache: PageCache) -> None:
    from shared.web.sessions import SessionStore, account_of, session_key

    store = SessionStore(cache.client, idle=600, absolute=3600)
    session = store.create(subject="exp-1", role="expert", name="专家", scope={})
    key = session_key(session.sid)
    assert key is not None
    raw, looked = cache.with_session(key, 600, "/review/dossiers", "zh-CN")
    assert store.claims(session.sid, raw) == session
    assert looked is not None and not looked.hit
    # The Lua side names the page exactly as the Python side does.
    assert looked.key == cache.key("/review/dossiers", "zh-CN", account_of(
        "exp-1", "expert", "专家", {}))
    cache.store(looked, "<p>我的评审任务</p>", ["assignments.*"])
    other = store.create(subject="exp-1", role="expert", name="专家", scope={})
    raw, looked = cache.with_session(session_key(other.sid) or "", 600, "/review/dossiers",
                                     "zh-CN")
    assert looked is not None and looked.body == "<p>我的评审任务</p>".encode()
    assert cache.client.ttl(key) > 590
    # No session, no page; another account, another page.
    assert cache.with_session("dossier:session:nope", 600, "/review/dossiers", "zh-CN") == (
        None, None)
    third = store.create(subject="exp-2", role="expert", name="专家", scope={})
    _, looked = cache.with_session(session_key(third.sid) or "", 600, "/review/dossiers",
                                   "zh-CN")
    assert looked is not None and not looked.hit



def test_the_code_version_moves_with_any_template_or_module(tmp_path: Path) -> None:
    from shared.web.state import code_version

    (tmp_path / "web").mkdir()
    page = tmp_path / "web" / "list.html"
    page.write_text("<p>{{ _('My assignments') }}</p>", encoding="utf-8")
    (tmp_path / "views.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not code", encoding="utf-8")
    first = code_version([tmp_path])
    assert code_version([tmp_path, tmp_path / "web"]) == first
    (tmp_path / "notes.txt").write_text("still not code", encoding="utf-8")
    assert code_version([tmp_path]) == first
    page.write_text("<p>{{ _('My dossiers') }}</p>", encoding="utf-8")
    assert code_version([tmp_path]) != first


def test_a_write_committed_while_redis_was_away_still_retires_the_pages_it_changed(
        tmp_path: Path) -> None:
    from shared.web.sessions import SessionStore, session_key

    own = BackingServers(root=tmp_path / "outage")
    own.start_redis()
    writer_side = redis.Redis.from_url(own.redis_url, socket_timeout=2,
                                        socket_connect_timeout=2)
    reader_side = redis.Redis.from_url(own.redis_url, socket_timeout=2,
                                        socket_connect_timeout=2)
    try:
        service = f"outage-{secrets.token_hex(4)}"
        writer = PageCache(writer_side, service, ttl=60)  # the process that commits the write
        reader = PageCache(reader_side, service, ttl=60)  # any other process of the service
        sessions = SessionStore(reader_side, idle=600, absolute=3600)
        pages = {}
        for subject in ("app-a", "app-b"):
            who = sessions.create(subject=subject, role="applicant", name=subject, scope={})
            key = session_key(who.sid) or ""
            _, looked = reader.with_session(key, 600, "/intake/packets", "zh-CN")
            assert looked is not None
            assert reader.store(looked, f"<p>{subject} 的材料：1 份</p>",
                                changes.on_rows(Book, shelf_id=subject))
            pages[subject] = key

        own.stop_redis()
        with pytest.raises(redis.RedisError):  # `changes.track` logs it; the commit stands
            writer.publish({"books", "books.shelf_id=app-a"})
        assert writer.unpublished == {"books", "books.shelf_id=app-a"}
        own.start_redis(port=own.redis_port)  # back, with its kept pages (append-only file)

        # Other processes: stale for at most the background retry's half second.
        poll(lambda: not writer.unpublished, 10, 0.1)
        _, looked = reader.with_session(pages["app-a"], 600, "/intake/packets", "zh-CN")
        assert looked is not None and not looked.hit
        # Nobody is shown another account's page: b's own page is still b's.
        _, looked = reader.with_session(pages["app-b"], 600, "/intake/packets", "zh-CN")
        assert looked is not None and looked.body == "<p>app-b 的材料：1 份</p>".encode()
    finally:
        writer_side.close()
        reader_side.close()
        own.stop()


def test_the_writing_process_publishes_what_it_kept_before_its_own_next_lookup(
        tmp_path: Path) -> None:
    own = BackingServers(root=tmp_path / "outage")
    own.start_redis()
    client = redis.Redis.from_url(own.redis_url, socket_timeout=2,
                                        socket_connect_timeout=2)
    try:
        cache = PageCache(client, f"outage-{secrets.token_hex(4)}", ttl=60)
        key = cache.key("/shelves/s1", "acct", "zh-CN")
        assert cache.store(cache.lookup(key), "<p>old</p>", changes.on_rows(Book, shelf_id="s1"))
        own.stop_redis()
        with pytest.raises(redis.RedisError):
            cache.publish({"books.shelf_id=s1"})
        own.start_redis(port=own.redis_port)
        assert not cache.lookup(key).hit  # even before the background retry ran
    finally:
        client.close()
        own.stop()
