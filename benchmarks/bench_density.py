"""Benchmark: SCR fit of a leopard-sized camera-trap survey.

About 60 detected individuals, 400 camera stations, 90 daily occasions with
some camera failures, and a 5,000-point mask.  Prints the time of
``trapscape.density.fit`` beside secr's reference time for fits of this kind
(7-25 s single-threaded on this machine class) and beside a straightforward
non-collapsed numpy baseline: one likelihood evaluation over the full
(individual x occasion x detector x mask) array, times the number of
evaluations the fit used.

Run: ``python benchmarks/bench_density.py [--replicates N]`` (with replicates
it also reports bias of D and 95 % CI coverage).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import logsumexp

from trapscape import density as dn


def simulate(
    rng: np.random.Generator,
    *,
    n_side: int = 20,
    spacing: float = 2000.0,
    d_per_100km2: float = 2.0,
    lambda0: float = 0.05,
    sigma: float = 3000.0,
    occasions: int = 90,
    buffer: float = 12000.0,
) -> dn.CaptureHistory:
    """Poisson activity centres, HHN proximity detections with usage."""
    g = np.arange(n_side) * spacing
    traps = np.array([(x, y) for y in g for x in g], dtype=float)
    lo, hi = traps.min(0) - buffer, traps.max(0) + buffer
    area_km2 = np.prod(hi - lo) / 1e6
    n_pop = rng.poisson(d_per_100km2 * area_km2 / 100)
    centres = lo + rng.random((n_pop, 2)) * (hi - lo)
    usage = np.ones((len(traps), occasions))
    broken = rng.random(len(traps)) < 0.2
    for j in np.nonzero(broken)[0]:
        start = rng.integers(0, occasions)
        usage[j, start : start + rng.integers(5, 30)] = 0.0
    d2 = ((centres[:, None, :] - traps[None]) ** 2).sum(-1)
    p = 1 - np.exp(-lambda0 * np.exp(-d2 / (2 * sigma**2))[:, None, :] * usage.T[None])
    caps = (rng.random(p.shape) < p).astype(int)
    caps = caps[caps.sum(axis=(1, 2)) > 0]
    return dn.CaptureHistory(traps, usage, caps)


def baseline_seconds(
    ch: dn.CaptureHistory,
    mask: dn.Mask,
    lambda0: float,
    sigma: float,
    dens: float,
    n_ind: int = 2,
) -> float:
    """Time of one straightforward non-collapsed likelihood evaluation.

    Loops over occasions with full ``(M, J)`` arrays (no sufficient
    statistics): each individual's log Pr(omega | x) sums Bernoulli terms over
    every occasion and detector.  The per-individual part is timed on
    ``n_ind`` individuals and scaled to all of them.
    """
    t = time.perf_counter()
    d2 = ((mask.xy[:, None, :] - ch.traps_xy[None]) ** 2).sum(-1)  # (M, J)
    h = lambda0 * np.exp(-d2 / (2 * sigma**2))
    a = mask.cell_area / 1e4
    logq = np.zeros(len(mask))
    lp = np.zeros((n_ind, len(mask)))
    t_ind = 0.0
    for k in range(ch.n_occasions):
        p = -np.expm1(-h * ch.usage[:, k][None, :])
        logp = np.log(np.maximum(p, 1e-300))
        log1mp = np.log1p(-p)
        logq += log1mp.sum(axis=1)
        t1 = time.perf_counter()
        for i in range(n_ind):
            y = ch.captures[i, k]
            lp[i] += logp @ y + log1mp @ (1 - y)
        t_ind += time.perf_counter() - t1
    ll = float(np.sum(logsumexp(lp, axis=1) + np.log(dens * a)))
    ll -= dens * a * float(np.sum(-np.expm1(logq)))
    total = time.perf_counter() - t
    return total - t_ind + t_ind / n_ind * ch.n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    ch = simulate(rng)
    mask = dn.make_mask(ch.traps_xy, buffer=12000.0, spacing=850.0)
    print(
        f"data: {ch.n} individuals, {ch.traps_xy.shape[0]} stations, "
        f"{ch.n_occasions} occasions, {ch.n_detections} detections; "
        f"mask {len(mask)} points"
    )
    t = time.perf_counter()
    c = time.process_time()
    res = dn.fit(ch, mask, detectfn="HHN")
    t_fit = time.perf_counter() - t
    c_fit = time.process_time() - c
    print(res.estimates.to_string(index=False))
    t_one = baseline_seconds(ch, mask, 0.05, 3000.0, 2e-4)
    t_base = t_one * res.evaluations
    print(
        f"trapscape fit: {t_fit:.2f} s wall, {c_fit:.2f} s CPU "
        f"({res.evaluations} likelihood+gradient evaluations)"
    )
    print(
        "secr reference: 7-25 s  -> ratio secr/trapscape "
        f"{7 / t_fit:.1f}-{25 / t_fit:.1f}x"
    )
    print(
        f"non-collapsed numpy baseline: {t_one:.2f} s/evaluation x {res.evaluations} = "
        f"{t_base:.1f} s  -> ratio {t_base / t_fit:.1f}x"
    )
    if args.replicates:
        true = 2.0
        ests, cover = [], []
        for _ in range(args.replicates):
            c = simulate(rng)
            r = dn.fit(c, mask, detectfn="HHN")
            row = r.estimates.iloc[0]
            ests.append(row.estimate)
            cover.append(row.lcl <= true <= row.ucl)
        ests_a = np.array(ests)
        print(
            f"{args.replicates} replicates: mean D {ests_a.mean():.3f} (true {true}), "
            f"relative bias {100 * (ests_a.mean() / true - 1):+.1f} % "
            f"(SE {100 * ests_a.std(ddof=1) / np.sqrt(len(ests_a)) / true:.1f} %), "
            f"95 % CI coverage {100 * np.mean(cover):.0f} %"
        )


if __name__ == "__main__":
    main()
