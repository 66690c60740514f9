//! The TLS client configuration: the system's roots, or a CA file's.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use crate::ConnectError;

/// A client configuration trusting `ca_file`'s certificates, or the system's roots.
/// The crypto provider is named (ring) rather than taken from the process: a binary
/// that links rustls with two providers has no default one.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, ConnectError> {
    let roots = match ca_file {
        Some(path) => roots_from(path)?,
        None => system_roots(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn roots_from(path: &Path) -> Result<RootCertStore, ConnectError> {
    let unusable = |detail: String| ConnectError::CaFile {
        path: path.to_owned(),
        detail,
    };
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path).map_err(|e| unusable(e.to_string()))?;
    for certificate in certificates {
        let certificate = certificate.map_err(|e| unusable(e.to_string()))?;
        roots
            .add(certificate)
            .map_err(|e| unusable(e.to_string()))?;
    }
    match roots.is_empty() {
        true => Err(unusable("it holds no PEM certificate".into())),
        false => Ok(roots),
    }
}

/// The platform's trusted roots. Certificates the platform lists but rustls cannot
/// parse are skipped, as browsers do.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
    roots
}
