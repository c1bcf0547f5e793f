"""`petunia build-site`: the public directory as static files.

Steps (each reports progress):

1. read the public directory (one statement per table, plain rows);
2. build the chrome with MkDocs (material theme) unless its inputs are unchanged;
3. write every page: a page whose data, templates and chrome are unchanged since the last
   build is hard-linked from it instead of rendered again (``.petunia/manifest.json`` keeps
   each page's hash), so a rebuild after one change renders a handful of pages;
4. data files (postcodes, sitemap), the Open Referral UK export;
5. the search index (sitegen/search_index.py, made whole so it is always complete; with a
   memo, a file whose content is unchanged is linked from the served site);
6. Meilisearch, when configured (only changed documents are sent);
7. swap the new site in (sitegen/swap.py): a failed or interrupted build changes nothing.

A long-lived caller (the background rebuild) passes a ``BuildMemo`` (sitegen/memo.py): each
listing's summary, filters, search record, What's on entries and Open Referral UK list items
are then made again only when its rows changed, and only the files this build wrote are
compressed.

A listing that cannot be published does not stop the build (sitegen/isolate.py): it is left
out, reported in ``BuildReport.left_out`` by its key and the reason, and the rest is built.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from api.config import Settings
from api.db import Database
from api.directory.public import FreshnessPolicy, read_public_directory
from sitegen import data_files, ics, isolate, maps
from sitegen.footer_pages import chrome_extra
from sitegen.memo import BuildMemo
from sitegen.pages import Page, SiteConfig, SiteModel
from sitegen.precompress import compress, precompress_site, with_copies
from sitegen.render import Renderer, page_key, templates_fingerprint
from sitegen.search_index import write_search_index
from sitegen.shell import Shell, build_shells
from sitegen.swap import build_lock, recover, remove_later, staging_dir, swap_in

MANIFEST = ".petunia/manifest.json"
MANIFEST_VERSION = 1

Progress = Callable[[str, int, int], None]


class BuildError(RuntimeError):
    pass


@dataclass
class BuildReport:
    pages: int = 0
    rendered: int = 0
    reused: int = 0
    chrome_rebuilt: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    meili_documents: int | None = None
    # Listings not published (each with its key and the reason): a partial publish.
    left_out: list[isolate.LeftOut] = field(default_factory=list)
    # Removes the previous copy of the site in the background (see swap.remove_later).
    cleanup: threading.Thread | None = None

    def summary(self) -> str:
        timing = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        text = (
            f"Built {self.pages} pages ({self.rendered} rendered, {self.reused} unchanged); "
            f"{timing}"
        )
        if self.left_out:
            count = len(self.left_out)
            text += f"; {count} listing{'s' if count > 1 else ''} left out (see above)"
        return text


def london_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/London")).date()


def _quiet(_stage: str, _done: int, _total: int) -> None:
    pass


def _nav(model: SiteModel) -> list[tuple[str, object]]:
    from api.directory.enums import Domain

    d = model.d
    return [
        ("Home", "index.md"),
        ("Search", "search/"),
        ("What's on", "whats-on/"),
        ("Types of activity", [(model.domain_label(x), model.domain_path(x)) for x in Domain]),
        ("Areas", [(loc.name, model.locality_path[loc.id]) for loc in d.localities.values()]),
        ("Your shortlist", "shortlist/"),
        ("Open data", "open-data/"),
    ]


def _read_manifest(out: Path) -> dict:
    try:
        data = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if data.get("version") == MANIFEST_VERSION else {}


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


Extra = Callable[[], bytes]
Job = tuple[str, Callable[[], Page], dict[str, Extra]]
_JOBS: tuple[list[Job], Renderer, Path] | None = None  # for forked render workers
# Attempts of one build: each failed attempt leaves out the listings that caused it.
ATTEMPTS = 3
PARALLEL_FROM = 2000  # pages to render before it is worth starting worker processes
FORK_LINKS_FROM = 1000  # files to link before it is worth a process of its own


def _render_jobs(span: tuple[int, int]) -> int:
    assert _JOBS is not None
    jobs, renderer, new = _JOBS
    for path, make, extra in jobs[span[0] : span[1]]:
        _write(new / path / "index.html", renderer.render(make()))
        compress(new / path / "index.html")  # here, in the render workers: in parallel
        for name, content in extra.items():
            _write(new / path / name, content())
    return span[1] - span[0]


def _render_all(
    jobs: list[Job], renderer: Renderer, new: Path, progress: Callable[[int], None]
) -> None:
    """Render and write pages; many of them on every core (forked workers share the data
    already read, so nothing is sent to them but ranges of the job list)."""
    global _JOBS
    _JOBS = (jobs, renderer, new)
    step = 500
    spans = [(i, min(i + step, len(jobs))) for i in range(0, len(jobs), step)]
    workers = min(os.cpu_count() or 1, 4)
    done = 0
    try:
        if len(jobs) < PARALLEL_FROM or workers < 2 or not hasattr(os, "fork"):
            for span in spans:
                done += _render_jobs(span)
                progress(done)
            return
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for count in pool.imap_unordered(_render_jobs, spans):
                done += count
                progress(done)
    finally:
        _JOBS = None


_LINKS: list[tuple[str, str]] = []  # for the forked linking process


def _link_pairs(pairs: list[tuple[str, str]]) -> None:
    made: set[str] = set()
    for src, dst in pairs:
        folder = os.path.dirname(dst)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def _link_forked() -> None:
    _link_pairs(_LINKS)


class _Linker:
    """Hard-links many files in the background (see the caller): in a forked process where
    possible, so it runs beside the Python work of the build instead of taking turns with
    it; else in a thread."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        global _LINKS
        self.process = None
        self.future: Future[None] | None = None
        if hasattr(os, "fork") and len(pairs) >= FORK_LINKS_FROM:
            import multiprocessing

            _LINKS = pairs
            self.process = multiprocessing.get_context("fork").Process(target=_link_forked)
            self.process.start()
            _LINKS = []
        else:
            pool = ThreadPoolExecutor(max_workers=1)
            self.future = pool.submit(_link_pairs, pairs)
            pool.shutdown(wait=False)

    def wait(self) -> None:
        """Wait until done; raises if linking failed."""
        if self.process is not None:
            self.process.join()
            if self.process.exitcode != 0:
                raise BuildError(f"linking unchanged files failed (exit {self.process.exitcode})")
        elif self.future is not None:
            self.future.result()


