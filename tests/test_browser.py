"""Headless Chromium opens an offline map.html and checks that it renders.

Debian's ``chromium`` (installed by ``.ci/system-deps``) is driven by
Playwright; the page is served from 127.0.0.1 and every request to another
host is blocked, so the map must work from its inlined Leaflet alone.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_tiny_survey

from trapscape import pipeline

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def map_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "out"
    pipeline.run_survey(  # no offline=True: the map must open offline by default
        make_tiny_survey(),
        out,
        params={
            "homerange": {"min_detections": 2, "min_stations": 2},
            "coverage": {"cell_size": 1000.0, "resolution": 250.0},
            "report": {"figures": False},
            "steps": {"density": False, "plan": False},
        },
    )
    return out


@pytest.fixture(scope="module")
def server(map_dir: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(map_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_map_renders_offline_in_chromium(
    server: str, map_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        "chromium missing: run `make system-deps` (.ci/system-deps)"
    )
    errors: list[str] = []
    remote: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console: {m.text}") if m.type == "error" else None
                ),
            )

            def route(r: object) -> None:
                url = r.request.url  # type: ignore[attr-defined]
                if url.startswith(server) or url.startswith("data:"):
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    remote.append(url)
                    r.abort()  # type: ignore[attr-defined]

            page.route("**/*", route)
            page.goto(f"{server}/map.html", wait_until="load")
            page.wait_for_selector(".leaflet-container", timeout=15000)
            page.wait_for_timeout(500)

            # Leaflet loaded from the inlined copy and drew vector layers
            assert page.evaluate("typeof L") == "object"
            n_paths = page.locator(".leaflet-overlay-pane svg path").count()
            assert n_paths >= 10, n_paths
            # station markers (CircleMarkers) and the pdot image overlay
            assert page.locator("path.leaflet-interactive").count() >= 9
            assert page.locator(".leaflet-image-layer").count() >= 1
            # the layer control is collapsed; hovering opens it
            assert page.locator(".leaflet-control-layers-expanded").count() == 0
            page.locator(".leaflet-control-layers").hover()
            labels = page.locator(".leaflet-control-layers-overlays label")
            names = [t.strip() for t in labels.all_inner_texts()]
            assert any("Camera stations" in n for n in names), names
            assert any("Home ranges" in n for n in names), names
            assert _legend(page) == _checked(page)  # legend = visible layers
            box = labels.filter(has_text="Camera stations").locator("input")
            assert box.is_checked()
            before = page.locator(".leaflet-overlay-pane svg path").count()
            box.click()
            page.wait_for_timeout(200)
            after = page.locator(".leaflet-overlay-pane svg path").count()
            assert after == before - 9  # the nine stations disappear
            assert "Camera stations" not in _legend(page)
            assert _legend(page) == _checked(page)
            hidden = labels.filter(has_text="Coverage grid").locator("input")
            hidden.click()  # a hidden layer switched on joins the legend
            page.wait_for_timeout(200)
            assert "Coverage grid (trap-nights per cell)" in _legend(page)
            assert _legend(page) == _checked(page)
            hidden.click()
            box.click()
            page.wait_for_timeout(200)
            assert page.locator(".leaflet-overlay-pane svg path").count() == before
            assert _legend(page) == _checked(page)
            # the border is drawn above every other layer (highest pane but labels)
            z = page.evaluate(
                "() => { const z = c => +getComputedStyle(document.querySelector("
                "'path.' + c).closest('.leaflet-pane')).zIndex;"
                " return [z('ts-border'), z('leaflet-interactive')]; }"
            )
            assert z[0] > z[1] and z[0] >= 600, z
            # country and park names are on the map
            label_text = page.locator(".ts-label").all_text_contents()
            assert "China" in label_text and "Russia" in label_text, label_text
            clashes = page.evaluate(  # shown names never overlap
                "() => { const r = Array.from(document.querySelectorAll('.ts-label'))"
                ".filter(e => e.style.visibility !== 'hidden')"
                ".map(e => e.getBoundingClientRect()).filter(b => b.width > 0);"
                " let n = 0; for (let i = 0; i < r.length; i++)"
                " for (let j = i + 1; j < r.length; j++)"
                " if (r[i].left < r[j].right && r[j].left < r[i].right &&"
                " r[i].top < r[j].bottom && r[j].top < r[i].bottom) n++; return n; }"
            )
            assert clashes == 0
            # the legend fits in the window
            lb = page.locator(".ts-legend-box").bounding_box()
            assert lb is not None and lb["y"] >= 0 and lb["y"] + lb["height"] <= 900
            # a station popup opens with its numbers
            page.locator("path.leaflet-interactive").last.click(force=True)
            page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert remote == []
    shot = tmp_path / "map.png"
    assert shot.is_file() and shot.stat().st_size > 10_000


def _legend(page: object) -> set[str]:
    """Titles of the legend blocks that are shown."""
    return set(
        page.evaluate(  # type: ignore[attr-defined]
            "() => Array.from(document.querySelectorAll('.ts-legend [data-layer]'))"
            ".filter(b => b.style.display !== 'none')"
            ".map(b => b.querySelector('b').textContent)"
        )
    )


def _checked(page: object) -> set[str]:
    """Names of the layers ticked in the layer control that have a legend."""
    ticked = page.evaluate(  # type: ignore[attr-defined]
        "() => Array.from(document.querySelectorAll("
        "'.leaflet-control-layers-overlays label'))"
        ".filter(l => l.querySelector('input').checked)"
        ".map(l => l.textContent.trim())"
    )
    blocks = page.evaluate(  # type: ignore[attr-defined]
        "() => Array.from(document.querySelectorAll('.ts-legend [data-layer] b'))"
        ".map(b => b.textContent)"
    )
    return set(ticked) & set(blocks)


def test_report_prints_to_pdf(server: str, map_dir: Path, tmp_path: Path) -> None:
    """report.html renders without network and prints to a multi-page A4 PDF."""
    from playwright.sync_api import sync_playwright

    remote: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r: object) -> None:
                url = r.request.url  # type: ignore[attr-defined]
                if url.startswith(server) or url.startswith("data:"):
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    remote.append(url)
                    r.abort()  # type: ignore[attr-defined]

            page.route("**/*", route)
            page.goto(f"{server}/report.html", wait_until="load")
            assert page.locator("h2").count() >= 9
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4", print_background=True)
        finally:
            browser.close()
    (tmp_path / "report.pdf").write_bytes(pdf)
    assert pdf[:5] == b"%PDF-"
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2
    assert remote == [] and errors == []


def test_public_map_renders_offline(tmp_path: Path) -> None:
    """The public map: no console errors offline, the banner, legend = layers."""
    from playwright.sync_api import sync_playwright

    out = tmp_path / "public"
    pipeline.run_survey(
        make_tiny_survey(),
        out,
        public=True,
        params={
            "coverage": {"cell_size": 1000.0, "resolution": 250.0},
            "report": {"figures": False},
            "steps": {"density": False, "plan": False, "homerange": False},
        },
    )
    errors: list[str] = []
    remote: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" else None,
            )

            def route(r: object) -> None:
                url = r.request.url  # type: ignore[attr-defined]
                if url.startswith(("file:", "data:")):
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    remote.append(url)
                    r.abort()  # type: ignore[attr-defined]

            page.route("**/*", route)
            page.goto((out / "map.html").as_uri(), wait_until="load")
            page.wait_for_selector(".leaflet-container", timeout=15000)
            page.wait_for_timeout(500)
            assert "Public version" in page.locator(".ts-banner").inner_text()
            shown = _legend(page)
            assert shown == _checked(page)
            assert {"Camera effort per 5 km cell", "International border"} <= shown
            assert "Latitude" not in page.content()
        finally:
            browser.close()
    assert errors == [] and remote == []


# ------------------------------------------------------------- languages
LANGS = ("ru", "zh")


@pytest.fixture(scope="module")
def lang_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run in Russian and in Chinese: <root>/<lang>/map.html, report.html."""
    root = tmp_path_factory.mktemp("browser-lang")
    for lang in LANGS:
        pipeline.run_survey(
            make_tiny_survey(),
            root / lang,
            params={
                "homerange": {"min_detections": 2, "min_stations": 2},
                "coverage": {"cell_size": 1000.0, "resolution": 250.0},
                "report": {"figures": False},
                "steps": {"density": False, "plan": False},
            },
            lang=lang,
        )
    return root


