"""How long a person takes to register on a phone: a scripted fill of /register in Chromium
at 375 x 740 px, against the target of under 3 minutes.

    python3 -m benchmarks.registration_fill [--code DIR ...]

Each ``--code`` is a checkout of Petunia to serve (default: this one), so the form before a
change can be measured beside the form after it. The script serves it on loopback over a
fresh SQLite copy of the test directory, finds the answers the form needs (it sends the form
empty, answers what the error summary asks for from a fixed set of realistic answers, and
repeats until the form goes through: follow-up questions appear as their answers call for
them), then fills exactly those answers from a fresh page, as a person would, and sends it,
through "check your answers" where the form has that step.

A person's time is modelled from what the pages show (no sleeping in the script):

- reading: READ_QUESTION s for each question visible on the form (a label or legend: people
  read every question to know whether it is for them) and READ_OPTION s for each choice;
- typing: the characters typed at TYPING_WPM words per minute (5 characters a word);
- TAP s for each tap (a choice, a field, a button) and SCROLL s for each phone screen;
- READ_ROW s for each answer on a "check your answers" page;

plus the machine time measured in Chromium (page loads and the server). Prints a table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from benchmarks.registrations import ROOT, _free_port, prepare

CHROMIUM = os.environ.get("PETUNIA_CHROMIUM", "/usr/bin/chromium")
WIDTH, HEIGHT = 375, 740
TYPING_WPM = 30  # on a phone keyboard
READ_QUESTION = 5.0  # seconds per question read (label, hint)
READ_OPTION = 1.0  # seconds per choice read
READ_ROW = 2.0  # seconds per answer checked on "check your answers"
TAP = 1.0  # seconds per tap
SCROLL = 1.0  # seconds per phone screen scrolled
TARGET = 180.0  # seconds

# Realistic answers for every question either form may ask for (text: typed; list: ticked).
ANSWERS: dict[str, str | list[str]] = {
    "organisation": "Anytown Cat and Dog Shelter",
    "title": "Dog walking",
    "description": "Walk one of our dogs around the fields with a volunteer. Wear boots.",
    "domains": ["PHYSICAL_ACTIVITY"],
    "where": ["VENUE"],
    "venue_name": "Cat and Dog Shelter",
    "postcode": "AT2 1AA",
    "when": ["TIMES"],
    "days": ["SA"],
    "starts": "10am",
    "email": "walks@shelter.example",
    "phone": "01632 960123",
}


@contextmanager
def serve(code: Path, url: str, data_dir: Path) -> Iterator[str]:
    """uvicorn serving the checkout ``code`` (its own packages first) on loopback."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "DATABASE_URL": url,
        "PETUNIA_DATA_DIR": str(data_dir),
        "PETUNIA_SECRET_KEY": "fill-benchmark-secret",
        "PETUNIA_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=code,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _submit(page: Page) -> None:
    page.locator("main form button[type=submit]:not([formaction])").last.click()
    page.wait_for_load_state()


def _fill(page: Page, name: str) -> tuple[int, int]:
    """Answer one question from ANSWERS: (characters typed, taps)."""
    value = ANSWERS[name]
    if isinstance(value, list):
        for item in value:
            page.locator(f'input[name="{name}"][value="{item}"]').check()
        return 0, len(value)
    page.locator(f'[name="{name}"]').first.fill(value)
    return len(value), 1


def needed(page: Page, base: str) -> list[str]:
    """The questions the form makes a person answer, in the order they are asked."""
    page.goto(f"{base}/register")
    order = page.locator("main form [name]").evaluate_all("els => els.map(e => e.name)")
    asked: list[str] = []
    for _ in range(6):
        _submit(page)
        links = page.locator(".error-summary a").evaluate_all(
            "links => links.map(a => a.getAttribute('href').replace('#f-', ''))"
        )
        new = [name for name in links if name in ANSWERS and name not in asked]
        if not links:
            break
        if not new:
            raise RuntimeError(f"the form asks for answers this script lacks: {links}")
        for name in new:
            _fill(page, name)
        asked += new
        if "organisation" in new:
            # Another name: the timed fill must not be taken for a duplicate of this one.
            page.locator('[name="organisation"]').fill("Form discovery group")
    return sorted(asked, key=order.index)


@dataclass
class Fill:
    questions_read: int
    options_read: int
    required: int
    typed: int
    taps: int
    screens: float
    check_rows: int
    machine: float

    @property
    def person(self) -> float:
        return (
            self.questions_read * READ_QUESTION
            + self.options_read * READ_OPTION
            + self.typed / (TYPING_WPM * 5 / 60)
            + self.taps * TAP
            + self.screens * SCROLL
            + self.check_rows * READ_ROW
        )


def fill(page: Page, base: str, names: list[str]) -> Fill:
    started = time.perf_counter()
    page.goto(f"{base}/register")
    page.wait_for_load_state()
    load = time.perf_counter() - started
    form = page.locator("main form")
    labels = form.locator(".choices__item label")
    questions = form.locator("legend, label:not(.choices__item label)")
    typed = taps = 0
    started = time.perf_counter()
    for name in names:
        t, n = _fill(page, name)
        typed, taps = typed + t, taps + n
    # Counted after the answers: follow-ups shown by them are read too (and hidden ones not).
    questions_read = sum(1 for q in questions.all() if q.is_visible()) - 1  # the honeypot
    options_read = sum(1 for o in labels.all() if o.is_visible())
    screens = page.evaluate("document.documentElement.scrollHeight") / HEIGHT
    _submit(page)
    taps += 1
    check_rows = 0
    if page.locator(".summary-list").count():
        check_rows = page.locator(".summary-list__row").count()
        page.get_by_role("button", name="Accept and send").click()
        page.wait_for_load_state()
        taps += 1
    assert page.get_by_role("heading", name="Check your email").count(), page.content()[:2000]
    machine = load + time.perf_counter() - started
    return Fill(questions_read, options_read, len(names), typed, taps, screens, check_rows, machine)


def measure(code: Path) -> Fill:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/fill.sqlite3"
        prepare(url)
        with serve(code, url, Path(tmp)) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            names = needed(context.new_page(), base)
            result = fill(context.new_page(), base, names)
            browser.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", action="append", type=Path, help="checkouts to measure")
    args = parser.parse_args()
    codes = args.code or [ROOT]
    print(
        f"Phone fill of /register in Chromium at {WIDTH}x{HEIGHT}: typing {TYPING_WPM} words a "
        f"minute, {READ_QUESTION:g} s a question, {READ_OPTION:g} s a choice, {TAP:g} s a tap, "
        f"{SCROLL:g} s a screen, {READ_ROW:g} s an answer checked; target under {TARGET:.0f} s\n"
    )
    header = (
        "| form | required answers | questions read | choices read | characters typed | taps "
        "| phone screens | answers checked | machine s | person s | total | target |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for code in codes:
        r = measure(code.resolve())
        total = r.person + r.machine
        print(
            f"| {code.resolve().name} | {r.required} | {r.questions_read} | {r.options_read} "
            f"| {r.typed} | {r.taps} | {r.screens:.1f} | {r.check_rows} | {r.machine:.1f} "
            f"| {r.person:.0f} "
            f"| {total // 60:.0f} min {total % 60:02.0f} s | "
            f"{'met' if total < TARGET else 'missed'} |"
        )


if __name__ == "__main__":
    main()
