"""Rendering pages: our Jinja templates (autoescaped) inside the MkDocs shells."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sitegen.jsonld import script_json
from sitegen.pages import Page, SiteConfig
from sitegen.shell import Shell

TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def templates_fingerprint() -> str:
    """Changes whenever a template, the theme or an asset changes: pages then re-render."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for folder in ("templates", "theme", "assets"):
        for path in sorted((here / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(here).as_posix().encode())
                digest.update(path.read_bytes())
    for module in (
        "pages.py",
        "render.py",
        "jsonld.py",
        "shell.py",
        "ics.py",
        "data_files.py",
        "search_index.py",
        "whats_on.py",
        "footer_pages.py",
    ):
        digest.update((here / module).read_bytes())
    return digest.hexdigest()


class Renderer:
    def __init__(self, shells: dict[int, Shell], config: SiteConfig) -> None:
        self.shells = shells
        self.config = config
        self.env = environment()

    def render(self, page: Page) -> str:
        root = "../" * page.depth
        content = self.env.get_template(page.template).render(
            page.context,
            root=root,
            title=page.title,
            site_name=self.config.site_name,
            site_url=self.config.site_url,
        )
        content = _crumbs(page, root) + content
        head = [f'<link rel="canonical" href="{html.escape(self.config.site_url + page.path)}">']
        for data in page.jsonld:
            head.append(f'<script type="application/ld+json">{script_json(data)}</script>')
        is_home = page.path == ""
        full_title = page.title if is_home else f"{page.title} - {self.config.site_name}"
        return self.shells[page.depth].fill(
            {
                "TITLE": html.escape(full_title),
                "HEADING": html.escape(page.title),
                "DESCRIPTION": html.escape(page.description),
                "HEAD": Markup("\n".join(head)),
                "CONTENT": content,
            }
        )


def _crumbs(page: Page, root: str) -> str:
    """GOV.UK breadcrumbs: where the page sits, home first (none on the home page)."""
    crumbs = page.crumbs if page.crumbs is not None else [("Home", "")]
    if not crumbs or page.path == "":
        return ""
    items = "".join(
        f'<li><a href="{html.escape(root + path or "./")}">{html.escape(title)}</a></li>'
        for title, path in crumbs
    )
    return f'<nav class="pt-crumbs" aria-label="Breadcrumb"><ol>{items}</ol></nav>\n'


def page_key(page: Page, fingerprint: str) -> str:
    """A hash of everything a page's HTML depends on."""
    import json

    data: dict[str, Any] = {
        "t": page.template,
        "title": page.title,
        "d": page.description,
        "c": page.context,
        "j": page.jsonld,
        "b": page.crumbs,
        "f": fingerprint,
    }
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str, separators=(",", ":")).encode()
    ).hexdigest()[:32]
