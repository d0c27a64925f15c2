"""Hypothesis profiles: "dev" (the default, quick), "ci" (more examples, no deadline).

The profile is "ci" when the CI environment variable is set, else "dev"; HYPOTHESIS_PROFILE
names one explicitly, e.g. `HYPOTHESIS_PROFILE=thorough python -m pytest tests` to hunt for bugs.

The `chromium` fixture opens pages in a real browser.
"""

import os
import shutil

import pytest
from hypothesis import settings

# A generous deadline only catches an example that hangs; CI machines are too noisy for one.
settings.register_profile("dev", max_examples=40, deadline=2000)
settings.register_profile("ci", max_examples=150, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=3000, deadline=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, driven by Playwright; never a browser download.

    Module-scoped: Playwright's synchronous API keeps an event loop running on this thread while
    the browser is open, which would stop other tests from running their own with asyncio.run.
    """
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium found: apt-get install chromium")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason='Playwright is missing: pip install "chainrule[browser]"'
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
