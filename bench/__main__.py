"""`make bench`: the figures of issue #9 against real uvicorn processes, printed beside their targets.

    python -m bench                      every figure at full scale (the 100,000-service import included)
    python -m bench --only get --quick   one figure, scaled down
    python -m bench --compare bench/results/OLD.json   previous figures beside the new ones
    python -m bench --only get,start --against ../main  another checkout measured side by side

Each run also writes its figures as JSON (bench/results/<UTC time>.json, or --json PATH). The machine's load
(`os.getloadavg`) is recorded before each figure: on a shared machine, read the figures with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import FIGURES, OPTIONS
from bench.servers import ROOT


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(names: list[str], quick: bool) -> list[dict[str, Any]]:
    results = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            load_before = _load()
            print(f"... {name} (load {load_before})", flush=True)
            started = time.perf_counter()
            try:
                figure = FIGURES[name](Path(tmp), quick)
            except Exception as exc:  # a figure that cannot be measured is reported, not fatal
                traceback.print_exc()
                figure = {"figure": name, "target": "", "value": None, "measured": f"FAILED: {exc}"}
            figure.update(name=name, load=load_before, seconds=time.perf_counter() - started)
            results.append(figure)
    return results


def table(results: list[dict[str, Any]], previous: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("figure", "target", "measured", "load (1/5/15 min)")]
    if previous:
        rows = [(*rows[0], "previous")]
    for r in results:
        row: tuple[str, ...] = (r["figure"], r["target"], r["measured"], r["load"])
        if previous:
            row = (*row, previous.get(r["name"], {}).get("measured", "-"))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help=f"comma-separated figures among {', '.join(FIGURES)}")
    parser.add_argument("--quick", action="store_true", help="scaled-down runs (seconds, not minutes)")
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/)")
    parser.add_argument("--compare", type=Path, help="a previous results file to print beside this run")
    parser.add_argument("--against", type=Path, help="another checkout (e.g. ../main) measured side by side "
                        "where a figure can (get, start, tree)")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose among {', '.join(FIGURES)}")
    previous = {}
    if args.compare:
        previous = {f["name"]: f for f in json.loads(args.compare.read_text())["figures"]}
    OPTIONS["against"] = args.against.resolve() if args.against else None
    results = run(names, args.quick)
    print()
    print(table(results, previous))
    print(f"\nuptime load {_load()}, {os.cpu_count()} cores, commit {_commit()}, quick={args.quick}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json or ROOT / "bench" / "results" / f"{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"at": stamp, "commit": _commit(), "quick": args.quick, "cores": os.cpu_count(),
                                "figures": results}, indent=2, default=str))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
