"""An incremental rebuild (sitegen.build.rebuild, what the background rebuild runs) gives the
same site as a full build, file by file, byte for byte, after each kind of change that
reaches the public directory: an edit, a title that moves a session in sorted lists, the
approval of a new listing, a withdrawal, a provider's new name, a break, and a provider
stopping altogether; with what the background rebuild keeps between builds and without."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from api.access.models import Role
from api.access.tokens import Principal
from api.config import get_settings
from api.db import Database
from api.directory import lifecycle, publishing
from api.directory.models import Locality, Provider, Session
from api.registration import flow
from sitegen.build import build_site, rebuild
from sitegen.memo import BuildMemo

TODAY = dt.date(2026, 11, 16)
# The manifest records when it was built; everything else must be the same.
VOLATILE = {".petunia/manifest.json"}


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in VOLATILE
    }


def assert_same(incremental: Path, full: Path, after: str) -> None:
    a, b = tree(incremental), tree(full)
    assert sorted(a) == sorted(b), (
        f"after {after}: only incremental {sorted(set(a) - set(b))[:5]}, "
        f"only full {sorted(set(b) - set(a))[:5]}"
    )
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"after {after}: {len(differ)} files differ, e.g. {differ[:5]}"


def moderator(db: Database) -> Principal:
    with db.session() as s:
        lead = s.scalars(select(Provider).where(Provider.key == "lead-north")).one()
        localities = frozenset(s.scalars(select(Locality.id)))
    return Principal(
        None,  # type: ignore[arg-type]
        "north",
        Role.LEAD_PROVIDER,
        provider_id=lead.id,
        locality_ids=localities,
    )


NEW = {
    "organisation": "Riverside Walkers",
    "title": "Riverside health walk",
    "description": "A gentle walk along the river with a trained walk leader.",
    "domains": "PHYSICAL_ACTIVITY",
    "where": "VENUE",
    "venue_name": "Riverside Park gates",
    "postcode": "at1 2ab",
    "when": "TIMES",
    "days": ["TU"],
    "starts": "10am",
    "ends": "11",
    "email": "walks@riverside.example",
    "show_email": "yes",
}


@pytest.mark.parametrize("kept", [True, False], ids=["background", "one-off"])
def test_an_incremental_rebuild_is_the_full_build_file_by_file(
    db: Database, tmp_path: Path, kept: bool
) -> None:
    """``kept``: with what the background rebuild keeps between builds (sitegen/memo.py), as
    in `petunia up`; without, as `petunia build-site` into the served folder."""
    memo = BuildMemo() if kept else None
    settings = get_settings(
        data_dir=tmp_path,
        site_url="https://directory.example/",
        public_url="https://petunia.example",
        secret_key="incremental-test-secret-key-0123456789abcdef",
    )
    rebuild(db, settings, today=TODAY, memo=memo)  # the first build of the served folder
    served = settings.resolved_site_dir
    mod = moderator(db)

    def edit(s) -> None:  # type: ignore[no-untyped-def]
        walking = s.scalars(select(Session).where(Session.key == "dog-walking")).one()
        walking.title = "Dog walking in the park"
        walking.description = "Walk one of our dogs, with a volunteer, round the park."

    def retitle(s) -> None:  # type: ignore[no-untyped-def]
        # From the middle of every sorted list (search records, activity and What's on) to
        # the front: every search document after it moves up one.
        walking = s.scalars(select(Session).where(Session.key == "dog-walking")).one()
        walking.title = "Aardvark club"

    def approve_new(s) -> None:  # type: ignore[no-untyped-def]
        sent = flow.submit(s, settings, NEW, submission_key="incremental", address="127.0.0.1")
        assert not sent.errors, sent.errors
        flow.confirm(s, settings, sent.registration.id)
        approved = flow.approve(s, settings, mod, sent.registration.id)
        assert not approved.errors, approved.errors

    def withdraw(s) -> None:  # type: ignore[no-untyped-def]
        knit = s.scalars(select(Provider).where(Provider.key == "knitters")).one()
        first = s.scalars(select(Session).where(Session.provider_id == knit.id)).first()
        assert lifecycle.take_down(s, mod, knit.id, first.id, "withdraw", "Closed").ok

    def rename(s) -> None:  # type: ignore[no-untyped-def]
        s.scalars(select(Provider).where(Provider.key == "shelter")).one().name = "Paws Rescue"

    def take_break(s) -> None:  # type: ignore[no-untyped-def]
        shelter = s.scalars(select(Provider).where(Provider.key == "shelter")).one()
        assert lifecycle.take_break(s, shelter, None, dt.date(2027, 1, 5), today=TODAY).ok

    def stop_all(s) -> None:  # type: ignore[no-untyped-def]
        knit = s.scalars(select(Provider).where(Provider.key == "knitters")).one()
        assert lifecycle.stop(s, knit, None).ok

    for name, change in [
        ("an edit", edit),
        ("a title that moves it in sorted lists", retitle),
        ("the approval of a new listing", approve_new),
        ("a withdrawal", withdraw),
        ("a provider's new name", rename),
        ("a break", take_break),
        ("a provider stopping", stop_all),
    ]:
        with db.session() as s:
            change(s)
        with db.session() as s:
            assert publishing.pending(s) is not None, f"{name} queued no rebuild"
        report = rebuild(db, settings, today=TODAY, memo=memo)
        assert report.reused > 0, f"after {name}: nothing was reused"
        with db.session() as s:
            assert publishing.pending(s) is None
        full = tmp_path / f"full-{name.replace(' ', '-')}"
        build_site(db, settings, full, today=TODAY, full=True)
        assert_same(served, full, name)


def test_the_background_rebuild_waits_for_quiet_builds_once_and_leaves_a_locked_folder(
    db: Database, tmp_path: Path
) -> None:
    from sitegen.background import Rebuilder
    from sitegen.build import london_today
    from sitegen.swap import build_lock

    settings = get_settings(
        data_dir=tmp_path,
        site_url="https://directory.example/",
        public_url="https://petunia.example",
        site_rebuild_quiet_seconds=5,
        site_rebuild_max_wait_seconds=30,
    )
    rebuild(db, settings)
    rebuilder = Rebuilder(settings, db)
    rebuilder.built_on = london_today()
    assert not rebuilder.run_once()  # nothing queued
    with db.session() as s:
        s.scalars(select(Provider).where(Provider.key == "shelter")).one().name = "Paws Rescue"
    now = dt.datetime.now(dt.UTC)
    assert not rebuilder.run_once(now)  # changed just now: waits for quiet
    later = now + dt.timedelta(seconds=6)
    with build_lock(settings.resolved_site_dir):  # another process is building
        assert not rebuilder.run_once(later)
    with db.session() as s:
        assert publishing.pending(s) is not None  # still queued for whoever builds next
    assert rebuilder.run_once(later) and rebuilder.builds == 1
    assert (
        "Paws Rescue" in (settings.resolved_site_dir / "providers/shelter/index.html").read_text()
    )
    assert not rebuilder.run_once(later + dt.timedelta(seconds=10))  # built once
    # A new day: listings may have gone stale and next dates moved on.
    rebuilder.built_on = london_today() - dt.timedelta(days=1)
    assert rebuilder.run_once(later + dt.timedelta(seconds=20)) and rebuilder.builds == 2
