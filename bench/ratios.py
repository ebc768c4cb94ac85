#!/usr/bin/env python3
"""Ratios of one Google Benchmark run of bench_paths, bench_engines or bench_maps (JSON output).

    ./build/bench/bench_paths --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true \
        --benchmark_format=json > paths.json
    bench/ratios.py paths.json [engines.json] [maps.json]

Uses the median aggregate of each row when the run has repetitions, else its single result, and
prints the ratios bench/README.md records: test-run path against the kernel's test-run, the
verified (RunMode::Auto) test-run against the same one checked, direct-call
API and Executable::run against native, run() overhead over a direct call, JIT compile cost (fixed
and marginal per instruction), interpreter ns per instruction and its ratio to the JIT, and hash-map
lookups against the plain table. Every ratio comes from rows of the same run.
"""
import json
import math
import sys


def rows(path):
    with open(path) as f:
        data = json.load(f)
    medians, singles = {}, {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[b["run_name"]] = b
        else:
            singles.setdefault(b["run_name"], b)
    return medians or singles


def value(row, key):
    if key == "cpu":
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[row["time_unit"]]
        return row["cpu_time"] * scale
    return row.get(key)


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def paths_report(r):
    anchors = sorted({name.split("/")[0] for name in r if not name.startswith("return0")})
    print("## bench_paths: ns per program run (thread CPU; test-run rows also the reported duration)")
    cols = ["native", "native_scalar", "run_jit", "direct_jit", "testrun_jit", "run_jit_checked", "direct_jit_checked",
            "testrun_jit_checked", "direct_interp", "testrun_interp", "testrun_interp_checked", "kernel"]
    print("| anchor | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for a in anchors:
        cells = []
        for c in cols:
            row = r.get(f"{a}/{c}")
            if row is None:
                cells.append("-")
                continue
            ns = value(row, "ns/run")
            dur = value(row, "dur_ns")
            cells.append(f"{ns:.4g}" + (f" ({dur:.4g})" if dur is not None else ""))
        print(f"| {a} | " + " | ".join(cells) + " |")

    def ratio_table(title, pairs):
        print(f"\n## {title}")
        print("| anchor | " + " | ".join(label for label, _, _ in pairs) + " |")
        print("|---" * (len(pairs) + 1) + "|")
        per_col = [[] for _ in pairs]
        for a in anchors:
            cells = []
            for i, (_, num, den) in enumerate(pairs):
                n, d = r.get(f"{a}/{num[0]}"), r.get(f"{a}/{den[0]}")
                if n is None or d is None or value(n, num[1]) is None or value(d, den[1]) is None:
                    cells.append("-")
                    continue
                x = value(n, num[1]) / value(d, den[1])
                per_col[i].append(x)
                cells.append(f"{x:.2f}x")
            print(f"| {a} | " + " | ".join(cells) + " |")
        print("| geomean | " + " | ".join(f"{geomean(c):.2f}x" if c else "-" for c in per_col) + " |")

    ratio_table("test-run path / kernel test-run (durations as each reports them)", [
        ("jit unchecked", ("testrun_jit", "dur_ns"), ("kernel", "dur_ns")),
        ("jit checked", ("testrun_jit_checked", "dur_ns"), ("kernel", "dur_ns")),
        ("interp", ("testrun_interp", "dur_ns"), ("kernel", "dur_ns")),
    ])
    ratio_table("verified program through the test-run: RunMode::Auto (ran unchecked) / RunMode::Checked", [
        ("jit", ("testrun_jit", "dur_ns"), ("testrun_jit_checked", "dur_ns")),
        ("interp", ("testrun_interp", "dur_ns"), ("testrun_interp_checked", "dur_ns")),
    ])
    fell_back = [n for n, row in r.items() if n.split("/")[-1] in ("testrun_jit", "testrun_interp") and row.get("checked")]
    if fell_back:
        print("(ran checked under Auto, the verifier rejected them: " + ", ".join(sorted(fell_back)) + ")")
    ratio_table("JIT paths / native (CPU per run)", [
        ("direct", ("direct_jit", "ns/run"), ("native", "ns/run")),
        ("run()", ("run_jit", "ns/run"), ("native", "ns/run")),
        ("test-run", ("testrun_jit", "ns/run"), ("native", "ns/run")),
        ("direct checked", ("direct_jit_checked", "ns/run"), ("native", "ns/run")),
        ("direct / native scalar", ("direct_jit", "ns/run"), ("native_scalar", "ns/run")),
    ])
    print("\n## return 0: ns per call")
    print("| path | ns | over the direct call |")
    print("|---|---|---|")
    for name in sorted(n for n in r if n.startswith("return0/")):
        ns = value(r[name], "ns/run")
        path = name.split("/")[1]
        base = None
        if path.startswith("run_"):
            d = r.get("return0/direct_" + path[4:])
            base = value(d, "ns/run") if d else None
        print(f"| {path} | {ns:.2f} | " + (f"+{ns - base:.2f}" if base is not None else "") + " |")


def engines_report(r):
    print("\n## bench_engines: interpreter ns per executed instruction and interp/jit")
    print("| program | interp ns/insn | interp / jit | jit / native |")
    print("|---|---|---|---|")
    for p in sorted({n.split("/")[0] for n in r if "/" in n and not n.startswith("prepare")}):
        i, j, nat = r.get(f"{p}/interp"), r.get(f"{p}/jit"), r.get(f"{p}/native")
        if i is None:
            continue
        cells = [f"{value(i, 'ns/insn'):.3f}"]
        cells.append(f"{value(i, 'cpu') / value(j, 'cpu'):.1f}x" if j else "-")
        cells.append(f"{value(j, 'cpu') / value(nat, 'cpu'):.2f}x" if j and nat else "-")
        print(f"| {p} | " + " | ".join(cells) + " |")
    print("\n## JIT compile (prepare) cost")
    for variant in ("jit", "jit_unchecked"):
        sizes = []
        for n, row in r.items():
            parts = n.split("/")
            if len(parts) == 3 and parts[0] == "prepare" and parts[2] == variant and parts[1].startswith("dense_"):
                sizes.append((int(parts[1].split("_")[1]), value(row, "cpu")))
        sizes.sort()
        tiny = r.get(f"prepare/tiny_3/{variant}")
        line = f"{variant}: fixed (3 insns) {value(tiny, 'cpu') / 1e3:.1f} us" if tiny else variant + ":"
        for (n1, t1), (n2, t2) in zip(sizes, sizes[1:]):
            line += f"; marginal {n1}->{n2}: {(t2 - t1) / (n2 - n1):.1f} ns/insn"
        print(line)


def maps_report(r):
    print("\n## bench_maps: ns per operation (CPU, per thread)")
    plain = r.get("BM_PlainTableLookup/threads:1")
    for name in sorted(r):
        row = r[name]
        line = f"{name}: {value(row, 'cpu'):.2f} ns"
        if "Lookup/threads:1" in name and plain:
            line += f" ({value(row, 'cpu') / value(plain, 'cpu'):.2f}x the plain table)"
        if "threads:2" in name:
            one = r.get(name.replace("threads:2", "threads:1"))
            if one:
                line += f" (2-thread throughput {2 * value(one, 'cpu') / value(row, 'cpu'):.2f}x one thread, if both ran at once)"
        print(line)


def main():
    for path in sys.argv[1:]:
        r = rows(path)
        if any(n.startswith("return0/") for n in r):
            paths_report(r)
        elif any(n.startswith("prepare/") or n.endswith("/interp") for n in r):  # a filtered run may lack prepare rows
            engines_report(r)
        elif any(n.startswith("BM_") for n in r):
            maps_report(r)
        else:
            print(f"{path}: no known benchmark rows")


if __name__ == "__main__":
    main()