class _Compressor:
    """Compresses some files of the site being built in a thread (see the caller); waited
    for like a _Linker."""

    def __init__(self, site: Path, previous: Path | None, names: list[str]) -> None:
        pool = ThreadPoolExecutor(max_workers=1)
        self.future = pool.submit(precompress_site, site, previous, names)
        pool.shutdown(wait=False)

    def wait(self) -> None:
        self.future.result()


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)


def build_search_index(
    model: SiteModel,
    site: Path,
    *,
    previous: Path | None = None,
    last: dict[str, object] | None = None,
    contents: dict[str, object] | None = None,
) -> list[str]:
    """The static search index (sitegen/search_index.py), made whole so it is always
    complete; a file whose content is the one ``last`` says ``previous`` (the served site)
    has is linked from there with its compressed copies instead of written. Returns the
    files written (site paths), which still need compressing."""
    folder = site / "search-index"
    written: list[str] = []

    def reuse(name: str, data: object) -> bool:
        if previous is None or not last or last.get(name) != data:
            written.append(f"search-index/{name}")
            return False
        try:
            for each in with_copies([name]):
                old = previous / "search-index" / each
                if not old.exists() and each != name:
                    continue  # too small to have copies
                _link_or_copy(old, folder / each)
        except OSError:
            written.append(f"search-index/{name}")
            return False
        return True

    write_search_index(model, folder, reuse=reuse, contents=contents)
    return written


def build_site(
    db: Database,
    settings: Settings,
    out: Path,
    *,
    today: dt.date | None = None,
    progress: Progress = _quiet,
    full: bool = False,
    memo: BuildMemo | None = None,
) -> BuildReport:
    """Build the site into ``out`` (atomically). ``full`` ignores the previous build (and
    any ``memo``); ``memo``: what a long-lived caller keeps between builds (sitegen/memo.py)."""
    if full:
        memo = None
    out = out.resolve()
    left_out: list[isolate.LeftOut] = []
    with build_lock(out):
        recover(out)
        for attempt in range(1, ATTEMPTS + 1):
            report = BuildReport()
            new = staging_dir(out)
            new.mkdir(parents=True)
            state: dict[str, object] = {}
            try:
                _build(
                    db,
                    settings,
                    out,
                    new,
                    today or london_today(),
                    progress,
                    full,
                    report,
                    left_out=left_out,
                    state=state,
                    memo=memo,
                )
                progress("Publishing", 0, 1)
                previous = swap_in(new, out)
                if memo is not None and memo.pending is not None:
                    memo.build_id, memo.files = memo.pending
                memo_pending_clear(memo)
                progress("Publishing", 1, 1)
                break
            except Exception as exc:
                memo_pending_clear(memo)
                if memo is not None:
                    memo.build_id = None  # look at the served files again next time
                shutil.rmtree(new, ignore_errors=True)
                culprits = _culprits(state, settings, exc)
                if not culprits or attempt == ATTEMPTS:
                    raise
                left_out += culprits
            except BaseException:
                shutil.rmtree(new, ignore_errors=True)
                raise
    report.cleanup = remove_later(previous)
    return report


