//! TLS to PostgreSQL, with libpq's `sslmode` meanings (rustls, no OpenSSL):
//!
//! | sslmode | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | - |
//! | `allow`, `prefer` (default) | when the server offers it | as `require` |
//! | `require` | yes | against `sslrootcert` when given (as libpq does), else not |
//! | `verify-ca` | yes | signed by `sslrootcert` |
//! | `verify-full` | yes | signed by `sslrootcert`, and for the host connected to |
//!
//! `sslmode` and `sslrootcert` are read here and taken out of the URL
//! before the driver parses it (it knows neither `verify-*` nor
//! `sslrootcert`).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(StoreError::Config(format!(
                    "unknown sslmode {other:?} (disable, allow, prefer, require, verify-ca, verify-full)"
                )));
            }
        })
    }

    /// What the driver is told: it knows disable, prefer and require.
    fn for_driver(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow | Self::Prefer => "prefer",
            Self::Require | Self::VerifyCa | Self::VerifyFull => "require",
        }
    }
}

/// The TLS settings of a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Splits `url` into the URL the driver parses and the TLS settings.
pub fn split(url: &str) -> Result<(String, TlsSettings), StoreError> {
    let mut settings = TlsSettings {
        mode: SslMode::Prefer,
        root_cert: None,
    };
    let mut take = |key: &str, value: &str| -> Result<bool, StoreError> {
        match key {
            "sslmode" => settings.mode = SslMode::parse(value)?,
            "sslrootcert" => settings.root_cert = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rewritten = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if !take(&key, &value)? {
                kept.append_pair(&key, &value);
            }
        }
        let kept = kept.finish();
        match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{kept}"),
        }
    } else {
        // libpq's `key=value key=value` form (values without spaces).
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let consumed = match word.split_once('=') {
                Some((key, value)) => take(key, value.trim_matches('\''))?,
                None => false,
            };
            if !consumed {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    let separator = match (rewritten.contains("://"), rewritten.contains('?')) {
        (true, true) => "&",
        (true, false) => "?",
        (false, _) => " ",
    };
    let mode = settings.mode.for_driver();
    let driver_url = match rewritten.is_empty() {
        true => format!("sslmode={mode}"),
        false => format!("{rewritten}{separator}sslmode={mode}"),
    };
    Ok((driver_url, settings))
}

/// The rustls connector for `settings`.
pub fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &settings.root_cert {
        Some(path) => Some(Arc::new(load_roots(path)?)),
        None if matches!(settings.mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
            return Err(StoreError::Config(
                "sslmode=verify-ca and verify-full need sslrootcert=<CA certificate file>".into(),
            ));
        }
        None => None,
    };
    let checked = match roots {
        Some(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| StoreError::Config(format!("sslrootcert: {e}")))?,
        ),
        None => None,
    };
    let verifier = Verifier {
        checked,
        check_name: settings.mode == SslMode::VerifyFull,
        provider: Arc::clone(&provider),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn load_roots(path: &std::path::Path) -> Result<RootCertStore, StoreError> {
    let bad = |e: &dyn std::fmt::Display| {
        StoreError::Config(format!("sslrootcert {}: {e}", path.display()))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"no certificate in the file"));
    }
    Ok(roots)
}

/// Checks the server's certificate as the sslmode says (see the table).
#[derive(Debug)]
struct Verifier {
    /// Checks the chain against the CA; `None`: the chain is not checked.
    checked: Option<Arc<WebPkiServerVerifier>>,
    /// verify-full: the certificate must name the host.
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(checked) = &self.checked else {
            return Ok(ServerCertVerified::assertion());
        };
        match checked.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    // The handshake's signatures are always checked: they prove the server
    // holds the key of the certificate it sent.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_taken_out_of_both_url_forms() {
        let (url, tls) =
            split("postgres://u@h:5/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x")
                .unwrap();
        assert_eq!(
            url,
            "postgres://u@h:5/db?application_name=x&sslmode=require"
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/ca.pem")));
        let (url, tls) = split("postgresql://u@h/db").unwrap();
        assert_eq!(url, "postgresql://u@h/db?sslmode=prefer");
        assert_eq!(tls.mode, SslMode::Prefer);
        let (url, tls) = split("host=h user=u sslmode=disable dbname=d").unwrap();
        assert_eq!(url, "host=h user=u dbname=d sslmode=disable");
        assert_eq!(tls.mode, SslMode::Disable);
        assert!(split("postgres://h/db?sslmode=sometimes").is_err());
    }

    #[test]
    fn verifying_modes_need_a_ca() {
        for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
            let settings = TlsSettings {
                mode,
                root_cert: None,
            };
            assert!(matches!(connector(&settings), Err(StoreError::Config(_))));
        }
        let settings = TlsSettings {
            mode: SslMode::Require,
            root_cert: None,
        };
        assert!(connector(&settings).is_ok());
    }
}
