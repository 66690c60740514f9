//! The function's code: this version's release asset, or a zip on disk.
//!
//! A release asset is named, not read, at plan (`release v0.1.0 rotation-lambda-arm64.zip`,
//! recorded in the function's [`crate::PACKAGE_TAG`]), and fetched only by the apply that
//! deploys it, checked against the `.sha256` file published beside it. A local zip is read
//! at plan, so its SHA-256 is compared with the one Lambda reports.

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use sha2::{Digest, Sha256};
use spec::Spec;

use crate::RunnerError;

/// Where the project's releases are published.
pub const RELEASES: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases/download");

/// Lambda's limit for a zip uploaded directly.
const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;

/// Redirects followed: GitHub sends release downloads to its object storage once.
const MAX_REDIRECTS: usize = 5;

/// The function's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    source: Source,
    /// Base64 SHA-256 of a local zip, as Lambda reports `CodeSha256`.
    sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Release { tag: String, asset: String },
    File(PathBuf),
}

impl Package {
    /// The package `spec` names: a local zip is read now (to compare its digest), a
    /// release asset only named.
    pub fn for_spec(spec: &Spec) -> Result<Package, RunnerError> {
        let lambda = &spec.auth.rotation.lambda;
        match lambda.package.as_deref() {
            None | Some("release") => Ok(Package::release(
                concat!("v", env!("CARGO_PKG_VERSION")),
                lambda.architecture.as_str(),
            )),
            Some(path) => Package::file(Path::new(path)),
        }
    }

    /// The release `tag`'s asset for `architecture`.
    pub fn release(tag: &str, architecture: &str) -> Package {
        Package {
            source: Source::Release {
                tag: tag.to_owned(),
                asset: format!("rotation-lambda-{architecture}.zip"),
            },
            sha256: None,
        }
    }

    /// A zip on disk, read now.
    pub fn file(path: &Path) -> Result<Package, RunnerError> {
        let bytes = std::fs::read(path).map_err(|err| {
            RunnerError::Package(format!(
                "cannot read {} (auth.rotation.lambda.package): {err}",
                path.display()
            ))
        })?;
        Ok(Package {
            source: Source::File(path.to_owned()),
            sha256: Some(base64_sha256(&bytes)),
        })
    }

    /// What the function's [`crate::PACKAGE_TAG`] records.
    pub fn identity(&self) -> String {
        match (&self.source, &self.sha256) {
            (_, Some(sha256)) => format!("sha256:{sha256}"),
            (Source::Release { tag, asset }, None) => format!("release {tag} {asset}"),
            (Source::File(path), None) => format!("file {}", path.display()),
        }
    }

    /// Base64 SHA-256 of a local zip (a release's is known once fetched).
    pub fn sha256(&self) -> Option<String> {
        self.sha256.clone()
    }

    /// The zip's bytes: read again from disk (and checked against what the plan read),
    /// or downloaded and checked against the release's checksum file.
    pub async fn bytes(&self) -> Result<Vec<u8>, RunnerError> {
        match &self.source {
            Source::File(path) => {
                let bytes = std::fs::read(path).map_err(|err| {
                    RunnerError::Package(format!("cannot read {}: {err}", path.display()))
                })?;
                if Some(base64_sha256(&bytes)) != self.sha256 {
                    return Err(RunnerError::Package(format!(
                        "{} changed since the plan was made; plan again",
                        path.display()
                    )));
                }
                Ok(bytes)
            }
            Source::Release { tag, asset } => {
                let url = format!("{RELEASES}/{tag}/{asset}");
                let zip = download(&url, MAX_ZIP_BYTES).await?;
                let checksums = download(&format!("{url}.sha256"), 4096).await?;
                verify(&zip, &checksums, asset)?;
                Ok(zip)
            }
        }
    }
}

/// Base64 of the SHA-256, Lambda's `CodeSha256` form.
pub fn base64_sha256(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}

/// Checks `zip` against a `sha256sum` line naming `asset`.
fn verify(zip: &[u8], checksums: &[u8], asset: &str) -> Result<(), RunnerError> {
    let text = String::from_utf8_lossy(checksums);
    let expected = text
        .lines()
        .filter_map(|line| line.split_once(char::is_whitespace))
        .find(|(_, name)| name.trim().trim_start_matches('*') == asset)
        .map(|(hex, _)| hex.to_ascii_lowercase())
        .ok_or_else(|| RunnerError::Package(format!("{asset}.sha256 does not name {asset}")))?;
    let actual: String = Sha256::digest(zip)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if actual != expected {
        return Err(RunnerError::Package(format!(
            "{asset} does not match its published SHA-256 ({expected}); not deployed"
        )));
    }
    Ok(())
}

/// GETs `url` over HTTPS (the system's roots), following redirects, at most `limit` bytes.
async fn download(url: &str, limit: usize) -> Result<Vec<u8>, RunnerError> {
    let failed = |why: String| RunnerError::Package(format!("downloading {url}: {why}"));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|err| failed(format!("no system certificates: {err}")))?
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(https);
    let mut location = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let uri: hyper::Uri = location
            .parse()
            .map_err(|err| failed(format!("bad URL {location}: {err}")))?;
        let response = client
            .get(uri)
            .await
            .map_err(|err| failed(err.to_string()))?;
        let status = response.status();
        if status.is_redirection() {
            location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| failed(format!("{status} without a location")))?
                .to_owned();
            continue;
        }
        if !status.is_success() {
            return Err(failed(format!(
                "{status} (is there a release {}?)",
                url.rsplit('/').nth(1).unwrap_or("")
            )));
        }
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|err| failed(format!("{err} (limit {limit} bytes)")))?;
        return Ok(body.to_bytes().to_vec());
    }
    Err(failed("too many redirects".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_is_named_by_tag_and_asset() {
        let package = Package::release("v1.2.3", "arm64");
        assert_eq!(
            package.identity(),
            "release v1.2.3 rotation-lambda-arm64.zip"
        );
        assert_eq!(package.sha256(), None);
    }

    #[test]
    fn a_local_zip_is_named_by_its_digest() {
        let dir = std::env::temp_dir().join(format!("runner-package-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("f.zip");
        std::fs::write(&path, b"zip").expect("write");
        let package = Package::file(&path).expect("reads");
        // `printf zip | sha256sum | xxd -r -p | base64`
        assert_eq!(
            package.identity(),
            format!("sha256:{}", base64_sha256(b"zip"))
        );
        assert!(Package::file(&dir.join("missing.zip")).is_err());
    }

    #[test]
    fn a_download_must_match_its_checksum_line() {
        let hex: String = Sha256::digest(b"zip")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let line = format!("{hex}  rotation-lambda-arm64.zip\n");
        assert!(verify(b"zip", line.as_bytes(), "rotation-lambda-arm64.zip").is_ok());
        assert!(verify(b"zap", line.as_bytes(), "rotation-lambda-arm64.zip").is_err());
        assert!(verify(b"zip", line.as_bytes(), "rotation-lambda-x86_64.zip").is_err());
    }
}
