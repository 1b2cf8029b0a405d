"""The partitioned estimation on Ray against the single-process `kneser build`, at the same
memory budget: per stage wall, CPU seconds, bytes exchanged, the largest task's peak RSS and
temp disk, and the ratio of the largest estimation task's peak RSS to the single process's
peak (issue 18's goal: at most 0.4 with P = 4). Then a simulation of the wall time on 16 and
64 workers from the measured per-partition costs and exchange sizes (the model in docs/ray.md).

    python benchmarks/bench_ray.py                              # en-bench, order 5, P = 4
    python benchmarks/bench_ray.py --lines 100000 --check       # a prefix of en-bench
    python benchmarks/bench_ray.py --partitioned off            # the one-node estimation

Needs `pip install "ray[data]"` and a release build (`maturin develop --release`).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import CACHE, corpus, measure


def split(path: Path, parts: int, out_dir: Path, lines: int | None) -> tuple[Path, list[Path]]:
    """The corpus (its first `lines` lines if given) and its cut into `parts` files of whole
    lines of about equal size (corpus order kept)."""
    data = path.read_bytes()
    if lines is not None:
        end = 0
        for _ in range(lines):
            j = data.find(b"\n", end)
            if j < 0:
                end = len(data)
                break
            end = j + 1
        data = data[:end]
        path = out_dir / f"{path.stem}.{lines}.txt"
        path.write_bytes(data)
    cuts = [0]
    for i in range(1, parts):
        j = data.find(b"\n", len(data) * i // parts)
        cuts.append(len(data) if j < 0 else j + 1)
    cuts.append(len(data))
    out = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
        p = out_dir / f"shard{i}.txt"
        p.write_bytes(data[a:b])
        out.append(p)
    return path, out


def digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def sizes(work: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in work.glob(pattern) if p.is_file())


def simulate(tasks: list[dict], walls: dict[str, float], parts: int, workers: int,
             exchanged: int, bandwidth: float) -> dict[str, float]:  # fmt: skip
    """Wall seconds of each stage on `workers` workers with as many partitions, from the
    tasks measured with `parts` partitions (docs/ray.md, "Wall time on W workers").

    - A per-partition stage's work is split W ways: `Σ_p t(p) / W` times the measured
      imbalance (max / mean), plus its measured scheduling overhead (stage wall minus its
      longest task, once per wave).
    - A merge task also scans every count file: that part (the histogram tasks' total, a scan of
      all count files) does not shrink with W.
    - The single tasks (vocabulary pass, reduce, concat) stay as measured: the serial part.
    - Exchanges: the measured bytes of exchange 1 and 2 grow at most as the partitions do
      (E_k <= min(P C_k, N_k)): `exchanged * W / P` at `bandwidth` bytes/s, split W ways.
    """
    by = defaultdict(list)
    for t in tasks:
        by[t["stage"]].append(t)
    scan = sum(t["wall"] for t in by["merge/histogram"])
    out = {}
    for stage, ts in by.items():
        w = [t["wall"] for t in ts]
        overhead = max(0.0, walls.get(stage, max(w)) - max(w))
        if ts[0]["partition"] is None:
            out[stage] = walls.get(stage, max(w))
            continue
        total = sum(w)
        imbalance = max(w) / (total / len(w)) if total > 0 else 1.0
        if stage == "merge/partition":
            own = max(0.0, total - len(w) * scan)
            out[stage] = scan + own / workers * imbalance + overhead
        else:
            # Count and histogram tasks: one per shard, the input cut W ways like the rest.
            out[stage] = total / workers * imbalance + overhead
    out["exchange"] = exchanged * max(workers, parts) / parts / bandwidth / workers
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="en", help="en, zh or a path (default: en)")
    ap.add_argument("--lines", type=int, default=None, help="only the first N lines")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--partitions", type=int, default=4, help="P: shards = partitions")
    ap.add_argument("--workers", type=int, default=2, help="Ray CPUs of the local cluster")
    ap.add_argument("--memory", default="2G", help="the budget of the single process and of "
                    "every Ray task")  # fmt: skip
    ap.add_argument("--partitioned", choices=["on", "off"], default="on")
    ap.add_argument("--bandwidth", type=float, default=1e9, help="bytes/s of the shared FS "
                    "assumed by the simulation")  # fmt: skip
    ap.add_argument("--check", action="store_true", help="compare the two ARPAs byte for byte")
    args = ap.parse_args()
    src = corpus(args.corpus)
    P = args.partitions

    import ray

    import kneser.ray as kray

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        tmp = Path(tmp)
        path, shards = split(src, P, tmp, args.lines)
        single = tmp / "single.arpa"
        cmd = [
            sys.executable, "-m", "kneser.cli", "build", "-q", "-o", str(args.order),
            "-S", args.memory, "-T", str(tmp), "--threads", str(args.workers),
            "--text", str(path), "--arpa", str(single),
        ]  # fmt: skip
        one = measure(cmd)
        if one.returncode != 0:
            print(f"single-process build failed ({one.returncode})")
            return 1
        lines = f", first {args.lines} lines" if args.lines else ""
        print(f"{src.name}{lines} ({mb(path.stat().st_size)}), order {args.order}, P = {P}, "
              f"{args.workers} Ray CPUs, -S {args.memory} everywhere")  # fmt: skip
        print(f"single process (kneser build, {args.workers} threads): {one.row()}")
        one_rss = one.rss_mb * 1.048576e6  # ru_maxrss is KiB: rss_mb is MiB

        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        # A trivial task: the resident memory of an idle Ray worker (part of every task's peak).
        idle = ray.get(
            ray.remote(kray._measured).remote("idle", None, None, lambda: {"temp_bytes": 0})
        )["task"]["peak_rss"]
        arpa = tmp / "ray.arpa"
        t0 = time.perf_counter()
        s = kray.estimate(
            shards,
            args.order,
            arpa,
            workdir=tmp / "work",
            partitions=P,
            partitioned=args.partitioned == "on",
            memory=args.memory,
            final_memory=args.memory,
            temp_dir=tmp,
            threads=1,
            final_threads=args.workers,
            keep_files=True,
        )
        total = time.perf_counter() - t0
        ray.shutdown()
        work = Path(s["workdir"])
        tasks = s["tasks"]
        walls = {**s["stages"], **s.get("estimate_stages", {})}
        by = defaultdict(list)
        for t in tasks:
            by[t["stage"]].append(t)
        count_bytes = sizes(work, "counts/*")
        part_bytes = sizes(work, "partitions/*.counts")
        ex1 = sizes(work, "estimate/p*/in.*")
        ex2 = sizes(work, "estimate/p*/reply.*")
        pieces = sizes(work, "estimate/p*/piece.*")
        exchanged = {
            "merge/partition": len(by["merge/partition"]) * count_bytes,
            "estimate/contexts": ex1,
            "estimate/gamma": ex2,
            "estimate/concat": pieces,
        }
        print(f"  idle Ray worker RSS {mb(idle)} (included in every task's peak)")
        print(f"  {'stage':22} {'tasks':>5} {'wall s':>8} {'max task s':>10} {'CPU s':>8} "
              f"{'exchanged':>10} {'max peak RSS':>12} {'max temp':>10}")  # fmt: skip
        for stage, ts in by.items():
            wall = walls.get(stage, walls.get(stage.split("/")[0], 0.0))
            print(
                f"  {stage:22} {len(ts):5d} {wall:8.2f} {max(t['wall'] for t in ts):10.2f} "
                f"{sum(t['cpu'] for t in ts):8.1f} {mb(exchanged.get(stage, 0)):>10} "
                f"{mb(max(t['peak_rss'] for t in ts)):>12} "
                f"{mb(max(t['temp_bytes'] for t in ts)):>10}"
            )
        cpu = sum(t["cpu"] for t in tasks)
        one_cpu = one.user + one.sys
        print(f"  total wall {total:.2f} s = {total / one.wall:.2f}x the single process; CPU "
              f"{cpu:.1f} s = {cpu / one_cpu:.2f}x")  # fmt: skip
        print(f"  count files {mb(count_bytes)}, partitions {mb(part_bytes)}, ARPA "
              f"{mb(arpa.stat().st_size)}")  # fmt: skip
        est = [t for t in tasks if t["stage"].startswith("estimate")]
        big = max(est, key=lambda t: t["peak_rss"])
        print(
            f"  largest estimation task: {big['stage']} partition {big['partition']}, peak RSS "
            f"{mb(big['peak_rss'])} = {big['peak_rss'] / one_rss:.2f}x the single process's "
            f"{mb(one_rss)} (goal <= 0.4); without the idle worker's "
            f"{(big['peak_rss'] - idle) / one_rss:.2f}x"
        )
        big_temp = max(est, key=lambda t: t["temp_bytes"])
        print(f"  largest temp disk of an estimation task: {big_temp['stage']} partition "
              f"{big_temp['partition']}, {mb(big_temp['temp_bytes'])}")  # fmt: skip
        if args.partitioned == "on":
            w = args.workers
            measured = simulate(tasks, walls, P, w, ex1 + ex2, args.bandwidth)
            print(f"  simulated wall (W workers = partitions, shared FS {args.bandwidth / 1e9:g}"
                  " GB/s; model in docs/ray.md):")  # fmt: skip
            print(f"    W = {w:3d}, P = {P} (the model on the measured run): "
                  f"{sum(measured.values()):8.2f} s vs {total:.2f} s measured")  # fmt: skip
            for w in (16, 64):
                sim = simulate(tasks, walls, P, w, ex1 + ex2, args.bandwidth)
                parts = ", ".join(f"{k} {v:.2f}" for k, v in sim.items())
                print(f"    W = {w:3d}: {sum(sim.values()):8.2f} s  ({parts})")
        if args.check:
            same = digest(arpa) == digest(single)
            print(f"  ARPA byte-identical to the single process: {same}")
            if not same:
                return 1
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
