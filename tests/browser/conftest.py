"""Real JupyterLab and real Chromium (driven by Playwright) for what a person sees.

Chromium is Debian's package (`make test` installs it); Playwright drives it by `executable_path`, since its own
browser download cannot work on these machines. Without Chromium the suite fails, saying how to install it.
Each test's final screen is saved under test-output/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_lab import CHROMIUM_FLAGS, ChromiumMissing, Lab, chromium_path, screenshot, serve
from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture(scope="session")
def lab(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with serve("lab", server, tmp_path_factory.mktemp("lab")) as running:
        yield running


@pytest.fixture(scope="session")
def notebook7(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with serve("notebook", server, tmp_path_factory.mktemp("notebook")) as running:
        yield running


# Notebook 7.6 raises this while loading any notebook, with or without widgets (checked on a bare notebook).
_FRONT_END_OWN_ERRORS = {"Cannot read properties of undefined (reading 'schema')"}


def _note_error(errors: list[str], message: str) -> None:
    if message not in _FRONT_END_OWN_ERRORS:
        errors.append(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running while it is open: close it with the module, so that
    # later tests can run their own asyncio loops.
    with sync_playwright() as playwright:
        try:
            executable = chromium_path()
        except ChromiumMissing as missing:
            pytest.fail(str(missing), pytrace=False)
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a browser context of its own. `@pytest.mark.parametrize("page", [pytest.param("Asia/Tokyo",
    id="tokyo")], indirect=True)` sets its time zone (the id keeps the screenshot's name a plain file name)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=getattr(request, "param", None))
    opened = context.new_page()
    errors: list[str] = []
    context.on("weberror", lambda error: _note_error(errors, str(error.error)))
    yield opened
    for number, each in enumerate(context.pages):
        screenshot(each, request.node.name + (f"-{number}" if number else ""))
    context.close()
    assert not errors, f"errors in the page: {errors}"
