"""Tests of the output languages (trapscape.present.i18n): catalogs, map, report, figures."""

from __future__ import annotations

import html as html_mod
import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from conftest import make_tiny_survey
from test_maps import _full_products
from test_report import _ranges

from trapscape import reserve
from trapscape._steps import check_sections
from trapscape.cli.main import cli
from trapscape.errors import InputError
from trapscape.present import _fonts, figures, i18n, maps, report
from trapscape.products import RunProducts

LANGS = ("ru", "zh")
LOCALES = {"ru": "ru", "zh": "zh_Hans"}
_PLACEHOLDERS = re.compile(r"\{[^{}]*\}|%\([^)]*\)s|%%")


def _catalog(lang: str):
    po = i18n.LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with po.open("rb") as fh:
        return read_po(fh, locale=LOCALES[lang], domain=i18n.DOMAIN)


@pytest.fixture(scope="module")
def messages() -> dict[str, list[str]]:
    return i18n.source_messages()


# ------------------------------------------------------------------ catalogs
def test_messages_come_from_every_source(messages) -> None:
    where = " ".join(w for ws in messages.values() for w in ws)
    for src in ("maps.LABELS", "figures.LABELS", "COLUMN_LABELS", "report.html.j2"):
        assert src in where, src
    assert "Legend" in messages and "Summary" in messages
    assert "Russia" in messages and "North Korea" in messages
    assert len(messages) > 250


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_has_a_translation_with_the_same_placeholders(
    lang, messages
) -> None:
    cat = _catalog(lang)
    problems = []
    for msg in messages:
        entry = cat.get(msg)
        if entry is None or not entry.string or not str(entry.string).strip():
            problems.append(f"missing: {msg!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msg!r}")
        want = sorted(_PLACEHOLDERS.findall(msg))
        got = sorted(_PLACEHOLDERS.findall(str(entry.string)))
        if want != got:
            problems.append(f"placeholders {want} != {got}: {msg!r}")
    assert not problems, "\n".join(problems)


def test_fixed_geographic_names() -> None:
    expect = {
        "ru": {
            "Russia": "Россия",
            "China": "Китай",
            "North Korea": "КНДР",
            "Land of the Leopard National Park (approximate)": "национальный парк "
            "«Земля леопарда» (приблизительно)",
        },
        "zh": {
            "Russia": "俄罗斯",
            "China": "中国",
            "North Korea": "朝鲜",
            "Land of the Leopard National Park (approximate)": "豹之乡国家公园（大致）",
        },
    }
    for lang, names in expect.items():
        with i18n.language(lang):
            for en, tr in names.items():
                assert i18n.gettext(en) == tr
    with i18n.language("ru"):
        assert "км²" in i18n.gettext("Area (km²)")
    with i18n.language("zh"):
        assert "平方公里" in i18n.gettext("Area (km²)")


def test_language_is_scoped_and_checked() -> None:
    with i18n.language("ru"):
        assert i18n.current() == "ru"
        assert i18n.gettext("Legend") == "Легенда"
        assert i18n.gettext("") == ""  # never the catalog header
        assert i18n.gettext("not a message") == "not a message"
    assert i18n.current() == "en"
    assert i18n.gettext("Legend") == "Legend"
    with pytest.raises(InputError, match="use one of en, ru, zh"):
        i18n.check_lang("fr")


def test_numbers_and_dates_follow_the_locale() -> None:
    from trapscape.present._style import fmt_number

    assert fmt_number(11201.99) == "11,202"
    assert i18n.format_date("2024-03-01T12:00:00") == "2024-03-01"
    with i18n.language("ru"):
        assert fmt_number(11201.99) == "11\u00a0202"
        assert fmt_number(0.0192) == "0,0192"
        assert fmt_number(1.1e-7) == "1,1 × 10⁻⁷"
        assert i18n.localize_number("D[China]") == "D[China]"
        assert i18n.format_date("2024-03-01") == "1 марта 2024\u202fг."
    with i18n.language("zh"):
        assert fmt_number(11201.99) == "11,202"
        assert i18n.format_date("2024-03-01") == "2024年3月1日"


def test_phrases_from_result_tables() -> None:
    with i18n.language("ru"):
        assert (
            i18n.phrase("both (China + Russia)") == "в обеих странах (Китай + Россия)"
        )
        assert i18n.phrase("Russia only") == "только Россия"
        assert i18n.phrase("China + Russia") == "Китай + Россия"
        assert i18n.phrase("F012") == "F012"
        assert i18n.phrase("3 park polygon(s); 2 corridor(s)") == (
            "полигонов парков: 3; коридоров: 2"
        )
    with i18n.language("zh"):
        assert i18n.phrase("China only") == "仅中国"


