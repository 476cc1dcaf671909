"""Extract the messages of the map, report and figures and update the catalogs.

``make i18n`` runs this: it writes ``src/trapscape/present/locale/trapscape.pot``
from :func:`trapscape.present.i18n.source_messages` (label dictionaries,
``gettext``/``_tr`` calls, the report template's ``{% trans %}`` blocks) and
merges it into every ``locale/<locale>/LC_MESSAGES/trapscape.po`` with
Babel's ``Catalog.update`` (new messages appear untranslated, changed ones
fuzzy, removed ones obsolete).  Then translate the empty and fuzzy entries
(e.g. with poedit) and run ``make i18n`` again; ``--check`` only reports
messages without a translation and exits 1 if there are any.

Usage: python scripts/i18n_catalogs.py [--check]
"""

from __future__ import annotations

import argparse
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from trapscape.present import i18n


def _template() -> Catalog:
    pot = Catalog(
        project="trapscape",
        domain=i18n.DOMAIN,
        msgid_bugs_address="",
        copyright_holder="trapscape developers",
        charset="utf-8",
    )
    for msg, where in i18n.source_messages().items():
        pot.add(msg, locations=[(w, 0) for w in where[:3]])
    return pot


def _missing(cat: Catalog) -> list[str]:
    return [
        str(m.id)
        for m in cat
        if m.id and (not m.string or m.fuzzy) and not m.id.startswith("#")
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report only; no writes")
    args = ap.parse_args(argv)
    pot = _template()
    if not args.check:
        with (i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot").open("wb") as fh:
            write_po(fh, pot, width=88, sort_output=False)
    bad = 0
    for lang, loc in i18n._LOCALES.items():
        if lang == "en":
            continue
        po = i18n.LOCALE_DIR / loc / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        if po.exists():
            with po.open("rb") as fh:
                cat = read_po(fh, locale=loc, domain=i18n.DOMAIN)
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            cat = Catalog(locale=loc, domain=i18n.DOMAIN, project="trapscape")
        cat.update(pot, no_fuzzy_matching=True)
        if not args.check:
            with po.open("wb") as fh:
                write_po(fh, cat, width=88, omit_header=False, include_previous=True)
        missing = _missing(cat)
        bad += len(missing)
        print(f"{po}: {len(cat)} messages, {len(missing)} without translation")
        for m in missing[:20]:
            print(f"  - {m[:100]!r}")
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
