"""PNG screenshots of a run's map.html and report.html, for reviewers.

Usage::

    python scripts/screenshots.py RUN_DIR [RUN_DIR ...] --out shots/

RUN_DIR is the output folder of ``trapscape run``/``trapscape demo`` (internal
or ``--public``).  Each folder is served from 127.0.0.1 and opened in headless
Chromium (Debian's ``/usr/bin/chromium``, installed by ``make system-deps``,
or Playwright's own browser) with every request to another host blocked, as
an analyst without internet would see it.  Written per run folder ``NAME``:

* ``NAME-map.png`` -- the map at 1400x900 with its default layers;
* ``NAME-map-all-layers.png`` -- the same with every layer switched on;
* ``NAME-map-popup.png`` -- the popup of a proposed station (if any);
* ``NAME-report.png`` -- the whole report page (full height);
* ``NAME-report.pdf`` -- the report printed to A4 PDF.

``make screenshots`` runs the demo (internal, public, and ``--lang ru`` /
``--lang zh`` into ``demo-output-ru`` / ``demo-output-zh``) and calls this,
so every language gets its own ``NAME-*`` screenshots.
Browser console errors are printed; the exit status is 1 if there were any.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 900}


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _page(browser: Any, base: str, errors: list[str]) -> Any:
    """A page that logs console errors and blocks every non-local request."""
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on(
        "console",
        lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
    )

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(base) or url.startswith("data:"):
            r.continue_()
        else:
            errors.append(f"blocked remote request: {url}")
            r.abort()

    page.route("**/*", route)
    return page


def shoot_map(browser: Any, base: str, out: Path, name: str) -> list[str]:
    """Screenshots of map.html: default layers, all layers, a popup."""
    errors: list[str] = []
    page = _page(browser, base, errors)
    page.goto(f"{base}/map.html", wait_until="load")
    page.wait_for_selector(".leaflet-container", timeout=15000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(out / f"{name}-map.png"))
    # open the layer control and switch every overlay on
    page.locator(".leaflet-control-layers").hover()  # expands the collapsed control
    boxes = page.locator(".leaflet-control-layers-overlays input")
    for i in range(boxes.count()):
        if not boxes.nth(i).is_checked():
            boxes.nth(i).check()
    page.mouse.move(VIEWPORT["width"] // 2, VIEWPORT["height"] // 2)
    page.wait_for_timeout(500)
    page.screenshot(path=str(out / f"{name}-map-all-layers.png"))
    proposed = page.locator(".ts-proposed")
    if proposed.count():
        proposed.first.click(force=True)
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / f"{name}-map-popup.png"))
    page.close()
    return errors


def shoot_report(browser: Any, base: str, out: Path, name: str) -> list[str]:
    """The whole report page as PNG and printed to an A4 PDF."""
    errors: list[str] = []
    page = _page(browser, base, errors)
    page.goto(f"{base}/report.html", wait_until="load")
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / f"{name}-report.png"), full_page=True)
    page.emulate_media(media="print")
    (out / f"{name}-report.pdf").write_bytes(
        page.pdf(format="A4", print_background=True)
    )
    page.close()
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="output folders of a run")
    ap.add_argument("--out", type=Path, default=Path("screenshots"))
    ns = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    ns.out.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        kw: dict[str, Any] = {"args": ARGS, "headless": True}
        if CHROMIUM.exists():
            kw["executable_path"] = str(CHROMIUM)
        browser = pw.chromium.launch(**kw)
        try:
            for run in ns.runs:
                name = run.resolve().name
                with serve(run) as base:
                    if (run / "map.html").is_file():
                        errors += shoot_map(browser, base, ns.out, name)
                    if (run / "report.html").is_file():
                        errors += shoot_report(browser, base, ns.out, name)
        finally:
            browser.close()
    for e in errors:
        print(e, file=sys.stderr)
    print(f"Screenshots in {ns.out}/")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
