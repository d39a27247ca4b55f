//! Results documents built in code, for the tests of this crate and of the agent.
use std::collections::BTreeMap;

use crate::compare::{self, Side};
use crate::schema::{Benchmark, Host, Pmu, Results, SCHEMA, Settings, Suite};

pub fn host(goarch: &str, arch: &str) -> Host {
    Host {
        hostname: format!("{goarch}-node"),
        arch: arch.into(),
        goarch: goarch.into(),
        cpu_vendor: "Vendor".into(),
        cpu_model: "Model <1>".into(),
        cpus: 4,
        sockets: 1,
        cores_per_socket: 4,
        threads_per_core: 1,
        cpu_mhz: 2600.0,
        numa_nodes: 1,
        l2_bytes: 1 << 20,
        l3_bytes: 32 << 20,
        memory_bytes: 8 << 30,
        kernel: "6.1.0".into(),
        os: "Debian GNU/Linux 12 (bookworm)".into(),
        virtualization: String::new(),
    }
}

pub fn bench(name: &str, cat: &str, unit: &str, hib: bool, samples: &[f64]) -> Benchmark {
    Benchmark {
        name: name.into(),
        version: 1,
        category: cat.into(),
        unit: unit.into(),
        higher_is_better: hib,
        description: "d".into(),
        params: BTreeMap::from([("calls".to_string(), serde_json::json!(1000))]),
        samples: samples.to_vec(),
        pmu: Pmu::default(),
    }
}

pub fn results(goarch: &str, arch: &str, benches: Vec<Benchmark>) -> Results {
    Results {
        schema: SCHEMA.into(),
        suite: Suite {
            name: "archscope-bench".into(),
            version: "1".into(),
        },
        agent_version: "0.1.0".into(),
        started_at: "2026-11-22T04:00:00Z".into(),
        duration_seconds: 12.5,
        host: host(goarch, arch),
        settings: Settings {
            quick: false,
            repetitions: 9,
            warmup: 1,
            pinned_cpu: None,
        },
        sampling: crate::schema::Sampling {
            scheme: crate::schema::INTERLEAVED.into(),
            rounds: 1,
            pause_seconds: 0.0,
            order_seed: Some(1),
        },
        calibration: None,
        benchmarks: benches,
    }
}

pub fn pair() -> (Side, Side) {
    let mut pmu = Pmu::default();
    pmu.per_op.insert("cycles".into(), 120.0);
    pmu.per_op.insert("instructions".into(), 240.0);
    pmu.ipc = Some(2.0);
    pmu.cache_mpki = Some(0.5);
    let mut getppid_a = bench(
        "syscall.getppid",
        "kernel",
        "ns/op",
        false,
        &[48.1, 47.9, 48.6, 49.0, 48.2, 47.7, 48.8, 48.3, 50.1],
    );
    getppid_a.pmu = pmu;
    let a = results(
        "amd64",
        "x86_64",
        vec![
            getppid_a,
            bench(
                "memory.read",
                "memory",
                "GB/s",
                true,
                &[10.0, 10.1, 9.9, 10.2, 10.0, 9.8, 10.1, 10.0, 10.05],
            ),
            bench(
                "compute.int",
                "compute",
                "Miter/s",
                true,
                &[
                    500.0, 501.0, 499.0, 500.5, 500.2, 499.8, 500.1, 500.3, 499.9,
                ],
            ),
            bench("only.a", "compute", "x", true, &[1.0; 9]),
        ],
    );
    let mut b = results(
        "arm64",
        "aarch64",
        vec![
            bench(
                "syscall.getppid",
                "kernel",
                "ns/op",
                false,
                &[52.3, 51.8, 53.0, 49.9, 52.2, 51.1, 52.7, 50.5, 51.6],
            ),
            bench(
                "memory.read",
                "memory",
                "GB/s",
                true,
                &[12.0, 12.1, 11.9, 12.2, 12.0, 11.8, 12.1, 12.0, 12.05],
            ),
            bench(
                "compute.int",
                "compute",
                "Miter/s",
                true,
                &[
                    500.1, 499.2, 501.0, 500.0, 500.4, 499.7, 500.2, 500.6, 499.5,
                ],
            ),
        ],
    );
    b.benchmarks[1].samples.truncate(3);
    b.suite.version = "2".into();
    b.host.virtualization = "qemu (linux,dummy-virt)".into();
    (
        compare::side(a, "a.json".into()),
        compare::side(b, "b.json".into()),
    )
}
