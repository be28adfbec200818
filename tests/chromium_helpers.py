"""Where the browser tests find Chromium, and how they start it (Playwright driving Debian's chromium)."""
from __future__ import annotations

import os
from pathlib import Path

# Debian's chromium (`make test` installs it when root on Debian); COURSE_CHROMIUM points elsewhere.
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))


def launch(playwright, *args: str):
    """A headless Chromium from a running ``sync_playwright()``; ``args`` are extra command-line switches."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", *args])