def memo_pending_clear(memo: BuildMemo | None) -> None:
    if memo is not None:
        memo.pending = None


def rebuild(
    db: Database,
    settings: Settings,
    *,
    today: dt.date | None = None,
    progress: Progress = _quiet,
    full: bool = False,
    memo: BuildMemo | None = None,
) -> BuildReport:
    """The one entry point that publishes the directory's changes (`petunia up` at start, the
    background rebuild, `petunia build-site` into the served folder): builds the site folder
    of ``settings`` incrementally, then forgets the queued changes it now shows
    (api/directory/publishing.py). Changes made while it builds stay queued for the next."""
    from api.directory import publishing

    with db.session() as session:
        up_to = publishing.last_change_id(session)
    report = build_site(
        db,
        settings,
        settings.resolved_site_dir,
        today=today,
        progress=progress,
        full=full,
        memo=memo,
    )
    with db.session() as session:
        publishing.built(session, up_to)
    return report


def _culprits(
    state: dict[str, object], settings: Settings, exc: Exception
) -> list[isolate.LeftOut]:
    """The listings that make a failed attempt fail, found by rendering each on its own;
    none when the failure is not one listing's (the build's own, the file system's, or
    before there were pages)."""
    if isinstance(exc, BuildError | OSError) or "renderer" not in state:
        return []
    from api.oruk.mapping import OrukMapper

    model = state["model"]
    mapper = OrukMapper(model.d, settings.public_url, settings.resolved_site_url)  # type: ignore[attr-defined]
    return isolate.probe(model, state["renderer"], mapper)  # type: ignore[arg-type]


