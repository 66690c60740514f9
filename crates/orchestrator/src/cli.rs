//! The command line: what each command does, in words a first-time user can follow.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

const ABOUT: &str = "Plan, apply and destroy production-grade Amazon ElastiCache (Valkey and Redis OSS) \
stacks described by one YAML spec.";

const AFTER_HELP: &str = "\
Typical use:
  orchestrator validate spec.yaml          check the spec offline, every error at once
  orchestrator plan spec.yaml              show what would change (reads only)
  orchestrator apply spec.yaml             show the plan, ask, then make it so
  orchestrator apply spec.yaml --auto-approve   the same, without asking (CI)
  orchestrator output spec.yaml            endpoints, secret and a redis-cli command to connect
  orchestrator destroy spec.yaml           delete the stack, keeping data recoverable
  orchestrator rotate spec.yaml            rotate the AUTH token or users' passwords
  orchestrator unlock spec.yaml LOCK_ID    remove the lock a dead run left

apply, destroy and rotate lock the stack in AWS while they write, so two runs never write at
once: the second fails naming who holds the lock since when, or waits with
--lock-timeout 5m. plan never locks but says when a lock is held.

AWS credentials and settings come from the usual places (environment variables,
~/.aws profiles, SSO, web identity for GitHub OIDC); the region is the spec's.
AWS_ENDPOINT_URL points every call at another endpoint, such as a local emulator.

