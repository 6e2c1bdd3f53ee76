"""Headless Chromium for the page tests: Debian's /usr/bin/chromium driven by playwright, with
every request that is not file:// blocked and recorded, and console errors collected."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright (python) is not installed: pip install playwright")


@contextlib.contextmanager
def offline_context(width: int = 1360, height: int = 1000) -> Iterator[tuple]:
    """(browser context, console errors, blocked requests); pages opened in it are watched."""
    require_browser()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            def watch(page):
                page.on("console",
                        lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))

            context.route("**/*", route)
            context.on("page", watch)
            yield context, errors, blocked
        finally:
            browser.close()


def set_range(page, selector: str, value: float) -> None:
    """Move a page's range input and wait until the page has redrawn (``data-updates``)."""
    before = page.evaluate("() => Number(document.body.dataset.updates || 0)")
    page.evaluate("""([sel, v]) => {
      const el = document.querySelector(sel);
      el.value = String(v);
      el.dispatchEvent(new Event("input", {bubbles: true}));
    }""", [selector, value])
    page.wait_for_function(f"Number(document.body.dataset.updates || 0) > {before}",
                           timeout=10_000)
