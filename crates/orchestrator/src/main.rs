//! The `orchestrator` binary: argument parsing, wiring and printing. Everything else
//! lives in the library crates (`spec`, `plan`, `stack` and the steps).
// The argument docs are clap's help text, where `<stack>` is a placeholder, not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod cli;
mod connect;
mod github;
mod hint;
mod list;
mod progress;
mod render;
mod rotate;

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use cli::{Cli, Command, Target};
use progress::Reporter;
use render::Style;
use stack::{ApplyOptions, DestroyOptions, Hint, Stack, StackError, StackReport, WaitOptions};

/// Exit codes scripts can rely on, as Terraform's.
const EXIT_ERROR: u8 = 1;
const EXIT_CHANGES: u8 = 2;
/// A policy finding at or above `--fail-on`.
const EXIT_POLICY: u8 = 3;

fn main() -> ExitCode {
    // clap exits 2 on a usage error, which `plan --detailed-exitcode` means as "changes":
    // a typo in a CI script must not read as a plan with changes.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.verbose);
    let style = Style {
        colour: !cli.no_color
            && std::env::var_os("NO_COLOR").is_none()
            && std::io::stdout().is_terminal(),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match runtime.block_on(run(cli.command, style)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{} {err:#}", style.red("error:"));
            if let Some(hint) = hint(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// What the user can do, in this front end's words (its flags and scripts).
fn hint(err: &anyhow::Error) -> Option<String> {
    if let Some(hint) = err.downcast_ref::<StackError>().and_then(StackError::hint) {
        return Some(match hint {
            Hint::AllowReplacement => {
                "re-run with --allow-replacement to replace them (a final snapshot seeds the new replication group)".to_owned()
            }
            Hint::WaitLonger { waited } => format!(
                "run the same command again to continue waiting, or raise --timeout (it waited {})",
                stack::format_duration(waited)
            ),
            Hint::WaitForIt => "apply without --no-wait waits for it".to_owned(),
            Hint::PlanAgain => "run `orchestrator plan` again and review the new plan".to_owned(),
            Hint::DestroyAgain => {
                "run destroy again once the replication group is gone".to_owned()
            }
            Hint::LockHeld { id } => format!(
                "wait for it with --lock-timeout 5m; if that run died, remove its lock: `orchestrator unlock <spec> {id}`"
            ),
            Hint::StartEmulator { endpoint } => format!(
                "AWS_ENDPOINT_URL is {endpoint}: is the emulator running? `scripts/emulator.sh start`"
            ),
        });
    }
    format!("{err:#}").contains("loading credentials").then(|| {
        "no AWS credentials were found. Set AWS_PROFILE (after `aws sso login` if it uses SSO), \
         or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in GitHub Actions use \
         aws-actions/configure-aws-credentials."
            .to_owned()
    })
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        // The credential chain warns about every provider it tries; the error says it.
        0 => "warn,aws_config=error",
        1 => "info,stack=debug,network=debug",
        _ => "debug,hyper=info,h2=info,rustls=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 1)
        .init();
}

async fn run(command: Command, style: Style) -> anyhow::Result<ExitCode> {
    match command {
        Command::Validate { specs, json } => validate(&specs, json),
        Command::List { specs, matrix } => list(&specs, matrix),
        Command::Output { target } => output(&target, style).await,
        Command::Unlock { spec, lock_id } => unlock(&spec, &lock_id).await,
        Command::Rotate {
            target,
            user,
            all: _,
            test,
            revoke_due,
            ca_file,
            timeout,
            lock_timeout,
        } => {
            let stack = load_stack(&target.spec).await?;
            let request = rotate::RotateRequest {
                user,
                test,
                revoke_due,
                ca_file: ca_file.filter(|path| !path.as_os_str().is_empty()),
                timeout,
                lock_timeout,
            };
            rotate::rotate(&stack, &request, target.json).await
        }
        Command::Token { spec, user, json } => token(&spec, &user, json).await,
        Command::Connect {
            spec,
            check,
            json,
            user,
            endpoint,
            ca_file,
            timeout,
            args,
        } => {
            let stack = load_stack(&spec).await?;
            let request = connect::ConnectRequest {
                user: user.as_deref(),
                endpoint: endpoint.into(),
                ca_file: ca_file.filter(|path| !path.as_os_str().is_empty()),
                timeout,
            };
            match check {
                true => connect::check(&stack, &request, json, style).await,
                false => connect::client(&stack, &request, &args).await,
            }
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&spec::json_schema())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            target,
            detailed_exitcode,
            fail_on,
            markdown,
            github_comment,
            fail_on_cost_increase,
            cost,
        } => {
            let output = if markdown {
                PlanOutput::Markdown
            } else {
                PlanOutput::Text
            };
            let options = PlanOptions {
                detailed_exitcode,
                fail_on: fail_on.as_deref(),
                output,
                github_comment,
                cost: !cost.no_cost,
                fail_on_cost_increase,
            };
            plan(&target, options, style).await
        }
        Command::Apply {
            target,
            auto_approve,
            allow_replacement,
            lock_timeout,
            wait,
            cost,
        } => {
            let wait = WaitOptions {
                wait: !wait.no_wait,
                timeout: wait.timeout,
                ..WaitOptions::default()
            };
            apply(
                &target,
                auto_approve,
                ApplyOptions {
                    allow_replacement,
                    wait,
                    lock_timeout,
                },
                !cost.no_cost,
                style,
            )
            .await
        }
        Command::Destroy {
            target,
            auto_approve,
            force_delete_secrets,
            skip_final_snapshot,
            timeout,
            lock_timeout,
            cost,
        } => {
            destroy(
                &target,
                auto_approve,
                !cost.no_cost,
                DestroyOptions {
                    force_delete_secrets,
                    skip_final_snapshot,
                    wait: WaitOptions {
                        timeout,
                        ..WaitOptions::default()
                    },
                    lock_timeout,
                },
                style,
            )
            .await
        }
    }
}

/// `token`: the token alone on stdout, or JSON; nothing else on stdout.
async fn token(path: &Path, user: &str, json: bool) -> anyhow::Result<ExitCode> {
    let stack = load_stack(path).await?;
    let token = stack.iam_token(user).await?;
    if json {
        let document = serde_json::json!({
            "token": token.expose(),
            "user": user.to_ascii_lowercase(),
            "replication_group_id": spec::names::replication_group_id(stack.spec()),
            "region": stack.spec().region,
            "expires_at": humantime::format_rfc3339_seconds(token.expires_at()).to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!("{}", token.expose());
    }
    Ok(ExitCode::SUCCESS)
}

async fn unlock(path: &std::path::Path, lock_id: &str) -> anyhow::Result<ExitCode> {
    let spec = spec::load(path)?;
    let config = stack::aws_config_for(&spec).await;
    let stack = Stack::new(spec, &config);
    let removed = stack.unlock(lock_id).await?;
    println!(
        "Unlocked stack {}: removed the lock held by {removed}.",
        stack.spec().stack
    );
    Ok(ExitCode::SUCCESS)
}

fn validate(paths: &[std::path::PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut results = Vec::new();
    let mut failed = false;
    for path in paths {
        match spec::load(path) {
            Ok(spec) => {
                if !json {
                    println!("{}: valid (stack {})", spec::source_name(path), spec.stack);
                }
                results.push(serde_json::json!({ "file": spec::source_name(path), "valid": true, "errors": [] }));
            }
            Err(errors) => {
                failed = true;
                if !json {
                    eprintln!("{errors}");
                }
                let list: Vec<_> = errors
                    .errors
                    .iter()
                    .map(|e| serde_json::json!({ "path": e.path, "line": e.line, "column": e.column, "message": e.message }))
                    .collect();
                results.push(
                    serde_json::json!({ "file": errors.file, "valid": false, "errors": list }),
                );
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(if failed {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

fn list(paths: &[std::path::PathBuf], as_matrix: bool) -> anyhow::Result<ExitCode> {
    let entries = match list::matrix(paths) {
        Ok(entries) => entries,
        Err(problems) => {
            for problem in problems {
                eprintln!("{problem}");
            }
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    let json = list::matrix_json(&entries);
    if let Some(outputs) = std::env::var_os("GITHUB_OUTPUT").filter(|_| as_matrix) {
        github::append_output(std::path::Path::new(&outputs), "matrix", &json)?;
    }
    match as_matrix {
        true => println!("{json}"),
        false => {
            for entry in &entries {
                println!("{}\t{}\t{}", entry.spec, entry.stack, entry.region);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn load_stack(path: &Path) -> anyhow::Result<Stack> {
    let spec = spec::load(path)?;
    let config = stack::aws_config_for(&spec).await;
    Ok(Stack::new(spec, &config))
}

/// How `plan` prints when not `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanOutput {
    Text,
    Markdown,
}

/// How `plan` reports.
struct PlanOptions<'a> {
    detailed_exitcode: bool,
    fail_on: Option<&'a str>,
    output: PlanOutput,
    github_comment: bool,
    /// Price the plan.
    cost: bool,
    fail_on_cost_increase: Option<f64>,
}

async fn plan(target: &Target, options: PlanOptions<'_>, style: Style) -> anyhow::Result<ExitCode> {
    let PlanOptions {
        detailed_exitcode,
        fail_on,
        output,
        github_comment,
        cost,
        fail_on_cost_increase,
    } = options;
    let threshold: Option<findings::Severity> = fail_on
        .map(str::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let stack = load_stack(&target.spec).await?;
    let findings = findings::evaluate(stack.spec());
    for rule in findings::unknown_waivers(stack.spec()) {
        eprintln!("warning: the spec waives {rule}, which is not a rule this version knows");
    }
    let planned = stack.plan().await?;
    let (plan, identity) = (planned.plan(), planned.identity());
    let cost = match cost {
        true => Some(stack.cost(&planned).await),
        false => None,
    };
    let document = serde_json::to_value(
        StackReport::new(plan, identity, Some(findings.clone())).with_cost(cost.clone()),
    )?;
    let spec_path = target.spec.display().to_string();
    let commit = std::env::var("GITHUB_SHA").ok();
    let report = markdown::Report {
        plan,
        account: &identity.account,
        region: &identity.region,
        findings: &findings,
        spec_path: &spec_path,
        commit: commit.as_deref(),
        full_plan_at: "the workflow run's job summary",
        cost: cost.as_ref(),
    };
    if target.json {
        print_json(&document)?;
    } else if output == PlanOutput::Markdown {
        print!("{}", markdown::render(&report, markdown::COMMENT_LIMIT));
    } else {
        print!("{}", render::plan_text(plan, identity, style));
        print!("{}", render::cost_text(cost.as_ref(), style));
        print!("{}", render::rotations_text(&planned.outputs()));
        print!("\n{}", render::findings_text(&findings, style));
    }
    github::publish(&github::Published {
        report,
        json: &document,
    });
    if github_comment {
        comment(&report).await;
    }
    if threshold.is_some_and(|t| findings::exceeds(&findings, t)) {
        return Ok(ExitCode::from(EXIT_POLICY));
    }
    if let Some(limit) = fail_on_cost_increase
        && cost_exceeds(cost.as_ref(), limit)
    {
        return Ok(ExitCode::from(EXIT_POLICY));
    }
    Ok(if detailed_exitcode && plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether the plan raises the monthly cost by more than `limit` dollars; says so, or
/// that it cannot tell, on stderr.
fn cost_exceeds(cost: Option<&cost::CostReport>, limit: f64) -> bool {
    let Some(estimate) = cost.and_then(cost::CostReport::estimate) else {
        eprintln!("warning: --fail-on-cost-increase: the cost is unavailable; not checked");
        return false;
    };
    let change = estimate.change();
    let exceeds = change > limit + 0.005;
    if exceeds {
        eprintln!(
            "error: the plan raises the monthly cost by {}, more than --fail-on-cost-increase {}",
            cost::estimate::dollars(change),
            cost::estimate::dollars(limit)
        );
    }
    exceeds
}

/// Posts or updates the stack's pull-request comment; any failure is a warning.
async fn comment(report: &markdown::Report<'_>) {
    let Some(pull_request) = github::PullRequest::from_env() else {
        eprintln!(
            "warning: --github-comment: this run is not for a pull request; no comment posted"
        );
        return;
    };
    let Ok(token) = std::env::var("GITHUB_TOKEN") else {
        eprintln!("warning: --github-comment: GITHUB_TOKEN is not set; no comment posted");
        return;
    };
    let api_url =
        std::env::var("GITHUB_API_URL").unwrap_or_else(|_| "https://api.github.com".to_owned());
    let body = markdown::render(report, markdown::COMMENT_LIMIT);
    let marker = markdown::marker(&report.plan.stack);
    match github::upsert_comment(&api_url, &token, &pull_request, &marker, &body).await {
        Ok(github::Commented::Created) => {
            eprintln!("commented on pull request #{}", pull_request.number)
        }
        Ok(github::Commented::Updated(id)) => {
            eprintln!(
                "updated comment {id} on pull request #{}",
                pull_request.number
            )
        }
        Err(err) => eprintln!(
            "warning: could not comment on the pull request: {}",
            github::explain(&err)
        ),
    }
}

async fn apply(
    target: &Target,
    auto_approve: bool,
    options: ApplyOptions,
    cost: bool,
    style: Style,
) -> anyhow::Result<ExitCode> {
    let stack = load_stack(&target.spec).await?;
    let planned = stack.plan().await?;
    let (plan, identity) = (planned.plan(), planned.identity());
    // Priced only when it changes something: a converged apply asks nothing.
    let cost = match cost && plan.has_changes() {
        true => Some(stack.cost(&planned).await),
        false => None,
    };
    if !target.json {
        print!("{}", render::plan_text(plan, identity, style));
        print!("{}", render::cost_text(cost.as_ref(), style));
    }
    if plan.has_changes() {
        // Refuse before asking: the answer would not matter.
        stack::refuse_replacements(&plan.changes, options)?;
        confirm(
            auto_approve,
            &format!("Apply these changes to stack {}?", plan.stack),
        )?;
    }
    // Exactly the plan shown; with no changes this writes nothing and reads nothing.
    let reporter = Reporter::new();
    let outputs = stack
        .apply(&planned, options, &|event| reporter.show(event))
        .await;
    reporter.finish();
    let outputs = outputs?;
    if target.json {
        print_json(&serde_json::json!({
            "plan": StackReport::new(plan, identity, None).with_cost(cost),
            "applied": plan.has_changes(),
            "outputs": render::outputs_json(&outputs),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if plan.has_changes() {
        let summary = plan.summary();
        println!(
            "\n{}",
            style.bold(&format!(
                "Apply complete! Resources: {} added, {} changed, {} replaced, {} destroyed.",
                summary.add, summary.change, summary.replace, summary.destroy
            ))
        );
    }
    print!("\n{}", render::outputs_text(&outputs, style));
    Ok(ExitCode::SUCCESS)
}

async fn destroy(
    target: &Target,
    auto_approve: bool,
    cost: bool,
    options: DestroyOptions,
    style: Style,
) -> anyhow::Result<ExitCode> {
    let stack = load_stack(&target.spec).await?;
    let planned = stack.plan_destroy(options).await?;
    let (plan, identity) = (planned.plan(), planned.identity());
    let cost = match cost && plan.has_changes() {
        true => Some(stack.destroy_cost(&planned).await),
        false => None,
    };
    if !target.json {
        print!("{}", render::plan_text(plan, identity, style));
        print!("{}", render::cost_text(cost.as_ref(), style));
    }
    if plan.has_changes() {
        confirm(
            auto_approve,
            &format!(
                "Destroy stack {} in account {} ({})? This deletes the resources listed above.",
                plan.stack, identity.account, identity.region
            ),
        )?;
        let reporter = Reporter::new();
        let destroyed = stack.destroy(&planned, &|event| reporter.show(event)).await;
        reporter.finish();
        destroyed?;
        if !target.json {
            println!(
                "\n{}",
                style.bold(&format!(
                    "Destroy complete! Resources: {} destroyed.",
                    plan.summary().destroy
                ))
            );
        }
    }
    if target.json {
        print_json(&serde_json::json!({
            "plan": StackReport::new(plan, identity, None).with_cost(cost),
            "destroyed": plan.has_changes(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn output(target: &Target, style: Style) -> anyhow::Result<ExitCode> {
    let stack = load_stack(&target.spec).await?;
    let (outputs, drifted) = stack.outputs().await?;
    let Some(connection) = stack::Connection::new(stack.spec(), &outputs) else {
        bail!(
            "stack {} has no replication group endpoint yet: run `orchestrator apply {}` first",
            stack.spec().stack,
            target.spec.display()
        );
    };
    if drifted {
        eprintln!(
            "warning: the stack differs from the spec; `orchestrator plan {}` shows how",
            target.spec.display()
        );
    }
    let name = spec::source_name(&target.spec);
    let rotation = hint::rotation(stack.spec(), &name);
    if target.json {
        print_json(&serde_json::json!({
            "outputs": render::outputs_json(&outputs),
            "connection": hint::hint(&connection, &name),
            "rotation": rotation,
            "in_sync": !drifted,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render::outputs_text(&outputs, style));
    let hint = hint::hint(&connection, &name);
    println!("\n{}", style.bold("Connect:"));
    println!("  url       {}", hint.url);
    println!("  password  {}", hint.password);
    for command in &hint.commands {
        println!("  $ {command}");
    }
    if let Some(rotation) = rotation {
        println!("\n{}", style.bold("Rotate:"));
        println!("  schedule  {}", rotation.schedule);
        println!("  previous  {}", rotation.previous);
        for command in &rotation.commands {
            println!("  $ {command}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// Asks on the terminal; without one, only `--auto-approve` proceeds.
fn confirm(auto_approve: bool, question: &str) -> anyhow::Result<()> {
    if auto_approve {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("not asking for confirmation without a terminal; pass --auto-approve to proceed");
    }
    eprint!("\n{question}\n  Only 'yes' will be accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if answer.trim() != "yes" {
        bail!("cancelled: nothing was changed");
    }
    Ok(())
}