def _build(
    db: Database,
    settings: Settings,
    out: Path,
    new: Path,
    today: dt.date,
    progress: Progress,
    full: bool,
    report: BuildReport,
    *,
    left_out: list[isolate.LeftOut],
    state: dict[str, object],
    memo: BuildMemo | None = None,
) -> None:
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = report.seconds.get(name, 0.0) + now - clock
        clock = now

    progress("Reading the directory", 0, 1)
    policy = FreshnessPolicy.of(settings)
    config = SiteConfig(
        site_name=settings.site_name,
        site_url=settings.resolved_site_url,
        public_url=settings.public_url,
        today=today,
        meili=_meili_browser_config(settings),
        map=_map_config(settings),
        operator=settings.site_operator,
        contact_email=settings.site_contact_email,
        contact_phone=settings.site_contact_phone,
        pages_dir=settings.site_pages_dir,
    )
    with db.session() as session:
        directory = read_public_directory(session, today=today, policy=policy, rows=True)
        report.left_out = [*left_out, *isolate.screen(directory)]
        isolate.leave_out(directory, report.left_out)
        model = SiteModel(directory, config)
        postcodes = data_files.postcode_files(session, model)
    progress("Reading the directory", 1, 1)
    lap("read")

    old = {} if full else _read_manifest(out)
    fingerprint = templates_fingerprint()
    nav = _nav(model)
    chrome_key = hashlib.sha256(
        json.dumps(
            [fingerprint, nav, config.site_name, config.site_url, chrome_extra(config)]
        ).encode()
    ).hexdigest()[:32]
    progress("Building the theme (MkDocs)", 0, 1)
    if old.get("chrome") == chrome_key and all((out / f).exists() for f in old["chrome_files"]):
        shells = {int(k): Shell(v) for k, v in old["shells"].items()}
        chrome_files = old["chrome_files"]
        for name in chrome_files:
            _link_or_copy(out / name, new / name)
    else:
        report.chrome_rebuilt = True
        with tempfile.TemporaryDirectory(prefix="petunia-mkdocs-") as work:
            chrome_out = Path(work) / "site"
            shells = build_shells(
                Path(work),
                chrome_out,
                site_name=config.site_name,
                site_url=config.site_url,
                nav=nav,
                extra=chrome_extra(config),
            )
            chrome_files = sorted(
                p.relative_to(chrome_out).as_posix() for p in chrome_out.rglob("*") if p.is_file()
            )
            for name in chrome_files:
                _link_or_copy(chrome_out / name, new / name)
    _check_shells(shells)
    progress("Building the theme (MkDocs)", 1, 1)
    lap("theme")

    # What each listing's pages and records are made of (a hash of its rows): pages, open
    # data and search records of a listing whose signature is unchanged are reused.
    common = model.common_signature() + fingerprint
    signatures = {s.id: model.session_signature(s, common) for s in directory.sessions.values()}
    provider_signatures = {
        p.id: model.provider_signature(
            p, [signatures[i] for i in directory.sessions_of.get(p.id, [])], common
        )
        for p in directory.providers.values()
    }
    model.remember(memo, signatures, provider_signatures)
    pages = model.pages()
    renderer = Renderer(shells, config)
    state.update(model=model, renderer=renderer)
    old_pages: dict[str, str] = {} if old.get("chrome") != chrome_key else old.get("pages", {})
    # The served site is the one this process built last (the memo saw it go live): its
    # manifest's files are there, no need to look (a failed build clears this, see
    # build_site). Saves 66,000 file look-ups at 20,000 sessions.
    trusted = (
        memo is not None and memo.build_id is not None and memo.build_id == old.get("build_id")
    )
    keys: dict[str, str] = {}
    links: list[tuple[str, str]] = []  # unchanged files, linked together at the end
    sessions = list(directory.sessions.values())
    providers = list(directory.providers.values())
    total = len(pages) + len(sessions) + len(providers)
    report.pages = total
    todo: list[Job] = []
    out_dir, new_dir = str(out), str(new)

    def plan(path: str, key: str, make: Callable[[], Page], extra: dict[str, Extra]) -> None:
        """Link a page (and its extra files) from the last build when its key is the same;
        otherwise queue it to be rendered."""
        keys[path] = key
        # Plain strings and os.path here: this runs for every page of the site.
        names = with_copies(["index.html", *extra])
        previous = [f"{out_dir}/{path}{name}" for name in names]
        if old_pages.get(path) == key and (trusted or all(map(os.path.exists, previous))):
            for src, name in zip(previous, names, strict=True):
                links.append((src, f"{new_dir}/{path}{name}"))
            report.reused += 1
        else:
            todo.append((path, make, extra))

    for page in pages:
        plan(page.path, page_key(page, fingerprint), lambda page=page: page, {})
    # Organisations' and sessions' own pages: keyed by their rows, so an unchanged listing
    # costs a hash, not its page data.
    for session in sessions:
        plan(
            model.session_path[session.id],
            "s:" + signatures[session.id],
            lambda session=session: model.session_page(session),
            {model.ics_name(session): lambda session=session: ics.session_calendar(model, session)},
        )
    for provider in providers:
        signature = provider_signatures[provider.id]
        plan(
            model.provider_path[provider.id],
            "p:" + signature,
            lambda provider=provider: model.provider_page(provider),
            {},
        )
    report.rendered = len(todo)
    _render_all(todo, renderer, new, lambda n: progress("Writing pages", n + report.reused, total))
    progress("Writing pages", total, total)
    # Unchanged files are linked in the background while the data files and the search
    # index are made (links wait on the file system, those on the CPU).
    linkers = [_Linker(links)]
    oruk_links: list[tuple[str, str]] = []
    written: list[str] = []  # files (site paths) not yet compressed
    build_id = uuid.uuid4().hex
    lap("pages")
    try:
        progress("Writing data files", 0, 1)
        extra = {}
        extra.update(postcodes)
        extra["sitemap.xml"] = data_files.sitemap(config.site_url, list(keys))
        extra["robots.txt"] = data_files.robots(config.site_url)
        extra["_headers"] = data_files.security_headers(
            shells.values(), new, chrome_files, settings.meili_url, _tiles_origin(settings)
        )
        for name, content in extra.items():
            _write(new / name, content)
        written += [*chrome_files, *extra]
        _export_open_data(
            directory,
            settings,
            new / "open-data" / "oruk",
            signatures=signatures,
            previous_folder=out / "open-data" / "oruk",
            previous=old.get("oruk", {}) if old.get("chrome") == chrome_key else {},
            defer_links=oruk_links,
            memo=memo,
            provider_signatures=provider_signatures,
        )
        oruk_lists = [
            f"open-data/oruk/{entry.name}"
            for entry in os.scandir(new / "open-data" / "oruk")
            if entry.is_file()
        ]
        linkers.append(_Linker(oruk_links))
        if memo is not None:
            # The open data's lists (35 MB at 20,000 sessions) are compressed in a thread
            # while the search index is made: zlib and brotli let go of the GIL.
            linkers.append(_Compressor(new, out if out.exists() else None, oruk_lists))
        else:
            written += oruk_lists
        progress("Writing data files", 1, 1)
        lap("data")

        progress("Building the search index", 0, 1)
        last_files = memo.files if trusted and memo is not None else {}
        search_files: dict[str, object] = {}
        written += build_search_index(
            model,
            new,
            previous=out if memo is not None and out.exists() else None,
            last=last_files,
            contents=search_files,
        )
        progress("Building the search index", 1, 1)
        lap("search index")

        if settings.meili_url:
            progress("Indexing in Meilisearch", 0, 1)
            with _meili_errors():
                from sitegen import meili

                report.meili_documents = meili.index_directory(
                    settings, model, old.get("meili", {})
                )
            progress("Indexing in Meilisearch", 1, 1)
            lap("meilisearch")

    except BaseException:
        for linker in linkers:
            with contextlib.suppress(BaseException):
                linker.wait()  # never leave links being made into a folder being removed
        raise
    for linker in linkers:
        linker.wait()
    lap("linking")

    progress("Compressing", 0, 1)
    # With a memo, the files this build wrote are known (pages were compressed as they were
    # rendered, unchanged files linked with their copies); without, every file is looked at.
    precompress_site(
        new, previous=out if out.exists() else None, only=written if memo is not None else None
    )
    progress("Compressing", 1, 1)
    lap("compress")

    manifest = {
        "version": MANIFEST_VERSION,
        "build_id": build_id,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "chrome": chrome_key,
        "chrome_files": chrome_files,
        "shells": {str(k): v.parts for k, v in shells.items()},
        "pages": keys,
        "oruk": {str(k): v for k, v in signatures.items()},
    }
    if settings.meili_url:
        from sitegen import meili

        manifest["meili"] = meili.last_hashes(model)
    _write(new / MANIFEST, json.dumps(manifest))
    if memo is not None:
        # What this build's files hold, for the next build (valid once this one is live).
        memo.pending = (build_id, search_files)
        memo.forget_unused()