# ----------------------------------------------------------------- outputs
def _leftovers(page: str, msgs, lang: str) -> list[str]:
    """Messages (without placeholders) whose English text is on the page
    although the catalog translates them differently."""
    text = html_mod.unescape(page)
    out = []
    with i18n.language(lang):
        for m in msgs:
            if _PLACEHOLDERS.search(m) or len(m) < 4:
                continue
            tr = i18n.gettext(m)
            if tr == m or m in tr:
                continue
            # whole-phrase match, so that "Cell" does not match "Cells of"
            if re.search(rf"(?<![\w\[-]){re.escape(m)}(?![\w\]-])", text):
                out.append(m)
    return out


def _visible_map_text(page: str) -> str:
    """Texts a reader sees: HTML text (legend, title), place labels, popup aliases."""
    outside = re.sub(r"<script[\s\S]*?</script>|<style[\s\S]*?</style>", "", page)
    parts = re.findall(r">([^<>]+)<", outside)
    # label markers carry their HTML as JSON strings (\u003e...\u003c)
    decoded = re.sub(r"\\u([0-9a-f]{4})", lambda mt: chr(int(mt[1], 16)), page)
    parts += re.findall(r'class=\\?"ts-label[^>]*>([^<]*)<', decoded)
    for arr in re.findall(r"aliases = (\[[^\]]*\])", page):
        parts += json.loads(arr)
    return "\n".join(html_mod.unescape(p).strip() for p in parts if p.strip())


@pytest.mark.parametrize("lang", LANGS)
def test_map_in_language(tmp_path: Path, lang: str, messages) -> None:
    s = make_tiny_survey()
    m = maps.survey_map(s, _full_products(s), lang=lang)
    page = maps.save_map(m, tmp_path / "map.html").read_text(encoding="utf-8")
    assert f'<html lang="{i18n.html_lang(lang)}">' in page
    seen = _visible_map_text(page)
    with i18n.language(lang):
        for key in ("legend", "layer.border", "layer.stations", "layer.pdot"):
            assert i18n.gettext(maps.LABELS[key]) in seen, key
        assert i18n.gettext("Station") in seen  # a popup alias
        assert i18n.gettext("Russia") in seen and i18n.gettext("China") in seen
    assert not _leftovers(seen, maps.LABELS.values(), lang)
    english = maps.save_map(maps.survey_map(s), tmp_path / "en.html").read_text()
    assert '<html lang="en">' in english and "Legend" in english


def _report_products(s) -> RunProducts:
    import pandas as pd

    plan = pd.DataFrame(
        {
            "scope": ["all", "China"],
            "metric": ["RSE", "new_stations"],
            "before": [0.117, 0.0],
            "after": [0.108, 4.0],
            "change": [-0.009, 4.0],
        }
    )
    return RunProducts(
        population=reserve.zone_population(reserve.individuals_by_zone(s)),
        reserve=reserve.candidate_reserve(s, ranges=_ranges(s)),
        plan_summary=plan,
        trap_nights=85.5,
        straddling=reserve.straddling_ranges(s, _ranges(s)),
        summary=s.summary(),
    )


@pytest.mark.parametrize("lang", LANGS)
def test_report_in_language(tmp_path: Path, lang: str, messages) -> None:
    s = make_tiny_survey()
    path = report.write_report(
        s, tmp_path / "r.html", products=_report_products(s), figures=False, lang=lang
    )
    page = path.read_text(encoding="utf-8")
    assert f'<html lang="{i18n.html_lang(lang)}">' in page
    body = re.sub(r"<style>[\s\S]*?</style>", "", page)
    text = html_mod.unescape(re.sub(r"<[^>]+>", "\n", body))
    with i18n.language(lang):
        for msg in ("Summary", "Surveyed area", "1. Survey effort", "References"):
            assert i18n.gettext(msg) in text, msg
        assert i18n.gettext("China") in text
        assert i18n.format_date("2024-06-01") in text
    # references stay in their original language; every other message is translated
    refs = "\n".join(report.REFERENCES.values())
    left = _leftovers(text.replace(refs, ""), messages, lang)
    assert not left, left


def test_report_numbers_in_russian(tmp_path: Path) -> None:
    s = make_tiny_survey()
    ctx = report.report_context(
        s, _report_products(s), figures=False, lang="ru", public=True
    )
    assert ctx["lang"] == "ru" and ctx["html_lang"] == "ru"
    assert ctx["summary"]["plan"]["rse"] == ("11,7 %", "10,8 %")
    assert ctx["summary"]["trap_nights"] == "85,5"
    assert "Открытая версия" in ctx["public_note"]
    assert report.report_context(s, _report_products(s), figures=False)["lang"] == "en"
    # a project's title that is a known name is translated too (the example's)
    title = "Land of the Leopard example (simulated survey, real geography)"
    ctx = report.report_context(s, figures=False, lang="zh", title=title)
    assert ctx["heading"] == "豹之乡示例（模拟调查，真实地理）"
    page = maps.render_html(maps.survey_map(s, title=title, lang="ru"))
    assert "Пример «Земля леопарда»" in page


