"""Debian's Chromium driven by Playwright against the web app running as a real uvicorn process."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.async_api import async_playwright

from infra.settings import PROJECT_ROOT

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_SCRIPT = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Debian's chromium is missing: apt-get install chromium (./portal test installs it)")
    return path


@pytest.fixture(scope="session")
async def browser():
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def axe_violations(page) -> list[dict]:
    """WCAG 2.1 A and AA rules from axe-core (npm), run inside the page."""
    await page.add_script_tag(path=str(AXE_SCRIPT))
    result = await page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