@pytest.fixture(scope="module")
def lang_server(lang_dirs: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(lang_dirs))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _untranslated(text: str, messages: object, lang: str) -> list[str]:
    """English messages on the page that the catalog translates differently."""
    from trapscape.present import i18n

    out = []
    with i18n.language(lang):
        for m in messages:  # type: ignore[attr-defined]
            if len(m) < 4 or re.search(r"\{|%\(|%%", m):
                continue
            tr = i18n.gettext(m)
            if (
                tr != m
                and m not in tr
                and re.search(rf"(?<![\w\[-]){re.escape(m)}(?![\w\]-])", text)
            ):
                out.append(m)
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_map_and_report_in_language_in_chromium(
    lang_server: str, lang_dirs: Path, lang: str, tmp_path: Path
) -> None:
    """Offline, no console errors, translated layer names/legend/labels, none left in English."""
    from playwright.sync_api import sync_playwright

    from trapscape.present import i18n, maps, report

    assert Path(CHROMIUM).exists(), "chromium missing: run `make system-deps`"
    messages = i18n.source_messages()
    with i18n.language(lang):
        stations = i18n.gettext(maps.LABELS["layer.stations"])
        coverage = i18n.gettext(maps.LABELS["layer.coverage"])
        countries = {i18n.gettext("China"), i18n.gettext("Russia")}
    errors: list[str] = []
    remote: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console: {m.text}") if m.type == "error" else None
                ),
            )

            def route(r: object) -> None:
                url = r.request.url  # type: ignore[attr-defined]
                if url.startswith(lang_server) or url.startswith("data:"):
                    r.continue_()  # type: ignore[attr-defined]
                else:
                    remote.append(url)
                    r.abort()  # type: ignore[attr-defined]

            page.route("**/*", route)
            page.goto(f"{lang_server}/{lang}/map.html", wait_until="load")
            page.wait_for_selector(".leaflet-container", timeout=15000)
            page.wait_for_timeout(500)
            assert page.evaluate("document.documentElement.lang") == i18n.html_lang(
                lang
            )
            page.locator(".leaflet-control-layers").hover()
            labels = page.locator(".leaflet-control-layers-overlays label")
            names = [t.strip() for t in labels.all_inner_texts()]
            assert stations in names, names
            assert _legend(page) == _checked(page)
            labels.filter(has_text=stations).locator("input").click()
            page.wait_for_timeout(200)
            assert stations not in _legend(page)
            labels.filter(has_text=coverage).locator("input").click()
            page.wait_for_timeout(200)
            assert coverage in _legend(page)
            assert _legend(page) == _checked(page)
            z = page.evaluate(
                "() => { const z = c => +getComputedStyle(document.querySelector("
                "'path.' + c).closest('.leaflet-pane')).zIndex;"
                " return [z('ts-border'), z('leaflet-interactive')]; }"
            )
            assert z[0] > z[1], z
            assert countries <= set(page.locator(".ts-label").all_text_contents())
            # Leaflet's own texts: metric scale in the language, zoom button titles
            with i18n.language(lang):
                units = (i18n.gettext("km"), i18n.gettext("m"))
                zoom_in = i18n.gettext("Zoom in")
            scale = page.locator(".leaflet-control-scale-line:visible")
            texts = [t.strip() for t in scale.all_inner_texts()]
            assert texts and all(t.endswith(units) for t in texts), texts
            title = page.locator(".leaflet-control-zoom-in").get_attribute("title")
            assert title == zoom_in
            shown = page.evaluate("document.body.innerText")
            left = _untranslated(shown, messages, lang)
            assert not left, left
            page.goto(f"{lang_server}/{lang}/report.html", wait_until="load")
            assert page.evaluate("document.documentElement.lang") == i18n.html_lang(
                lang
            )
            text = page.evaluate("document.body.innerText")
            # kept as written: references, the run's notes (warnings of the
            # analyses, also in manifest.json) and project-file keys
            manifest = json.loads((lang_dirs / lang / "manifest.json").read_text())
            for kept in [*report.REFERENCES.values(), *manifest["notes"]]:
                text = text.replace(kept, "")
            text = re.sub(r"\b\w+ = false\b", "", text)
            left = _untranslated(text, messages, lang)
            assert not left, left
        finally:
            browser.close()
    assert errors == []
    assert remote == []
