//! AWS calls, round trips and wall time of `plan`, an `apply` from nothing and a
//! converged `apply` of `examples/quickstart.yaml` and `examples/production.yaml` on the
//! local emulator, through a proxy that adds latency to
//! every call, so calls made one after another show in the time. For each plan it also
//! sends the same reads again all at once and prints that time and the ratio: how much
//! the plan's reads waiting on each other cost. Not a test: it prints numbers for the
//! next change to compare with.
//!
//!     scripts/bench.sh                      # starts the emulator, then runs this
//!     BENCH_LATENCY_MS=0,50 BENCH_EXAMPLES=quickstart cargo bench -p elasticache-action-stack --bench calls --profile dev
//!
//! `BENCH_CALLS=1` also prints each row's operations with the round trip each was made
//! in. A plan, and its replay, run `BENCH_RUNS` times (default 7); the row shows the
//! median times and the fewest round trips seen (a call the client was slow to send
//! can look like one more).

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
        "{:>8}  {:<26} {:>6} {:>6} {:>9} {:>11} {:>6}",
        "latency", "operation", "calls", "trips", "wall", "concurrent", "ratio"
    );
    let examples =
        std::env::var("BENCH_EXAMPLES").unwrap_or_else(|_| "quickstart,production".to_owned());
    for example in examples.split(',').map(str::trim) {
        println!("examples/{example}.yaml");
        for latency in &latencies {
            run(example, Duration::from_millis(*latency)).await;
        }
    }
}

async fn run(example: &str, latency: Duration) {
    let account = Emulator::account("bench").await;
    let proxy = Proxy::start(&test_support::endpoint(), latency)
        .await
        .expect("the proxy starts");
    let path = format!(
        "{}/../../examples/{example}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let spec = spec::load(std::path::Path::new(&path)).expect("the example is valid");
    let config = account
        .through(&proxy)
        .to_builder()
        .region(aws_config::Region::new(spec.region.clone()))
        .build();
    create_roles(&config, &spec).await;
    // Each plan on a new Stack, as each `orchestrator plan` is a new process that asks
    // STS who it is.
    let fresh_plan = || {
        let stack = Stack::new(spec.clone(), &config);
        async move { stack.plan().await }
    };
    let stack = Stack::new(spec.clone(), &config);
    // As in one `orchestrator apply`, which plans first.
    stack.identity().await.expect("STS answers");
    let fast = ApplyOptions {
        wait: stack::WaitOptions {
            first_poll: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    };

    let plan = measure_reads(&proxy, latency, "plan (from nothing)", fresh_plan).await;
    measure(
        &proxy,
        latency,
        "apply (from nothing)",
        apply(&stack, &plan, fast),
    )
    .await;
    let plan = measure_reads(&proxy, latency, "plan (converged)", fresh_plan).await;
    measure(
        &proxy,
        latency,
        "apply (converged)",
        apply(&stack, &plan, fast),
    )
    .await;
    measure(&proxy, latency, "plan + apply (converged)", async {
        let plan = fresh_plan().await?;
        apply(&stack, &plan, fast).await
    })
    .await;
}

/// The roles the example attaches its policy to, which a user creates beforehand.
async fn create_roles(config: &aws_config::SdkConfig, spec: &spec::Spec) {
    let iam = aws_sdk_iam::Client::new(config);
    for role in &spec.outputs.attach_to_roles {
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap_or_else(|err| panic!("creating role {role}: {err}"));
    }
}

async fn apply(
    stack: &Stack,
    plan: &StackPlan,
    options: ApplyOptions,
) -> Result<(), stack::StackError> {
    stack.apply(plan, options, &|_| {}).await.map(drop)
}

/// Runs `operation` through the proxy and prints its calls, round trips and wall time.
async fn measure<T>(
    proxy: &Proxy,
    latency: Duration,
    name: &str,
    operation: impl Future<Output = Result<T, stack::StackError>>,
) -> T {
    let (result, wall) = run_counted(proxy, name, operation).await;
    print_row(proxy, latency, name, (wall, proxy.round_trips()), None);
    result
}

/// [`measure`] for an operation that only reads, run several times, each run's reads
/// then replayed all at once.
async fn measure_reads<T, F: Future<Output = Result<T, stack::StackError>>>(
    proxy: &Proxy,
    latency: Duration,
    name: &str,
    operation: impl Fn() -> F,
) -> T {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(7);
    let (mut walls, mut replays, mut fewest) = (Vec::new(), Vec::new(), None);
    let mut result = None;
    for _ in 0..runs.max(1) {
        let (output, wall) = run_counted(proxy, name, operation()).await;
        walls.push(wall);
        let trips = proxy.round_trips();
        fewest = Some(fewest.map_or(trips, |f: usize| f.min(trips)));
        let replay = proxy
            .replay_concurrently()
            .await
            .unwrap_or_else(|err| panic!("{name}: replaying its reads: {err}"));
        replays.push(replay);
        result = Some(output);
    }
    print_row(
        proxy,
        latency,
        name,
        (median(walls), fewest.unwrap_or(0)),
        Some(median(replays)),
    );
    result.unwrap_or_else(|| unreachable!("at least one run"))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn run_counted<T>(
    proxy: &Proxy,
    name: &str,
    operation: impl Future<Output = Result<T, stack::StackError>>,
) -> (T, Duration) {
    proxy.reset();
    let started = Instant::now();
    let result = operation
        .await
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    (result, started.elapsed())
}

fn print_row(
    proxy: &Proxy,
    latency: Duration,
    name: &str,
    (wall, trips): (Duration, usize),
    concurrent: Option<Duration>,
) {
    let (concurrent, ratio) = match concurrent {
        Some(took) => (
            format!("{:.2}s", took.as_secs_f64()),
            format!("{:.2}", wall.as_secs_f64() / took.as_secs_f64()),
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    println!(
        "{:>6}ms  {name:<26} {:>6} {:>6} {:>8.2}s {concurrent:>11} {ratio:>6}",
        latency.as_millis(),
        proxy.calls().len(),
        trips,
        wall.as_secs_f64(),
    );
    if std::env::var_os("BENCH_CALLS").is_some() {
        let mut calls = proxy.calls_by_round_trip();
        calls.sort_by_key(|(_, trip)| *trip);
        let calls: Vec<String> = calls
            .iter()
            .map(|(op, trip)| format!("{trip}:{op}"))
            .collect();
        println!("          {}", calls.join(" "));
    }
}
