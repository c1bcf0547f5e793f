"""The site's chrome, built by MkDocs with the material theme.

MkDocs renders every page through the whole theme (header, navigation, footer), which costs
milliseconds a page and grows with the navigation: thousands of listing pages would take
minutes. So MkDocs builds only "shells": one page per folder depth, each with markers where a
page's title, description, head and content go (theme/main.html). The generator then fills a
shell for each page (a string join), keeping the theme's markup, assets and relative links
exactly as MkDocs wrote them for that depth.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
THEME = HERE / "theme"
ASSETS = HERE / "assets"
MAX_DEPTH = 4
_MARKER = re.compile(r"@@PETUNIA:([A-Z]+)@@")
SHELL_DIR = "_shell"


@dataclass
class Shell:
    """A shell page split at its markers: literal text at even positions, marker names at
    odd ones."""

    parts: list[str]

    def fill(self, values: dict[str, str]) -> str:
        return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(self.parts))


@dataclass
class NavEntry:
    title: str
    path: str  # from the site root, e.g. "activities/physical-activity/"


def _shell_doc(depth: int) -> str:
    if depth == 0:
        return "index.md"
    return "/".join([SHELL_DIR] + ["x"] * (depth - 1) + ["index.md"])


def mkdocs_config(
    *,
    site_name: str,
    site_url: str,
    out: Path,
    docs: Path,
    nav: list[tuple[str, object]],
    extra: dict[str, str] | None = None,
) -> dict[str, object]:
    """MkDocs renders titles as given (no autoescape), so every name is escaped here."""

    def entry(title: str, value: object) -> dict[str, object]:
        if isinstance(value, list):
            return {html.escape(title): [entry(t, v) for t, v in value]}
        return {html.escape(title): value}

    return {
        "site_name": html.escape(site_name),
        "site_url": site_url,
        "docs_dir": str(docs),
        "site_dir": str(out),
        "use_directory_urls": True,
        "theme": {
            "name": "material",
            "custom_dir": str(THEME),
            "language": "en",
            # No web fonts: nothing is fetched from third parties, and pages show at once.
            "font": False,
            "features": ["navigation.sections"],
        },
        # Material's own search downloads one index of the whole site: the static index (or
        # Meilisearch) replaces it.
        "plugins": [],
        "extra_css": ["assets/petunia/site.css"],
        "extra_javascript": ["assets/petunia/site.js"],
        "nav": [entry(t, v) for t, v in nav],
        # The header's and footer's settings (sitegen/footer_pages.chrome_extra).
        "extra": {k: html.escape(v) for k, v in (extra or {}).items()},
        "validation": {"nav": {"not_found": "ignore", "omitted_files": "ignore"}},
    }


def build_shells(
    workdir: Path,
    out: Path,
    *,
    site_name: str,
    site_url: str,
    nav: list[tuple[str, object]],
    extra: dict[str, str] | None = None,
) -> dict[int, Shell]:
    """Run MkDocs into ``out`` (assets, 404 page, shells) and return the shells by depth;
    the shell pages themselves are removed from ``out``."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    docs = workdir / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    for depth in range(MAX_DEPTH + 1):
        path = docs / _shell_doc(depth)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "---\npetunia_shell: true\ntitle: '@@PETUNIA:HEADING@@'\n---\n\n@@PETUNIA:CONTENT@@\n"
        )
    shutil.copytree(ASSETS, docs / "assets" / "petunia")
    config_file = workdir / "mkdocs.yml"
    config_file.write_text(
        yaml.safe_dump(
            mkdocs_config(
                site_name=site_name, site_url=site_url, out=out, docs=docs, nav=nav, extra=extra
            ),
            sort_keys=False,
            allow_unicode=True,
        )
    )
    build(load_config(config_file=str(config_file), site_dir=str(out)))
    shells = {}
    for depth in range(MAX_DEPTH + 1):
        page = out / _shell_doc(depth).replace("index.md", "index.html")
        text = page.read_text(encoding="utf-8")
        shells[depth] = Shell(_MARKER.split(text))
    shutil.rmtree(out / SHELL_DIR)
    (out / "index.html").unlink()
    for name in ("sitemap.xml", "sitemap.xml.gz"):
        (out / name).unlink(missing_ok=True)
    return shells
