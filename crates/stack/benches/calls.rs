//! AWS calls and wall time of `plan`, an `apply` from nothing and a converged `apply` of
//! `examples/quickstart.yaml` on the local emulator, through a proxy that adds latency to
//! every call, so calls made one after another show in the time. Not a test: it prints
//! numbers for the next change to compare with.
//!
//!     scripts/bench.sh                      # starts the emulator, then runs this
//!     BENCH_LATENCY_MS=0,50 cargo bench -p stack --bench calls --profile dev

use std::time::{Duration, Instant};

use stack::{ApplyOptions, Stack, StackPlan};
use test_support::Emulator;
use test_support::proxy::Proxy;

#[tokio::main]
async fn main() {
    let latencies: Vec<u64> = std::env::var("BENCH_LATENCY_MS")
        .unwrap_or_else(|_| "0,50".to_owned())
        .split(',')
        .filter_map(|ms| ms.trim().parse().ok())
        .collect();
    println!(
        "{:>8}  {:<26} {:>6} {:>10}  distinct operations",
        "latency", "operation", "calls", "wall"
    );
    for latency in latencies {
        run(Duration::from_millis(latency)).await;
    }
}

async fn run(latency: Duration) {
    let account = Emulator::account("bench").await;
    let proxy = Proxy::start(&test_support::endpoint(), latency)
        .await
        .expect("the proxy starts");
    let spec = spec::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/quickstart.yaml"
    )))
    .expect("the example is valid");
    let stack = Stack::new(spec, &account.through(&proxy));
    let fast = ApplyOptions {
        wait: stack::WaitOptions {
            first_poll: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    };

    let plan = measure(&proxy, latency, "plan (from nothing)", stack.plan()).await;
    measure(
        &proxy,
        latency,
        "apply (from nothing)",
        apply(&stack, &plan, fast),
    )
    .await;
    let plan = measure(&proxy, latency, "plan (converged)", stack.plan()).await;
    measure(
        &proxy,
        latency,
        "apply (converged)",
        apply(&stack, &plan, fast),
    )
    .await;
    measure(&proxy, latency, "plan + apply (converged)", async {
        let plan = stack.plan().await?;
        apply(&stack, &plan, fast).await
    })
    .await;
}

async fn apply(
    stack: &Stack,
    plan: &StackPlan,
    options: ApplyOptions,
) -> Result<(), stack::StackError> {
    stack.apply(plan, options, &|_| {}).await.map(drop)
}

async fn measure<T>(
    proxy: &Proxy,
    latency: Duration,
    name: &str,
    operation: impl Future<Output = Result<T, stack::StackError>>,
) -> T {
    proxy.reset();
    let started = Instant::now();
    let result = operation
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    let wall = started.elapsed();
    let calls = proxy.calls();
    let mut distinct = calls.clone();
    distinct.sort();
    distinct.dedup();
    println!(
        "{:>6}ms  {name:<26} {:>6} {:>9.2}s  {}",
        latency.as_millis(),
        calls.len(),
        wall.as_secs_f64(),
        distinct.len()
    );
    result
}
