"""Reading another directory's Open Referral UK feed: its read API (paged) or an export
folder, in the shapes implementations publish.

- Pages: HSDS 3.0's envelope (``contents``, ``total_pages``), the ORUK 1.0 / Spring style
  (``content``, ``totalPages``, ``last``), or a bare JSON array.
- Services: each list item is read back whole from ``/services/{id}`` (an API) or
  ``services/<id>.json`` (a folder, as ``petunia export oruk`` writes it); a folder without
  those files, or a list of whole services, is used as it is.

Everything read is untrusted data: this module only fetches and parses; api/oruk/importing.py
checks and maps it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

MAX_PAGES = 10_000
PER_PAGE = 100
TIMEOUT_S = 30.0


class FeedError(Exception):
    """The feed cannot be read at all (unreachable, not JSON, not a list of services)."""


@dataclass(frozen=True)
class FeedService:
    where: str  # for messages: the URL or file it came from
    data: dict[str, Any]


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def source_name(source: str) -> str:
    """How the feed is remembered between runs: the API's address without a trailing slash,
    or the folder's absolute path."""
    return source.rstrip("/") if is_url(source) else str(Path(source).resolve())


def _items(page: Any, where: str) -> list[Any]:
    if isinstance(page, list):
        return page
    if isinstance(page, dict):
        for name in ("contents", "content", "items", "data"):
            if isinstance(page.get(name), list):
                return page[name]
    raise FeedError(f"{where}: not a page of services (no 'contents' list)")


def _last_page(page: Any, number: int, items: list[Any]) -> bool:
    if not items or not isinstance(page, dict):
        return True
    for name in ("total_pages", "totalPages"):
        if isinstance(page.get(name), int):
            return number >= page[name]
    for name in ("last_page", "last"):
        if isinstance(page.get(name), bool):
            return page[name]
    return False


def _api(
    base: str, client: httpx.Client, on_progress: Callable[[int, int | None], None] | None
) -> Iterator[FeedService]:
    def get(url: str, **params: object) -> Any:
        try:
            response = client.get(url, params=params, timeout=TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise FeedError(f"{url}: cannot be reached ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise FeedError(f"{response.url}: answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise FeedError(f"{response.url}: the answer is not JSON") from None

    done = 0
    for number in range(1, MAX_PAGES + 1):
        page = get(f"{base}/services", page=number, per_page=PER_PAGE)
        items = _items(page, f"{base}/services?page={number}")
        total = (
            page.get("total_items") or page.get("totalElements") if isinstance(page, dict) else None
        )
        for item in items:
            if not isinstance(item, dict) or not item.get("id"):
                raise FeedError(f"{base}/services?page={number}: an item has no id")
            url = f"{base}/services/{item['id']}"
            whole = get(url)
            if not isinstance(whole, dict):
                raise FeedError(f"{url}: not a service")
            done += 1
            if on_progress:
                on_progress(done, total if isinstance(total, int) else None)
            yield FeedService(url, whole)
        if _last_page(page, number, items):
            return
    raise FeedError(f"{base}/services: more than {MAX_PAGES} pages")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from None


def _folder(
    folder: Path, on_progress: Callable[[int, int | None], None] | None
) -> Iterator[FeedService]:
    listing = folder / "services.json"
    whole_dir = folder / "services"
    if listing.exists():
        items = _items(_read_json(listing), str(listing))
    elif whole_dir.is_dir():
        items = [{"id": path.stem} for path in sorted(whole_dir.glob("*.json"))]
    else:
        raise FeedError(f"{folder}: has neither services.json nor a services/ folder")
    for done, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not item.get("id"):
            raise FeedError(f"{listing}: item {done} has no id")
        path = whole_dir / f"{item['id']}.json"
        if path.exists():
            data, where = _read_json(path), str(path)
        else:
            data, where = item, f"{listing} item {done}"
        if not isinstance(data, dict):
            raise FeedError(f"{where}: not a service")
        if on_progress:
            on_progress(done, len(items))
        yield FeedService(where, data)


def read_feed(
    source: str,
    *,
    client: httpx.Client | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> list[FeedService]:
    """Every service of the feed, whole. Raises FeedError when the feed cannot be read."""
    if is_url(source):
        own = client is None
        client = client or httpx.Client(
            follow_redirects=True, headers={"Accept": "application/json"}
        )
        try:
            return list(_api(source.rstrip("/"), client, on_progress))
        finally:
            if own:
                client.close()
    folder = Path(source)
    if not folder.is_dir():
        raise FeedError(f"{source}: is neither an http(s) address nor a folder")
    return list(_folder(folder, on_progress))
