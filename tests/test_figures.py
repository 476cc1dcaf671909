"""Print figures (trapscape.present.figures): resolution, size, keys, labels."""

from __future__ import annotations

import io

import numpy as np
from conftest import make_tiny_survey
from PIL import Image
from test_maps import _full_products

from trapscape.present import figures
from trapscape.products import RunProducts


def test_figures_print_at_200_dpi_within_a4() -> None:
    s = make_tiny_survey()
    pngs = figures.render_figures(s, products=_full_products(s))
    assert {"effort", "pdot", "corridors", "plan"} <= set(pngs)
    for name, data in pngs.items():
        im = Image.open(io.BytesIO(data))
        dpi = im.info["dpi"][0]
        assert round(dpi) >= 200, name
        w_cm = im.size[0] / dpi * 2.54
        assert 5 < w_cm <= 17.5, (name, w_cm)  # fits A4 text width (17 cm)


def test_axes_name_the_crs_and_the_key_lists_the_lines() -> None:
    s = make_tiny_survey()
    fig = figures._corridors(s, _full_products(s))
    ax = fig.axes[0]
    assert "EPSG:32652" in ax.get_xlabel() and "UTM zone 52N" in ax.get_ylabel()
    keys = [t.get_text() for t in ax.get_legend().get_texts()]
    for k in ("key.border", "key.corridor", "key.path", "key.hotspot", "key.park"):
        assert figures.LABELS[k] in keys, k
    texts = [t.get_text() for t in ax.texts]
    assert "CHINA" in texts and "RUSSIA" in texts


def test_hotspot_rank_labels_do_not_overlap() -> None:
    pts = [(0.0, 0.0), (10.0, 0.0), (20.0, 5.0), (5.0, 5.0), (15.0, 15.0)] * 2
    spots = figures._place_labels(pts, 1000.0)
    gap = 0.045 * 1000.0
    for i in range(len(spots)):
        for j in range(i + 1, len(spots)):
            d = np.hypot(spots[i][0] - spots[j][0], spots[i][1] - spots[j][1])
            assert d >= gap - 1e-9, (i, j, d)


def test_figure_strings_come_from_labels() -> None:
    s = make_tiny_survey()
    fig = figures._pdot(s, RunProducts(pdot=_full_products(s).pdot))
    assert fig.axes[0].get_title() == figures.LABELS["title.pdot"]