Every plan ends with policy findings: the Checkov rules teams already run
(CKV_AWS_29 at-rest encryption, CKV_AWS_31 TLS with authentication, …) and our own
(EA_001 cache port open to 0.0.0.0/0). Waive one in the spec with a reason:
  waivers: [{ rule: CKV2_AWS_50, reason: \"dev stack, no replica\" }]

Every plan also shows the stack's monthly cost now and after, per resource, from the
AWS Price List (pricing:GetProducts; --no-cost skips it):
  Cost: +$412.34/month (from $0.00 to $412.34)

Exit codes: 0 success (and, with --detailed-exitcode, no changes); 1 error;
2 success with changes (plan --detailed-exitcode only); 3 a policy finding at or
above --fail-on, or a cost increase above --fail-on-cost-increase (plan only).";

/// The orchestrator's arguments.
#[derive(Debug, Parser)]
#[command(name = "orchestrator", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// More logging on stderr: -v for each AWS step, -vv for every AWS call.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Never colour the output (colour is also off when stdout is not a terminal, or
    /// NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check specs without calling AWS: structure, types, and every ElastiCache rule
    /// that can be checked offline. Reports all errors, each with file, field and line.
    Validate {
        /// Spec files to check; `-` reads one from standard input.
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the stacks the specs describe, as a GitHub Actions job matrix: plan and apply
    /// each in a job of its own, in parallel. Checks every spec (as validate does) and
    /// that no stack is in two of them. Reads no AWS.
    ///
    /// Example (a workflow's first job):
    ///   orchestrator list --matrix stacks/*.yaml
    ///   {"include":[{"spec":"stacks/orders.yaml","stack":"orders","region":"eu-west-1"}]}
    /// and in the next job: strategy: { matrix: ${{ fromJSON(needs.list.outputs.matrix) }} }
    #[command(verbatim_doc_comment)]
    List {
        /// Spec files (the shell expands a glob such as stacks/*.yaml).
        #[arg(value_name = "SPEC")]
        specs: Vec<PathBuf>,
        /// Print the matrix as one line of JSON (`{"include": [{spec, stack, region}]}`);
        /// under GitHub Actions it is also the step output `matrix`.
        #[arg(long)]
        matrix: bool,
    },
    /// Print the spec's JSON Schema, for editor autocompletion and validation.
    ///
    /// For VS Code with the YAML extension, save it and add to settings.json:
    /// "yaml.schemas": { "./elasticache-spec.schema.json": "*.cache.yaml" }
    Schema,
    /// Show how to reach an applied stack: endpoints, port, secret and parameter names,
    /// policy ARNs, and redis-cli commands that read the credential from Secrets Manager
    /// themselves. Reads only; never prints a secret.
    Output {
        #[command(flatten)]
        target: Target,
    },
    /// Show what apply would change. Reads from AWS; never writes.
    Plan {
        #[command(flatten)]
        target: Target,
        /// Exit 2 when there are changes and 0 when there are none (1 is still an error).
        #[arg(long)]
        detailed_exitcode: bool,
        /// Exit 3 when a policy finding of this severity or higher fails and is not
        /// waived in the spec (`waivers:`).
        #[arg(long, value_name = "SEVERITY", value_parser = ["high", "medium", "low"])]
        fail_on: Option<String>,
        /// Print the plan as GitHub-flavoured markdown (the pull-request comment) instead
        /// of text.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// On a pull request under GitHub Actions, post the plan as a comment, or update
        /// the stack's earlier comment. Uses GITHUB_TOKEN, GITHUB_REPOSITORY,
        /// GITHUB_EVENT_PATH and GITHUB_API_URL; a GitHub failure is a warning.
        #[arg(long)]
        github_comment: bool,
        /// Exit 3 when the plan raises the stack's monthly cost by more than AMOUNT US
        /// dollars (e.g. 100 or 99.50). Not checked, with a warning, when the cost is
        /// unavailable.
        #[arg(long, value_name = "AMOUNT", value_parser = dollars, conflicts_with = "no_cost")]
        fail_on_cost_increase: Option<f64>,
        #[command(flatten)]
        cost: CostArgs,
    },
    /// Make AWS match the spec: show the plan, ask for confirmation, apply it.
    /// Running it again changes nothing.
    Apply {
        #[command(flatten)]
        target: Target,
        /// Apply without asking (required when stdin is not a terminal, as in CI).
        #[arg(long)]
        auto_approve: bool,
        /// Replace resources whose changed attributes AWS cannot modify in place.
        /// Without it, a plan with a replacement (-/+) is refused before any change.
        /// A replaced replication group is snapshotted first and the new one is seeded
        /// from that snapshot.
        #[arg(long)]
        allow_replacement: bool,
        /// Wait this long for another run's lock on the stack (e.g. 5m) instead of
        /// failing at once with who holds it.
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
        lock_timeout: std::time::Duration,
        #[command(flatten)]
        wait: Wait,
        #[command(flatten)]
        cost: CostArgs,
    },
    /// Delete everything the stack created, keeping data recoverable: the replication
    /// group leaves a final snapshot (<stack>-final-<UTC time>) and the KMS key that
    /// encrypts it is kept; without a snapshot the key is scheduled for deletion (7-30
    /// days). Secrets keep a recovery window, log groups are kept unless the spec sets
    /// destroy.delete_log_groups. An existing VPC, subnets or KMS key named in the spec
    /// are never touched.
    Destroy {
        #[command(flatten)]
        target: Target,
        /// Destroy without asking (required when stdin is not a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// Delete the stack's secrets at once instead of keeping them restorable for the
        /// recovery window (destroy.secret_recovery_window_days, 30 days by default).
        #[arg(long)]
        force_delete_secrets: bool,
        /// Delete the replication group without a final snapshot: its data is lost.
        #[arg(long)]
        skip_final_snapshot: bool,
        /// How long to wait for the replication group to be deleted (the network and
        /// key go only after it), e.g. 30m, 2h.
        #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = duration)]
        timeout: std::time::Duration,
        /// Wait this long for another run's lock on the stack (e.g. 5m) instead of
        /// failing at once with who holds it.
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
        lock_timeout: std::time::Duration,
        #[command(flatten)]
        cost: CostArgs,
    },
    /// Reach the applied stack the way an application would, with the stack's own
    /// credential: the AUTH token from its secret, an RBAC user's password from the
    /// user's secret (--user NAME), or an IAM token signed now (--user ID).
    ///
    /// With --check: resolve the endpoint, open TCP, do TLS (the server's certificate
    /// verified: system roots, or --ca-file), AUTH, PING, ACL WHOAMI and, in cluster
    /// mode, CLUSTER INFO. One line per stage with its latency; at the first stage that
    /// fails, exit 1 naming the likely cause (not in the VPC, the security group, TLS,
    /// the password or token, the access string).
    ///
    /// Without --check: run valkey-cli or redis-cli (whichever is installed, the
    /// engine's own first) with the endpoint, TLS settings and user, the credential in
    /// REDISCLI_AUTH and VALKEYCLI_AUTH (never on its command line), and ARGS after --.
    ///
    ///   orchestrator connect quickstart.yaml --check
    ///   orchestrator connect production.yaml --user reporting -- --scan --count 100
    #[command(verbatim_doc_comment)]
    Connect {
        /// The stack's spec file; `-` reads it from standard input.
        #[arg(value_name = "SPEC")]
        spec: PathBuf,
        /// Check the connection stage by stage instead of starting a client.
        #[arg(long)]
        check: bool,
        /// With --check: print one JSON document (stages, latencies, the failure).
        #[arg(long, requires = "check")]
        json: bool,
        /// The RBAC or IAM user to log in as (default: the spec's first user).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Which endpoint: the configuration endpoint in cluster mode, else the
        /// primary, unless one is named.
        #[arg(long, value_enum, default_value = "default")]
        endpoint: EndpointArg,
        /// A PEM file of CA certificates to trust instead of the system's (a private
        /// CA; the local emulator exports its own as ELASTICACHE_CA_FILE).
        #[arg(long, value_name = "PEM", env = "ELASTICACHE_CA_FILE")]
        ca_file: Option<PathBuf>,
        /// How long the check may take in all (DNS, TCP, TLS, every command).
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
        timeout: std::time::Duration,
        /// Arguments for the client, after `--` (a command, or options such as --scan).
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Print an IAM authentication token for one of the stack's IAM users (`auth.mode:
    /// iam`): the token alone on standard output, for scripts and REDISCLI_AUTH.
    /// Signed here with your AWS credentials (nothing is read from AWS), for the
    /// replication group and region of the spec; valid for 15 minutes, or until the
    /// credentials expire if that is sooner. The identity needs elasticache:Connect on
    /// the group and the user (the stack's `<stack>-connect` policy grants it).
    ///
    ///   REDISCLI_AUTH="$(orchestrator token iam.yaml --user billing-worker)" \
    ///     redis-cli --tls --user billing-worker -h HOST -p PORT
    Token {
        /// The stack's spec file; `-` reads it from standard input.
        #[arg(value_name = "SPEC")]
        spec: PathBuf,
        /// The IAM user (its name, which is also its id).
        #[arg(long, value_name = "ID")]
        user: String,
        /// Print JSON with the token, the user, the replication group and when the
        /// token expires.
        #[arg(long)]
        json: bool,
    },
    /// Rotate the stack's AUTH token or its RBAC users' passwords through Secrets Manager.
    ///
    /// The four rotation steps, for the AUTH token (auth.mode: token) or each user's
    /// password (auth.mode: rbac): create a new value (AWSPENDING), set it on
    /// ElastiCache beside the current one (ROTATE, or ModifyUser with both passwords),
    /// test it, and finish (AWSCURRENT moves to it).
    ///
    /// Applications reading the secret get the new value; the previous one stays valid
    /// until the next rotation (auth.rotation.previous: keep) or until `--revoke-due`
    /// revokes it after auth.rotation.previous.revoke_after.
    ///
    /// A rotation left half done (a killed run, a failed test) is resumed, never
    /// started twice. A failed test stops before finishing, so AWSCURRENT keeps the
    /// credential that works. Holds the stack's lock while it writes. Exits 0 only when
    /// AWSCURRENT holds the new credential and it passed its test.
    ///
    ///   orchestrator rotate quickstart.yaml --test connect
    ///   orchestrator rotate production.yaml --user reporting --test control-plane
    ///   orchestrator rotate production.yaml --revoke-due      # daily, from a schedule
    #[command(verbatim_doc_comment)]
    Rotate {
        #[command(flatten)]
        target: Target,
        /// Rotate only this RBAC user's password (default: every credential the stack
        /// has).
        #[arg(long, value_name = "NAME", conflicts_with = "all")]
        user: Option<String>,
        /// Rotate every credential the stack has (the default, said explicitly).
        #[arg(long)]
        all: bool,
        /// How to test the new credential: `connect` logs in with it (AUTH and PING
        /// over TLS; needs a network path to the cache, as inside its VPC), or
        /// `control-plane` waits until ElastiCache has applied it (for runners that
        /// cannot reach the cache, such as GitHub-hosted ones).
        #[arg(long, value_enum, default_value = "connect")]
        test: TestArg,
        /// Rotate nothing: revoke each previous credential whose grace period
        /// (auth.rotation.previous.revoke_after) has passed, then prove it is refused
        /// (with --test connect).
        #[arg(long)]
        revoke_due: bool,
        /// A PEM file of CA certificates to trust for --test connect (a private CA;
        /// the local emulator exports its own as ELASTICACHE_CA_FILE).
        #[arg(long, value_name = "PEM", env = "ELASTICACHE_CA_FILE")]
        ca_file: Option<PathBuf>,
        /// Give up waiting for ElastiCache after this long per credential; running
        /// again resumes.
        #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = duration)]
        timeout: std::time::Duration,
        /// Wait this long for another run's lock on the stack (e.g. 5m) instead of
        /// failing at once with who holds it.
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
        lock_timeout: std::time::Duration,
    },
    /// Remove the lock a dead run left on the stack (like `terraform force-unlock`).
    /// apply, destroy and rotate lock the stack in AWS while they write (the SSM parameter
    /// /elasticache-action/locks/<stack>); a held lock's error and `plan` show its id.
    /// Only the lock with that id is removed, never one taken since.
    Unlock {
        /// The stack's spec file.
        #[arg(value_name = "SPEC")]
        spec: PathBuf,
        /// The lock's id, as the error or the plan shows it.
        #[arg(value_name = "LOCK_ID")]
        lock_id: String,
    },
}

/// Which endpoint `connect` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EndpointArg {
    /// The configuration endpoint in cluster mode, else the primary.
    Default,
    /// The primary endpoint (cluster mode disabled).
    Primary,
    /// The reader endpoint (cluster mode disabled).
    Reader,
    /// The configuration endpoint (cluster mode enabled).
    Configuration,
}

impl From<EndpointArg> for stack::EndpointChoice {
    fn from(arg: EndpointArg) -> Self {
        match arg {
            EndpointArg::Default => stack::EndpointChoice::Default,
            EndpointArg::Primary => stack::EndpointChoice::Primary,
            EndpointArg::Reader => stack::EndpointChoice::Reader,
            EndpointArg::Configuration => stack::EndpointChoice::Configuration,
        }
    }
}

/// How `rotate` tests a new credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestArg {
    /// Log in with it.
    Connect,
    /// Wait until ElastiCache has applied it.
    ControlPlane,
}

/// How apply waits for ElastiCache.
#[derive(Debug, Args)]
pub struct Wait {
    /// Return once the last change is accepted instead of waiting until the replication
    /// group is available (changes that must follow one another still wait in between).
    /// Apply again, or plan, to see when it is done.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this long, e.g. 90m, 2h. Re-running apply picks up where it
    /// stopped.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = duration)]
    pub timeout: std::time::Duration,
}

/// The spec a command acts on, and how to report.
#[derive(Debug, Args)]
pub struct Target {
    /// The stack's spec file; `-` reads it from standard input (then pass
    /// --auto-approve where the command asks).
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Print one JSON document on stdout instead of text (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// Whether to price the plan.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Do not price the plan. Otherwise it shows the stack's monthly cost now and after,
    /// per resource: on-demand list prices in USD from the AWS Price List API (needs
    /// pricing:GetProducts; without it, or offline, the plan says why cost is missing
    /// and is otherwise the same).
    #[arg(long)]
    pub no_cost: bool,
}

/// An amount of US dollars: `100`, `99.50`, `$100`.
fn dollars(text: &str) -> Result<f64, String> {
    text.trim()
        .trim_start_matches('$')
        .parse::<f64>()
        .ok()
        .filter(|amount| amount.is_finite() && *amount >= 0.0)
        .ok_or_else(|| format!("`{text}` is not an amount of dollars: write it like 100 or 99.50"))
}

/// A duration as people write it (`90s`, `45m`, `2h`, `1h 30m`).
fn duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a duration: write it like 90s, 45m, 2h or 1h30m"))
}
