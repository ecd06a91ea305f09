"""Writes bench/RESULTS.md and bench/*.png from bench/results.json (see bench/run)."""

from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS_MD = BENCH / "RESULTS.md"
NOTES_MD = BENCH / "results-notes.md"


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(value):
    return "n/a" if value is None else f"**{value:.2f}**"


def meta_line(meta):
    sizes = meta["sizes"]
    return (f"Measured {meta['date']} at commit `{meta['commit']}` on {meta['machine']}; "
            f"`{meta['command']}` ({meta['mode']} sizes, {sizes['repeats']} repeat(s), medians).")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def plot_producer(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = result["rows"]
    labels = [f"{r['client'].split()[0]}\n{r['size']} B p{r['partitions']}\nacks={r['acks']}" for r in rows]
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.4
    for offset, name in ((-width / 2, "tidelog"), (width / 2, "kafka")):
        ax.bar([x + offset for x in xs], [(r["median_records_per_s"].get(name) or 0) / 1e3 for r in rows],
               width, label="tidelog" if name == "tidelog" else "Apache Kafka")
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_ylabel("thousand records/s (median)")
    ax.set_title("Producer throughput, same client against each broker")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    levels = result["levels"]
    fig, axes = plt.subplots(1, len(levels), figsize=(4.5 * len(levels), 4), sharey=True)
    for ax, level in zip(axes, levels):
        for name, style in (("tidelog", "-o"), ("kafka", "--s")):
            runs = [r for r in level["runs"][name] if not r.get("overloaded")]
            if not runs:
                continue
            # The run with the median p99 stands for the broker at this rate.
            run = sorted(runs, key=lambda r: r["p99_us"])[len(runs) // 2]
            points = [(p, v) for p, v in run["percentiles_us"] if p < 100]
            ax.plot([1 / (1 - p / 100) for p, _ in points], [v / 1000 for _, v in points], style,
                    label="tidelog" if name == "tidelog" else "Apache Kafka")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = [2, 10, 100, 1000, 10000]
        ax.set_xticks(ticks, ["p50", "p90", "p99", "p99.9", "p99.99"])
        ax.set_title(f"{level['fraction']:.0%} load ({level['rate']:,} records/s)")
        ax.set_xlabel("percentile")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("produce-to-consume latency, ms")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_bars(pairs, title, ylabel, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4))
    names = [n for n, _ in pairs]
    ax.barh(names, [v or 0 for _, v in pairs])
    ax.set_xlabel(ylabel)
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section_limits(w):
    r = w["result"]
    return ["## 6. The machine's limits", meta_line(w["meta"]), "",
            table(["What", "MB/s (median)", "Runs"],
                  [["Loopback TCP, one connection, 1 MiB writes", fmt(r["tcp_median"]),
                    ", ".join(fmt(v) for v in r["tcp_mb_per_s"])],
                   ["Sequential disk write, 1 MiB writes, fsync at the end", fmt(r["disk_median"]),
                    ", ".join(fmt(v) for v in r["disk_mb_per_s"])]]),
            "", f"Command: `{r['command']}` (`bench/src/bin/limits.rs`)."]


def section_producer(w, limits):
    r = w["result"]
    rows = []
    for row in r["rows"]:
        m = row["median_records_per_s"]
        t, k = m.get("tidelog"), m.get("kafka")
        mb = (t or 0) * row["size"] / 1e6
        share = f"{mb / limits['tcp_median']:.1%} of loopback" if limits else ""
        rows.append([row["client"], row["size"], row["partitions"], row["acks"], fmt(row["records"]),
                     f"{fmt(t)} ({mb:.1f} MB/s) {share}", f"{fmt(k)} ({(k or 0) * row['size'] / 1e6:.1f} MB/s)",
                     ratio(row["ratio"]), cpu_cell(row["runs"])])
    peak = r["peak_rss_kib"]
    out = ["## 1. Producer throughput", meta_line(w["meta"]), "",
           table(["Client", "Record B", "Partitions", "acks", "Records", "tidelog records/s",
                  "Kafka records/s", "tidelog / Kafka", "broker CPU s per 1M records, tidelog / Kafka"], rows), "",
           "![producer throughput](producer_throughput.png)", "",
           f"Peak broker resident memory during this workload (VmRSS sampled every 100 ms): "
           f"tidelog {fmt(peak.get('tidelog', 0) / 1024, 1)} MiB, Apache Kafka {fmt(peak.get('kafka', 0) / 1024, 1)} MiB.",
           "", "Commands (T is a new topic per run, deleted afterwards):", ""]
    out += [f"- `{row['command']}`" for row in r["rows"]]
    return out


def section_consumer(w):
    r = w["result"]
    rows = [[name, fmt(r["median_records_per_s"].get(name)),
             fmt(median_of(runs, "with_group_join_records_per_s")),
             ", ".join(fmt(x["records_per_s"]) for x in runs)] for name, runs in r["runs"].items()]
    cpu = cpu_cell(r["runs"])
    return ["## 2. Consumer throughput", meta_line(w["meta"]), "",
            f"{r['records']:,} records of 100 B read from the beginning of one partition by Kafka's "
            f"ConsumerPerformance; the rate is its `fetch.nMsg.sec` (from the first record, the group join left "
            f"out; Kafka's `group.initial.rebalance.delay.ms` is 3 s by default). The issue's full size is "
            f"10,000,000 records: `bench/run --only consumer --consumer-records 10000000`.", "",
            table(["Broker", "records/s (median)", "incl. group join", "runs"], rows), "",
            f"tidelog / Kafka = {ratio(r['ratio'])}; broker CPU s per 1M records read, tidelog / Kafka: {cpu}.", "",
            f"Command: `{r['command']}`"]


def cpu_cell(runs):
    """Median broker CPU seconds (user + system) per million records, when measured."""
    import statistics
    cells = []
    for name in ("tidelog", "kafka"):
        values = [r["broker_cpu_s_per_m_records"] for r in runs.get(name, []) if "broker_cpu_s_per_m_records" in r]
        cells.append(f"{statistics.median(values):.2f}" if values else "n/a")
    return " / ".join(cells)


def median_of(runs, key):
    import statistics
    return statistics.median([x[key] for x in runs])


def section_latency(w):
    r = w["result"]
    rows = []
    for level in r["levels"]:
        s = level["summary"]
        overloaded = level.get("overloaded", {})

        def cell(name, key):
            value = s[key]["median"].get(name)
            if value is None and overloaded.get(name):
                return f"overloaded ({overloaded[name]} of {len(level['runs'][name])} runs)"
            return fmt(value and value / 1000, 2)

        for key, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
            rows.append([f"{level['fraction']:.0%} ({level['rate']:,}/s)", label,
                         cell("tidelog", key), cell("kafka", key), ratio(s[key]["ratio"])])
    maxes = r["max_records_per_s"]
    return ["## 3. End-to-end latency at fixed rates", meta_line(w["meta"]), "",
            f"Open-loop generator `bench/src/bin/e2e_latency.rs` with tidelog's Rust producer and consumer in one "
            f"process, the same client against both brokers: record i is due at start + i/rate and carries that "
            f"due time; latency = consumer receipt minus due time, so late sends count (no coordinated omission). "
            f"100 B records, one partition, acks=1, linger.ms=1; the first seconds are warm-up. The sender wakes "
            f"on tokio's 1 ms timer, so up to ~1 ms of every latency is the generator's. Max rate with this "
            f"client (median of probes): tidelog {fmt(maxes.get('tidelog'))}, Kafka {fmt(maxes.get('kafka'))} "
            f"records/s; the loads are fractions of the slower one. A run is overloaded when the broker does not keep "
            f"up with its rate: the sends fall 5 s behind the schedule, or buffer.memory stays full for "
            f"max.block.ms (5 s). Its latency has no bound, so it counts as infinite in the medians.", "",
            table(["Load", "Percentile", "tidelog ms", "Kafka ms", "tidelog / Kafka"], rows), "",
            "![latency percentiles](latency.png)", "", f"Command: `{r['command']}`"]


def section_startup(w):
    r = w["result"]
    rows = []
    for name, entry in r.items():
        if "missing" in entry:
            rows.append([name, entry["missing"], "", "", ""])
            continue
        notes = []
        for key, label in (("listening_ms", "port open at"), ("broker_start_ms", "broker up at"),
                           ("import_ms", "loading the SDK (`import` / `require`) before it")):
            values = [r[key] for r in entry["runs"] if key in r]
            if values:
                notes.append(f"{label} {fmt(sorted(values)[len(values) // 2], 1)} ms")
        rows.append([name, fmt(entry["median_first_ack_ms"], 1), "; ".join(notes),
                     fmt((entry["median_rss_idle_kib"] or 0) / 1024, 1),
                     f"`{entry['command']}`"])
    return ["## 4. Start-up and idle memory", meta_line(w["meta"]), "",
            "Time from process start (spawn; for the Rust embedded broker the first line of `main`; for "
            "Python and Node the creation of the EmbeddedBroker, with loading the SDK timed apart) to the "
            "first acknowledged produce (acks=1, to a topic the broker auto-creates), and "
            "VmRSS after idling (for the embedded brokers: the whole process, client included).", "",
            table(["Broker", "start to first ack, ms (median)", "of which (medians)", "idle RSS MiB", "Command"],
                  rows)]


def section_clients(w):
    r = w["result"]
    out = ["## 5. Clients against the same (tidelog) broker", meta_line(w["meta"]), ""]
    rl = r["rust_vs_librdkafka"]
    rows = [[name, fmt(m["produce"]), fmt(m["consume"]),
             ratio(rl["ratios"].get(name, {}).get("produce")), ratio(rl["ratios"].get(name, {}).get("consume"))]
            for name, m in rl["medians"].items()]
    out += [f"Rust vs librdkafka, {rl['records']:,} x 100 B, one partition, acks=1, linger.ms=5, "
            f"batch.size=1000000:", "",
            table(["Client", "produce records/s", "consume records/s", "tidelog Rust / this (produce)",
                   "(consume)"], rows), "", f"Command: `{rl['command']}`", ""]
    py = r["python_vs_confluent"]
    out += [f"Python, {py['records']:,} x 100 B, acks=1, the same loop for both "
            f"(`bench/python/producer_vs_confluent.py`):", "",
            table(["Client", "records/s (median)"], [[k, fmt(v)] for k, v in py["medians"].items()]), "",
            f"tidelog / confluent_kafka = {ratio(py['ratio'])}", "", f"Command: `{py['command']}`", ""]
    node = r["node_vs_kafkajs"]
    rows = [[k, fmt(v)] for k, v in node["medians"].items()]
    out += [f"Node, {node['records']:,} x 100 B, acks=1, 1000 records per send, 8 sends in flight "
            f"(`bench/node/producer.js`, the same script for both):", "",
            table(["Client", "records/s (median)"], rows), "",
            f"tidelog / kafkajs = {ratio(node.get('ratio'))}" + (f" ({node['missing']})" if node.get("missing") else ""),
            "", f"Command: `{node['command']}`"]
    return out


def targets(results):
    w = results["workloads"]
    lines = ["## Targets", "", table(["Target", "Measured", "Met?"], target_rows(w)), ""]
    return lines


def target_rows(w):
    rows = []

    def add(name, value, ok, text):
        rows.append([name, text if value is not None else "not measured",
                     "n/a" if value is None else ("yes" if ok else "**no**")])
    if "producer" in w:
        java = [r for r in w["producer"]["result"]["rows"] if r["client"].startswith("Java") and r["ratio"]]
        worst = min((r["ratio"] for r in java), default=None)
        add("producer >= 1.5x Kafka, same (Java) client", worst, worst is not None and worst >= 1.5,
            "ratios " + ", ".join(f"{r['size']}B/p{r['partitions']}/acks={r['acks']}: {r['ratio']:.2f}" for r in java))
    if "latency" in w:
        half = next((lv for lv in w["latency"]["result"]["levels"] if lv["fraction"] == 0.5), None)
        value = half and half["summary"]["p99_us"]["ratio"]
        add("p99 at 50% load <= 1/5 of Kafka's", value, value is not None and value <= 0.2,
            f"tidelog / Kafka = {value:.2f}" if value else "")
    if "startup" in w:
        s = w["startup"]["result"]

        def ms(name):
            return s.get(name, {}).get("median_first_ack_ms")
        for name, limit in (("EmbeddedBroker (Rust)", 10), ("EmbeddedBroker (Python)", 10),
                            ("EmbeddedBroker (Node)", 10), ("tidelog serve", 50)):
            value = ms(name)
            add(f"{name} start to first ack < {limit} ms", value, value is not None and value < limit,
                f"{value:.1f} ms" if value is not None else "")
        rss = s.get("tidelog serve", {}).get("median_rss_idle_kib")
        add("idle RSS < 20 MiB (tidelog serve)", rss, rss is not None and rss < 20 * 1024,
            f"{rss / 1024:.1f} MiB" if rss else "")
    if "clients" in w:
        c = w["clients"]["result"]
        rl = c["rust_vs_librdkafka"]["ratios"]
        kcat = rl.get("librdkafka via kcat (C)", {}).get("produce")
        add("Rust producer >= librdkafka (kcat, C)", kcat, kcat is not None and kcat >= 1, f"{kcat:.2f}" if kcat else "")
        py = c["python_vs_confluent"]["ratio"]
        add("Python >= confluent-kafka", py, py >= 1, f"{py:.2f}")
        node = c["node_vs_kafkajs"].get("ratio")
        add("Node >= 5x KafkaJS", node, node is not None and node >= 5, f"{node:.2f}" if node else "")
    return rows


def write(results):
    w = results["workloads"]
    limits = w.get("limits", {}).get("result")
    parts = ["# tidelog benchmark results", "",
             "Generated by `bench/run` from `bench/results.json`; do not edit by hand (notes on what bounds "
             "each result are in `bench/results-notes.md`, included below). One machine, one run: the two "
             "brokers run side by side, only one is exercised at a time, runs alternate tidelog / Kafka so the "
             "machine's noise (a small VM: see the notes for its load) hits both; numbers are medians. "
             "Apache Kafka runs with its default configuration except ports, data dir and heap "
             "(`-Xmx1G -Xms1G`, as `kafka-server-start.sh`); tidelog with `tidelog serve` defaults. "
             "Neither fsyncs before acknowledging (both leave it to the OS by default).", ""]
    any_meta = next(iter(w.values()))["meta"] if w else None
    if any_meta:
        versions = {k: " ".join(v) if isinstance(v, list) else v for k, v in any_meta["versions"].items() if v}
        parts += [f"Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}.", ""]
    parts += targets(results)
    if NOTES_MD.exists():
        parts += [NOTES_MD.read_text().strip(), ""]
    if "producer" in w:
        parts += section_producer(w["producer"], limits) + [""]
        plot_producer(w["producer"]["result"], BENCH / "producer_throughput.png")
    if "consumer" in w:
        parts += section_consumer(w["consumer"]) + [""]
    if "latency" in w:
        parts += section_latency(w["latency"]) + [""]
        plot_latency(w["latency"]["result"], BENCH / "latency.png")
    if "startup" in w:
        parts += section_startup(w["startup"]) + [""]
    if "clients" in w:
        parts += section_clients(w["clients"]) + [""]
        c = w["clients"]["result"]
        pairs = [(f"{name} (produce)", m["produce"] / 1e3) for name, m in c["rust_vs_librdkafka"]["medians"].items()]
        pairs += [(f"Python {k}", v / 1e3) for k, v in c["python_vs_confluent"]["medians"].items()]
        pairs += [(f"Node {k}", (v or 0) / 1e3) for k, v in c["node_vs_kafkajs"]["medians"].items()]
        plot_bars(pairs, "Clients against the tidelog broker, 100 B records", "thousand records/s (median)",
                  BENCH / "clients.png")
        parts += ["![clients](clients.png)", ""]
    if limits:
        parts += section_limits(w["limits"]) + [""]
    RESULTS_MD.write_text("\n".join(parts))
