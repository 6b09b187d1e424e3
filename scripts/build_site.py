"""`make site`: every explorer of the lab as a static page in runs/site/ whose controls work with no kernel and no
network (open runs/site/index.html, or serve the folder). The state lives in the link after '#', so a view can be
shared: e.g. index.html#tab=toy&kind=spirals&hidden=8&alpha=1&num_estimators=4.

Each state on each tab's grid is drawn here by the explorers' own ``draw`` (pe_lab.teaching.explore); the toy
world trains 162 states (3 data sets x 2 noise x 3 hidden widths x 3 alphas x 3 M, 300 Adam steps each), a few
minutes on 2 CPU cores the first time, then reused from runs/site-cache/ until its sources change.

    python scripts/build_site.py [--out runs/site] [--quick] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "site")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "site-cache")
    parser.add_argument("--quick", action="store_true", help="two values per control (a test's build)")
    parser.add_argument("--jobs", type=int, default=2, help="processes that train the toy world's states")
    args = parser.parse_args(argv)
    from pe_lab.teaching.explore.site import build_site

    started = time.time()
    summary = build_site(args.out, cache=args.cache, quick=args.quick, jobs=args.jobs)
    states = sum(t["states"] for t in summary["tabs"])
    print(f"site: {states} states over {len(summary['tabs'])} tabs, {summary['bytes'] / 1e6:.1f} MB in {args.out} "
          f"({time.time() - started:.0f} s); open {args.out / 'index.html'}")
    return summary


if __name__ == "__main__":
    main()
