//! The agent's view of results documents: the `archscope_bench_*` series.
use archscope_bench::testing::pair;

#[test]
fn results_become_bench_series() {
    let (a, _) = pair();
    let fams = super::families(&a.results);
    let median = fams.iter().find(|f| f.name == "bench_median").unwrap();
    assert_eq!(median.series.len(), 4);
    let labels: Vec<(&str, &str)> = median.series[0]
        .labels
        .iter()
        .map(|(k, v)| (*k, &**v))
        .collect();
    assert_eq!(
        labels,
        [
            ("benchmark", "syscall.getppid"),
            ("arch", "amd64"),
            ("unit", "ns/op"),
            ("higher_is_better", "false")
        ]
    );
    // IPC only where the PMU counted it
    let ipc = fams.iter().find(|f| f.name == "bench_ipc").unwrap();
    assert_eq!(ipc.series.len(), 1);
    let text = crate::export::prometheus::render(
        &crate::collect::Snapshot { families: fams },
        crate::export::prometheus::Format::OpenMetrics,
    );
    assert!(text.contains("archscope_bench_median{benchmark=\"memory.read\",arch=\"amd64\",unit=\"GB/s\",higher_is_better=\"true\"} 10.0"), "{text}");
    assert!(
        text.contains("archscope_bench_run_timestamp_seconds{"),
        "{text}"
    );
}
