//! Running under GitHub Actions: the plan goes to the job summary and the step's outputs.
//!
//! Failures here are warnings: a plan that was made stands even when GitHub's files
//! cannot be written.

use std::io::Write as _;
use std::path::Path;

/// GitHub's limit on one step's job summary.
const SUMMARY_LIMIT: usize = 1024 * 1024;

/// What a plan publishes.
pub struct Published<'a> {
    /// The plan as markdown, for the job summary (rendered with [`SUMMARY_LIMIT`]).
    pub report: markdown::Report<'a>,
    /// The plan as JSON.
    pub json: &'a serde_json::Value,
}

/// Appends to `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` when they are set.
pub fn publish(published: &Published<'_>) {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let text = markdown::render(&published.report, SUMMARY_LIMIT);
        if let Err(err) = append(Path::new(&path), &text) {
            eprintln!("warning: could not write the job summary: {err}");
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT") {
        let plan = published.report.plan;
        let outputs = [
            ("has-changes", plan.has_changes().to_string()),
            ("summary", plan.summary().to_string()),
            ("plan-json", published.json.to_string()),
        ];
        let text: String = outputs
            .iter()
            .map(|(name, value)| output_line(name, value))
            .collect();
        if let Err(err) = append(Path::new(&path), &text) {
            eprintln!("warning: could not write the step outputs: {err}");
        }
    }
}

/// Appends one step output to the GITHUB_OUTPUT file at `path`.
pub fn append_output(path: &Path, name: &str, value: &str) -> std::io::Result<()> {
    append(path, &output_line(name, value))
}

/// One output in GITHUB_OUTPUT's syntax; multi-line-safe with a delimiter that the
/// value cannot contain.
fn output_line(name: &str, value: &str) -> String {
    let mut delimiter = String::from("ELASTICACHE_ACTION_EOF");
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

/// The pull request a workflow run is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Pull request number.
    pub number: u64,
}

impl PullRequest {
    /// The pull request from the workflow's environment: `GITHUB_REPOSITORY` and the
    /// event payload at `GITHUB_EVENT_PATH` (`pull_request` and `pull_request_target`
    /// events). `None` for runs that are not about a pull request.
    pub fn from_env() -> Option<PullRequest> {
        let repository = std::env::var("GITHUB_REPOSITORY").ok()?;
        let (owner, repo) = repository.split_once('/')?;
        let payload = std::fs::read_to_string(std::env::var_os("GITHUB_EVENT_PATH")?).ok()?;
        let event: serde_json::Value = serde_json::from_str(&payload).ok()?;
        let number = event
            .pointer("/pull_request/number")
            .or_else(|| event.get("number"))
            .and_then(serde_json::Value::as_u64)?;
        Some(PullRequest {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            number,
        })
    }
}

/// What happened to the stack's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commented {
    /// A new comment was posted.
    Created,
    /// The comment carrying the marker was edited.
    Updated(u64),
}

/// Creates the stack's comment on `pull_request`, or edits the one that carries
/// `marker`, so a pull request has one comment per stack however often it is pushed to.
/// `api_url` is `GITHUB_API_URL` (GitHub Enterprise Server has its own).
pub async fn upsert_comment(
    api_url: &str,
    token: &str,
    pull_request: &PullRequest,
    marker: &str,
    body: &str,
) -> Result<Commented, octocrab::Error> {
    let github = octocrab::Octocrab::builder()
        .base_uri(api_url)?
        .personal_token(token.to_owned())
        .build()?;
    let PullRequest {
        owner,
        repo,
        number,
    } = pull_request;
    let payload = serde_json::json!({ "body": body });
    match find_comment(&github, pull_request, marker).await? {
        Some(id) => {
            let _: serde_json::Value = github
                .patch(
                    format!("/repos/{owner}/{repo}/issues/comments/{id}"),
                    Some(&payload),
                )
                .await?;
            Ok(Commented::Updated(id))
        }
        None => {
            let _: serde_json::Value = github
                .post(
                    format!("/repos/{owner}/{repo}/issues/{number}/comments"),
                    Some(&payload),
                )
                .await?;
            Ok(Commented::Created)
        }
    }
}

