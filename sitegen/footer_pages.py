"""The pages every footer links to: privacy notice, accessibility statement and contact,
plus the settings the header and footer show (who runs the site, the registration form).

Each page has built-in text that names the deployer's organisation and contact details
(PETUNIA_SITE_OPERATOR, PETUNIA_SITE_CONTACT_EMAIL, PETUNIA_SITE_CONTACT_PHONE); a deployer
replaces a page's text entirely with ``privacy.md``, ``accessibility.md`` or ``contact.md`` in
PETUNIA_SITE_PAGES_DIR (Markdown written by the deployer, trusted like the templates).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sitegen.pages import Page, mail_url, tel_url

if TYPE_CHECKING:
    from sitegen.pages import SiteConfig

# When the built-in accessibility statement was written (the checks it describes are re-run
# by the project's tests on every release: tests/test_site_look_browser.py).
STATEMENT_PREPARED = "29 November 2026"

PAGES = (
    ("privacy/", "privacy", "Privacy notice", "How this directory uses information."),
    (
        "accessibility/",
        "accessibility",
        "Accessibility statement",
        "How accessible this directory is, and how to report a problem.",
    ),
    ("contact/", "contact", "Contact", "How to contact the people who run this directory."),
)


def register_url(config: SiteConfig) -> str:
    """The registration form, on the app's server."""
    return config.public_url.rstrip("/") + "/register"


def chrome_extra(config: SiteConfig) -> dict[str, str]:
    """What the theme's header and footer show besides the site name."""
    extra = {"register_url": register_url(config)}
    if config.operator:
        extra["operator"] = config.operator
    return extra


def _own_text(folder: Path | None, name: str) -> str | None:
    """The deployer's Markdown for a page, as HTML; None when there is none."""
    if folder is None:
        return None
    path = folder / f"{name}.md"
    if not path.is_file():
        return None
    import markdown

    return markdown.markdown(path.read_text(encoding="utf-8"), extensions=["extra"])


def footer_pages(config: SiteConfig) -> list[Page]:
    context: dict[str, Any] = {
        "operator": config.operator,
        "email": config.contact_email,
        "email_url": mail_url(config.contact_email),
        "phone": config.contact_phone,
        "phone_url": tel_url(config.contact_phone),
        "register_url": register_url(config),
        "prepared": STATEMENT_PREPARED,
    }
    pages = []
    for path, name, title, description in PAGES:
        own = _own_text(config.pages_dir, name)
        if own is not None:
            pages.append(Page(path, "own_page.html", title, description, {"html": own}))
        else:
            pages.append(Page(path, f"{name}.html", title, description, dict(context)))
    return pages
