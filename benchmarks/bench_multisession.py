"""Benchmark: a 5-session SCR fit (issue 17's speed target).

Five sessions (e.g. five annual surveys), each with about 30 detected animals
at 40 camera stations over one occasion of 30-50 camera-nights (the shape of
the South African leopard surveys in ``tests/data/secr_multisession``), and a
mask of about 2,500 points per session.  Fits ``D ~ 1`` and ``D ~ Session``
with the Bernoulli-per-occasion model and prints the time beside secr's:
about 60 s for the null model of such a fit on this machine class (secr
5.3.0, one thread; its 3-session leopard fits with 1,600-point masks took
24-90 s, ``fits.json``).  The issue asks for at least 5x.

Run: ``python benchmarks/bench_multisession.py [--seed N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from trapscape import density as dn

SECR_SECONDS = 60.0  # secr 5.3.0, null model, one thread (issue 17)


def simulate_session(
    rng: np.random.Generator, d_per_100km2: float
) -> tuple[dn.CaptureHistory, dn.Mask]:
    """Poisson centres, 40 stations 2 km apart, one Bernoulli occasion of u nights."""
    lambda0, sigma = 0.015, 2500.0
    g = np.arange(8) * 2000.0
    traps = np.array([(x, y) for y in g for x in g[:5]], dtype=float)
    buffer = 4 * sigma
    lo, hi = traps.min(0) - buffer, traps.max(0) + buffer
    n_pop = rng.poisson(d_per_100km2 * np.prod(hi - lo) / 1e8)
    centres = lo + rng.random((n_pop, 2)) * (hi - lo)
    usage = rng.integers(30, 51, size=(len(traps), 1)).astype(float)
    d2 = ((centres[:, None, :] - traps[None]) ** 2).sum(-1)
    p = 1 - np.exp(-usage[:, 0][None] * lambda0 * np.exp(-d2 / (2 * sigma**2)))
    caps = (rng.random(p.shape) < p).astype(int)[:, None, :]
    keep = caps.sum(axis=(1, 2)) > 0
    ch = dn.CaptureHistory(traps, usage, caps[keep])
    spacing = float(np.sqrt(np.prod(hi - lo) * 0.8 / 2500))
    mask = dn.make_mask(traps, buffer=buffer, spacing=spacing)
    return ch, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sessions = []
    for k, d in enumerate([11.0, 10.4, 9.8, 9.2, 8.7]):
        ch, mask = simulate_session(rng, d)
        sessions.append(dn.Session(f"year{k + 1}", ch, mask))
    print(
        "sessions:",
        ", ".join(f"{s.name} n={s.history.n} mask={len(s.mask)}" for s in sessions),
    )
    for model in ("~1", "~Session"):
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        fit = dn.fit_sessions(sessions, density=model)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        extra = ""
        if fit.trend:
            t = fit.trend
            extra = f", trend {t['lambda']:.3f} ({t['lcl']:.3f}-{t['ucl']:.3f})"
        print(
            f"D {model}: {wall:.1f} s wall, {cpu:.1f} s CPU; logLik {fit.loglik:.3f}"
            f"{extra}; vs secr ~{SECR_SECONDS:.0f} s (null model): "
            f"{SECR_SECONDS / cpu:.1f}x by CPU, {SECR_SECONDS / wall:.1f}x by wall time"
        )


if __name__ == "__main__":
    main()
