"""Tests of trapscape.secrio: secr text formats and camtrapR tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trapscape import density as dn
from trapscape import secrio
from trapscape.errors import InputError, SchemaError

DATA = Path(__file__).parent / "data" / "secr"


def captdata_files(tmp_path: Path) -> tuple[Path, Path]:
    """secr-format files built from the captdata CSVs."""
    traps = pd.read_csv(DATA / "traps.csv")
    caps = pd.read_csv(DATA / "captures.csv")
    tf = tmp_path / "trap.txt"
    cf = tmp_path / "capt.txt"
    tf.write_text(
        "# trapID x y\n"
        + "".join(f"{r.trapID} {r.x} {r.y}\n" for r in traps.itertuples())
    )
    cf.write_text(
        "# Session ID Occasion Detector\n"
        + "".join(
            f"{r.session} {r.ID} {r.occasion} {r.trapID}\n" for r in caps.itertuples()
        )
    )
    return tf, cf


def test_read_captdata_and_loglik(tmp_path: Path) -> None:
    tf, cf = captdata_files(tmp_path)
    ch = secrio.read_secr(tf, cf, n_occasions=5)
    assert ch.n == 76
    assert ch.n_detections == 235
    assert ch.n_occasions == 5
    mask = dn.make_mask(ch.traps_xy, buffer=100.0, spacing=10.0)
    ll = dn.log_likelihood(
        ch, mask, density_per_100km2=6.3655e4, g0=0.15528, sigma=27.779, detectfn="HN"
    )
    assert ll == pytest.approx(-527.104855309494, rel=1e-9)


def test_round_trip_with_usage_and_sex(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    traps = rng.random((6, 2)) * 1000
    usage = np.ones((6, 4))
    usage[2, 1] = 0
    caps = (rng.random((5, 4, 6)) < 0.2).astype(int) * (usage.T[None] > 0)
    caps[:, 0, 0] = 1
    ch = dn.CaptureHistory(
        traps,
        usage,
        caps,
        individual_ids=tuple("abcde"),
        trap_ids=tuple(f"T{j}" for j in range(6)),
        sex=("F", "M", None, "F", "M"),
    )
    tf, cf = tmp_path / "t.txt", tmp_path / "c.txt"
    secrio.write_secr(ch, tf, cf)
    back = secrio.read_secr_captures(cf, secrio.read_secr_traps(tf), sex_column=4)
    np.testing.assert_array_equal(back.captures, ch.captures)
    np.testing.assert_allclose(back.usage, ch.usage)
    np.testing.assert_allclose(back.traps_xy, ch.traps_xy, rtol=1e-9)
    assert back.individual_ids == ch.individual_ids
    assert back.sex == ch.sex
    with pytest.raises(InputError, match="overwrite"):
        secrio.write_secr(ch, tf, cf)


def test_round_trip_fractional_usage(tmp_path: Path) -> None:
    usage = np.array([[0.5, 1.0, 1.0], [1.0, 0.25, 0.0]])
    caps = np.zeros((1, 3, 2), dtype=int)
    caps[0, 0, 0] = caps[0, 1, 1] = 1
    ch = dn.CaptureHistory(np.array([[0.0, 0.0], [10.0, 5.0]]), usage, caps)
    tf, cf = tmp_path / "t.txt", tmp_path / "c.txt"
    secrio.write_secr(ch, tf, cf)
    assert "binary.usage = FALSE" in tf.read_text()
    back = secrio.read_secr(tf, cf, binary_usage=False)
    np.testing.assert_allclose(back.usage, usage)


def test_bad_secr_files(tmp_path: Path) -> None:
    tf = tmp_path / "t.txt"
    tf.write_text("A 0 0 11x1\n")
    with pytest.raises(InputError, match="line 1"):
        secrio.read_secr_traps(tf)
    tf.write_text("A 0 0\nB 1 1\n")
    cf = tmp_path / "c.txt"
    cf.write_text("1 x 1 C\n")
    with pytest.raises(InputError, match="'C' is not in the trap file"):
        secrio.read_secr(tf, cf)
    cf.write_text("1 x 1 A\n2 y 1 B\n")
    with pytest.raises(InputError, match="several sessions"):
        secrio.read_secr(tf, cf)


def test_read_camtrapr_usage_and_problems() -> None:
    ct = pd.DataFrame(
        {
            "Station": ["A", "B", "C"],
            "utm_x": [0.0, 1000.0, 0.0],
            "utm_y": [0.0, 0.0, 1000.0],
            "Setup_date": ["2024-06-01", "2024-06-01", "2024-06-02"],
            "Retrieval_date": ["2024-06-05", "2024-06-05", "2024-06-05"],
            "Problem1_from": [None, "2024-06-03", None],
            "Problem1_to": [None, "2024-06-03", None],
        }
    )
    rec = pd.DataFrame(
        {
            "Station": ["A", "B", "A", "C", "A"],
            "Species": "PPO",
            "DateTimeOriginal": [
                "2024-06-01 20:00:00",
                "2024-06-02 03:00:00",
                "2024-06-01 23:00:00",
                "2024-06-04 10:00:00",
                "2024-06-03 01:00:00",
            ],
            "Individual": ["L1", "L1", "L1", "L2", ""],
            "Sex": ["M", "M", None, "F", None],
        }
    )
    ch = secrio.read_camtrapr(rec, ct)
    assert ch.trap_ids == ("A", "B", "C")
    assert ch.n_occasions == 5
    np.testing.assert_allclose(ch.usage[0], [0.5, 1, 1, 1, 0.5])
    np.testing.assert_allclose(ch.usage[1], [0.5, 1, 0, 1, 0.5])
    np.testing.assert_allclose(ch.usage[2], [0, 0.5, 1, 1, 0.5])
    assert ch.individual_ids == ("L1", "L2")
    assert ch.sex == ("M", "F")
    assert ch.captures[0, 0, 0] == 1  # two records on one day at A -> one detection
    assert ch.n_detections == 3
    with pytest.raises(SchemaError, match="Retrieval_date"):
        secrio.read_camtrapr(rec, ct.drop(columns="Retrieval_date"))


def test_read_secr_mask_reproduces_secr_loglik(tmp_path: Path) -> None:
    mask = secrio.read_secr_mask(DATA / "mask_spacing10.csv")
    assert len(mask) == 2125
    assert mask.spacing == 10.0
    tf, cf = captdata_files(tmp_path)
    ch = secrio.read_secr(tf, cf, n_occasions=5)
    ll = dn.log_likelihood(
        ch, mask, density_per_100km2=6.3655e4, g0=0.15528, sigma=27.779, detectfn="HN"
    )
    assert ll == pytest.approx(-527.104855309494, rel=1e-9)
    bad = tmp_path / "m.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SchemaError, match="columns x and y"):
        secrio.read_secr_mask(bad)


def test_secrio_is_an_alias_of_the_density_format_modules() -> None:
    from trapscape.density import camtrapr, secr

    assert secrio.read_secr is secr.read_secr
    assert secrio.write_secr is secr.write_secr
    assert secrio.read_secr_mask is secr.read_secr_mask
    assert secrio.read_camtrapr is camtrapr.read_camtrapr
    assert set(secrio.__all__) <= set(dn.__all__)


def test_secr_files_written_by_r_with_quotes_read_as_unquoted(tmp_path: Path) -> None:
    plain = secrio.read_secr(DATA / "traps.csv", DATA / "captures.csv")
    tf, cf = tmp_path / "traps.csv", tmp_path / "captures.csv"
    traps = pd.read_csv(DATA / "traps.csv")
    traps["trapID"] = "T" + traps["trapID"].astype(str)
    traps.to_csv(tf, index=False, quoting=1)  # write.csv(quote = TRUE): all quoted
    caps = pd.read_csv(DATA / "captures.csv")
    caps["trapID"] = "T" + caps["trapID"].astype(str)
    caps.to_csv(cf, index=False, quoting=1)
    assert '"T1","365","365"' in tf.read_text()
    quoted = secrio.read_secr(tf, cf)
    assert quoted.trap_ids == tuple("T" + t for t in plain.trap_ids)
    np.testing.assert_array_equal(quoted.traps_xy, plain.traps_xy)
    np.testing.assert_array_equal(quoted.captures, plain.captures)
    assert quoted.individual_ids == plain.individual_ids