# ----------------------------------------------------------------- figures
def test_russian_figures_use_a_font_with_every_glyph() -> None:
    lang, family, path = _fonts.figure_language("ru")
    assert (lang, family) == ("ru", "DejaVu Sans")
    cmap = _fonts.font_charmap(path)
    missing = {
        ch
        for t in _fonts.figure_texts("ru")
        for ch in t
        if not ch.isspace() and ord(ch) not in cmap
    }
    assert not missing
    assert any(
        "Легенда" not in t and re.search("[а-я]", t) for t in _fonts.figure_texts("ru")
    )


def test_chinese_figures_never_show_missing_glyphs() -> None:
    """Chinese labels only with a font that has them, else English (not tofu)."""
    lang, family, path = _fonts.figure_language("zh")
    assert "last resort" not in family.lower()  # its glyphs are placeholder boxes
    assert _fonts.covers(path, _fonts.figure_texts(lang))
    if lang == "en":  # no CJK font installed: English labels, said in the report
        assert not _fonts.covers(path, _fonts.figure_texts("zh"))
        s = make_tiny_survey()
        ctx = report.report_context(s, _report_products(s), lang="zh")
        fig = next(f for f in ctx["figures"].values() if f is not None)
        assert "图中标注为英文" in fig.caption


def test_figures_render_in_russian() -> None:
    s = make_tiny_survey()
    pngs = figures.render_figures(s, products=_full_products(s), lang="ru")
    assert set(pngs) >= {"effort", "pdot", "corridors", "plan"}
    assert all(p.startswith(b"\x89PNG") for p in pngs.values())


# --------------------------------------------------------------------- CLI
def test_lang_option_and_run_key(tmp_path: Path, tiny_project) -> None:
    r = CliRunner().invoke(
        cli,
        ["map", str(tiny_project), "--out", str(tmp_path / "m.html"), "--lang", "ru"],
    )
    assert r.exit_code == 0, r.output
    assert '<html lang="ru">' in (tmp_path / "m.html").read_text(encoding="utf-8")
    bad = CliRunner().invoke(
        cli,
        ["map", str(tiny_project), "--out", str(tmp_path / "x.html"), "--lang", "fr"],
    )
    assert bad.exit_code == 2 and "fr" in bad.output
    with pytest.raises(InputError, match=r"\[run\] lang = 'fr'"):
        check_sections({"run": {"lang": "fr"}}, "survey.toml")
    assert check_sections({"run": {"lang": "zh"}}, "survey.toml")["run"]["lang"] == "zh"
    with pytest.raises(InputError, match="lang"):
        check_sections({"map": {"lang": "ru"}}, "survey.toml")


@pytest.mark.slow
def test_run_lang_from_project_file_and_option(tmp_path: Path) -> None:
    from conftest import write_survey_project

    project = write_survey_project(
        make_tiny_survey(),
        tmp_path / "p",
        extra='[run]\nlang = "zh"\n[report]\nfigures = false\n'
        "[steps]\ncoverage = false\ndensity = false\nhomerange = false\n"
        "corridors = false\nplan = false\n",
    )
    r = CliRunner().invoke(cli, ["run", str(project), "--out", str(tmp_path / "zh")])
    assert r.exit_code == 0, r.output
    assert '<html lang="zh-Hans">' in (tmp_path / "zh" / "report.html").read_text(
        encoding="utf-8"
    )
    assert '<html lang="zh-Hans">' in (tmp_path / "zh" / "map.html").read_text(
        encoding="utf-8"
    )
    r = CliRunner().invoke(
        cli, ["run", str(project), "--out", str(tmp_path / "ru"), "--lang", "ru", "-q"]
    )
    assert r.exit_code == 0, r.output
    page = (tmp_path / "ru" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in page and "Сводка" in page


def test_sessions_step_message_is_translated() -> None:
    from trapscape.present.i18n import language, phrase

    msg = (
        "3 sessions, best D~Session lambda0~1 sigma~1: 2021 1.5, 2022 2.1 per 100 km2; "
        "trend 1.28 per session (1.1-1.51)"
    )
    with language("ru"):
        got = phrase(msg)
    assert got.startswith("сессий: 3, лучшая модель D~Session lambda0~1 sigma~1")
    assert got.endswith("тренд 1.28 за сессию (1.1–1.51)")
