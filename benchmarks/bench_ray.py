"""Order-5 estimation on Ray (2 local workers) against the single-process `kneser build`, on
en-bench, with the overheads of the distributed flow named: cluster start, task startup and
scheduling (stage wall minus the longest task), count-file and partition I/O (bytes written and
read back), the partitioned merge, and the one-node estimation from the partitions.

    python benchmarks/bench_ray.py                             # en-bench, order 5, 2 workers
    python benchmarks/bench_ray.py --corpus /work/bench/en-bench.txt --order 3 --check

Needs `pip install "ray[data]"` and a release build (`maturin develop --release`).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import CACHE, corpus, measure


def split(path: Path, parts: int, out_dir: Path) -> list[Path]:
    """Cuts `path` into `parts` files of whole lines of about equal size (corpus order kept)."""
    data = path.read_bytes()
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
    return out


def digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def mb(n: float) -> str:
    return f"{n / 1e6:8.1f} MB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="en", help="en, zh or a path (default: en)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2, help="Ray CPUs = shards = partitions")
    ap.add_argument("--memory", default="2G", help="single process and final-estimate budget")
    ap.add_argument("--task-memory", default="1G", help="budget of each count and merge task")
    ap.add_argument("--check", action="store_true", help="compare the two ARPAs byte for byte")
    args = ap.parse_args()
    path = corpus(args.corpus)
    w = args.workers

    import ray

    import kneser.ray as kray

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        tmp = Path(tmp)
        shards = split(path, w, tmp)
        single = tmp / "single.arpa"
        cmd = [
            sys.executable, "-m", "kneser.cli", "build", "-q", "-o", str(args.order),
            "-S", args.memory, "-T", str(tmp), "--threads", str(w),
            "--text", str(path), "--arpa", str(single),
        ]  # fmt: skip
        one = measure(cmd)
        if one.returncode != 0:
            print(f"single-process build failed ({one.returncode})")
            return 1
        print(f"{path.name} ({mb(path.stat().st_size).strip()}), order {args.order}, {w} CPUs")
        print(f"single process (kneser build -S {args.memory}): {one.row()}")

        t0 = time.perf_counter()
        ray.init(num_cpus=w, include_dashboard=False, log_to_driver=False)
        init = time.perf_counter() - t0
        # A trivial task measures the cost of starting a worker process.
        t1 = time.perf_counter()
        ray.get([ray.remote(lambda: None).remote() for _ in range(w)])
        warm = time.perf_counter() - t1
        arpa = tmp / "ray.arpa"
        t2 = time.perf_counter()
        s = kray.estimate(
            shards,
            args.order,
            arpa,
            workdir=tmp / "work",
            partitions=w,
            memory=args.task_memory,
            final_memory=args.memory,
            temp_dir=tmp,
            threads=1,
            final_threads=w,
            keep_files=True,
        )
        total = time.perf_counter() - t2
        ray.shutdown()
        work = tmp / "work"
        count_bytes = sum(p.stat().st_size for p in (work / "counts").iterdir())
        part_bytes = sum(p.stat().st_size for p in (work / "partitions").iterdir())
        st = s["stages"]
        ct, mt = s["count_task_seconds"], s["merge_task_seconds"]
        print(f"Ray, {w} local workers (tasks -S {args.task_memory}, final -S {args.memory}):")
        print(f"  cluster start (ray.init)         {init:7.2f} s   (not in the total below)")
        print(f"  first tasks (worker processes)    {warm:7.2f} s   (not in the total below)")
        print(
            f"  1 count      {st['count']:7.2f} s   tasks {' '.join(f'{x:.2f}' for x in ct)} s;"
            f" startup+scheduling {st['count'] - max(ct):.2f} s; count files {mb(count_bytes)}"
        )
        print(
            f"  2-3 merge    {st['merge']:7.2f} s   partition tasks "
            f"{' '.join(f'{x:.2f}' for x in mt)} s; vocabulary pass + histograms + startup "
            f"{st['merge'] - max(mt):.2f} s; reads the count files {w}x ({mb(w * count_bytes)}),"
            f" writes partitions {mb(part_bytes)}"
        )
        print(
            f"  4 estimate   {st['estimate']:7.2f} s   one node, {w} threads: reads the partitions"
            " through the sorter, then stages 2-5 as the single process"
        )
        print(
            f"  total        {total:7.2f} s   = {total / one.wall:.2f}x the single process's wall"
        )
        cpu = s["cpu_seconds"]
        one_cpu = one.user + one.sys
        print(
            f"  CPU seconds (task processes): count {cpu['count']:.1f} + merge {cpu['merge']:.1f}"
            f" + estimate {cpu['estimate']:.1f} = {sum(cpu.values()):.1f} s vs single process "
            f"{one_cpu:.1f} s ({sum(cpu.values()) / one_cpu:.2f}x); the estimate stage alone is "
            f"{cpu['estimate'] / one_cpu:.2f}x the single process"
        )
        for lo, hi, records in s["partitions"]:
            print(f"    partition ids [{lo}, {hi}): {records} windows")
        if args.check:
            same = digest(arpa) == digest(single)
            print(f"  ARPA byte-identical to the single process: {same}")
            if not same:
                return 1
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