/// The id of the first comment whose body carries `marker`, reading every page.
async fn find_comment(
    github: &octocrab::Octocrab,
    pull_request: &PullRequest,
    marker: &str,
) -> Result<Option<u64>, octocrab::Error> {
    const PER_PAGE: usize = 100;
    let PullRequest {
        owner,
        repo,
        number,
    } = pull_request;
    for page in 1.. {
        let comments: Vec<serde_json::Value> = github
            .get(
                format!("/repos/{owner}/{repo}/issues/{number}/comments"),
                Some(&[("per_page", PER_PAGE), ("page", page)]),
            )
            .await?;
        let found = comments.iter().find(|c| {
            c.get("body")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|body| body.contains(marker))
        });
        if let Some(id) = found
            .and_then(|c| c.get("id"))
            .and_then(serde_json::Value::as_u64)
        {
            return Ok(Some(id));
        }
        if comments.len() < PER_PAGE {
            break;
        }
    }
    Ok(None)
}

/// A GitHub failure in words a workflow author can act on.
pub fn explain(err: &octocrab::Error) -> String {
    match err {
        octocrab::Error::GitHub { source, .. } if source.status_code.as_u16() == 403 => format!(
            "GitHub refused ({}): the token cannot write comments. Give the job `permissions: pull-requests: write`; \
             pull requests from forks only get a read-only token",
            source.message
        ),
        octocrab::Error::GitHub { source, .. } => {
            format!("GitHub answered {}: {}", source.status_code, source.message)
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_partial_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    #[test]
    fn output_values_use_a_delimiter_they_do_not_contain() {
        assert_eq!(
            output_line("a", "x"),
            "a<<ELASTICACHE_ACTION_EOF\nx\nELASTICACHE_ACTION_EOF\n"
        );
        let tricky = output_line("a", "ELASTICACHE_ACTION_EOF");
        assert!(
            tricky.starts_with("a<<ELASTICACHE_ACTION_EOF_\n"),
            "{tricky}"
        );
    }

    const MARKER: &str = "<!-- elasticache-action:stack=orders -->";

    fn pull_request() -> PullRequest {
        PullRequest {
            owner: "acme".into(),
            repo: "infra".into(),
            number: 7,
        }
    }

    fn comments(range: std::ops::Range<u64>, ours: Option<u64>) -> serde_json::Value {
        let list: Vec<serde_json::Value> = range
            .map(|id| {
                let body = if Some(id) == ours {
                    format!("old plan\n{MARKER}")
                } else {
                    "looks good".to_owned()
                };
                serde_json::json!({ "id": id, "body": body })
            })
            .collect();
        serde_json::Value::from(list)
    }

    async fn list_page(server: &MockServer, base: &str, page: &str, body: serde_json::Value) {
        Mock::given(method("GET"))
            .and(path(format!("{base}/repos/acme/infra/issues/7/comments")))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn the_first_run_creates_the_comment() {
        let server = MockServer::start().await;
        list_page(&server, "", "1", comments(1..3, None)).await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/infra/issues/7/comments"))
            .and(body_partial_json(
                serde_json::json!({ "body": format!("plan\n{MARKER}") }),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({ "id": 99 })))
            .expect(1)
            .mount(&server)
            .await;
        let result = upsert_comment(
            &server.uri(),
            "t",
            &pull_request(),
            MARKER,
            &format!("plan\n{MARKER}"),
        )
        .await;
        assert_eq!(result.expect("comments"), Commented::Created);
    }

    #[tokio::test]
    async fn a_later_run_updates_the_marked_comment_found_on_a_later_page() {
        let server = MockServer::start().await;
        list_page(&server, "", "1", comments(1..101, None)).await;
        list_page(&server, "", "2", comments(101..150, Some(120))).await;
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/infra/issues/comments/120"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({ "id": 120 })),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201))
            .expect(0)
            .mount(&server)
            .await;
        let result = upsert_comment(&server.uri(), "t", &pull_request(), MARKER, "new plan").await;
        assert_eq!(result.expect("comments"), Commented::Updated(120));
    }

    #[tokio::test]
    async fn a_forbidden_token_is_explained() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest"
            })))
            .mount(&server)
            .await;
        let error = upsert_comment(&server.uri(), "t", &pull_request(), MARKER, "plan")
            .await
            .expect_err("forbidden");
        let explained = explain(&error);
        assert!(explained.contains("pull-requests: write"), "{explained}");
    }

    #[tokio::test]
    async fn a_github_enterprise_base_url_is_honoured() {
        let server = MockServer::start().await;
        list_page(&server, "/api/v3", "1", comments(1..2, None)).await;
        Mock::given(method("POST"))
            .and(path("/api/v3/repos/acme/infra/issues/7/comments"))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({ "id": 5 })))
            .expect(1)
            .mount(&server)
            .await;
        let api = format!("{}/api/v3", server.uri());
        let result = upsert_comment(&api, "t", &pull_request(), MARKER, "plan").await;
        assert_eq!(result.expect("comments"), Commented::Created);
    }
}