def _check_shells(shells: dict[int, Shell]) -> None:
    """The theme must only link relative to the site root: a link into the shells' own
    folder would break on every page (a theme change can cause it)."""
    for depth, shell in shells.items():
        if any("_shell" in part for part in shell.parts[::2]):
            raise BuildError(f"the theme's page at depth {depth} links to its own folder")


@contextlib.contextmanager
def _meili_errors() -> Iterator[None]:
    import meilisearch.errors

    from sitegen.meili import MeiliError

    try:
        yield
    except (MeiliError, meilisearch.errors.MeilisearchError) as exc:
        raise BuildError(f"Meilisearch at the configured MEILI_URL: {exc}") from exc


def _map_config(settings: Settings) -> dict[str, str] | None:
    """The tile server for maps (sitegen/maps.py), or None: no maps, nothing fetched."""
    if not settings.map_tiles:
        return None
    try:
        tiles = maps.check_template(settings.map_tiles)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    return {"tiles": tiles, "attribution": settings.map_attribution}


def _tiles_origin(settings: Settings) -> str | None:
    return maps.tiles_origin(settings.map_tiles) if settings.map_tiles else None


def _meili_browser_config(settings: Settings) -> dict[str, str] | None:
    if not settings.meili_url:
        return None
    from sitegen import meili

    with _meili_errors():
        return meili.browser_config(settings)


def _export_open_data(directory: object, settings: Settings, folder: Path, **reuse: object) -> int:
    from api.oruk.export import write_export

    return write_export(directory, settings, folder, **reuse)  # type: ignore[arg-type]
