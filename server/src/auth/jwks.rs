//! The keys a verifier trusts for one issuer, cached: Causeway's own key ring, or an external
//! issuer's JWKS from a file or a URL. Keys are fetched again only when a token names a key id
//! the cache does not hold, or the cache is older than its refresh age, and never more often
//! than a minimum interval, so no request pays for a fetch and a flood of forged key ids cannot
//! turn into a flood of fetches. A fetch that fails keeps the cached keys: an issuer that is
//! down does not stop tokens already verifiable.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm},
};
use tracing::warn;

use super::keys::{ALGORITHM, KeyRing};

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Causeway's own key ring.
    Ring(KeyRing),
    /// A JWKS document on disk.
    File(PathBuf),
    /// A JWKS document at an `http(s)://` URL.
    Url(reqwest::Url),
}

/// One key a token may be verified with.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The one algorithm this key verifies: a token must name it in its header.
    pub algorithm: Algorithm,
    /// The key.
    pub key: DecodingKey,
}

/// Timing of a [`KeyCache`].
#[derive(Debug, Clone, Copy)]
pub struct Refresh {
    /// Least time between two fetches.
    pub min_interval: Duration,
    /// Age after which the next lookup fetches again (a rotated-out key disappears).
    pub max_age: Duration,
}

/// The cached keys of one issuer.
pub struct KeyCache {
    source: KeySource,
    refresh: Refresh,
    http: reqwest::Client,
    keys: RwLock<Arc<HashMap<String, VerifyingKey>>>,
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

impl KeyCache {
    /// A cache over `source` (nothing fetched yet).
    pub fn new(source: KeySource, refresh: Refresh) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            source,
            refresh,
            http,
            keys: RwLock::new(Arc::new(HashMap::new())),
            fetched: tokio::sync::Mutex::new(None),
        }
    }

    /// The key named `kid`, fetching the keys again when it is unknown or the cache is old
    /// (within the minimum interval).
    pub async fn find(&self, kid: &str) -> Option<VerifyingKey> {
        let cached = self.snapshot().get(kid).cloned();
        let mut fetched = match self.fetched.try_lock() {
            Ok(fetched) => fetched,
            // Another lookup holds the lock, perhaps for a fetch from an issuer that is slow
            // or down: a key already cached does not wait for it.
            Err(_) if cached.is_some() => return cached,
            Err(_) => self.fetched.lock().await,
        };
        let age = fetched.map(|at| at.elapsed());
        let stale = age.is_none_or(|age| age >= self.refresh.max_age);
        let may_fetch = age.is_none_or(|age| age >= self.refresh.min_interval);
        if (cached.is_none() || stale) && may_fetch {
            *fetched = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys),
                Err(reason) => {
                    warn!(%reason, "could not refresh token signing keys; keeping the cached ones")
                }
            }
        }
        drop(fetched);
        self.snapshot().get(kid).cloned()
    }

    /// Fetches once now (at start-up), so the first request does not wait for it.
    pub async fn prime(&self) {
        let _ = self.find("").await;
    }

    fn snapshot(&self) -> Arc<HashMap<String, VerifyingKey>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, String> {
        match &self.source {
            KeySource::Ring(ring) => {
                let ring = ring.clone();
                let keys = tokio::task::spawn_blocking(move || ring.load())
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                Ok(keys
                    .verifying
                    .into_iter()
                    .map(|k| {
                        let key = VerifyingKey {
                            algorithm: ALGORITHM,
                            key: k.decoding,
                        };
                        (k.kid, key)
                    })
                    .collect())
            }
            KeySource::File(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                parse_jwks(&bytes)
            }
            KeySource::Url(url) => {
                let response = self
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| format!("{url}: {}", e.without_url()))?;
                let bytes = response.bytes().await.map_err(|e| e.to_string())?;
                parse_jwks(&bytes)
            }
        }
    }
}

/// The signature keys of a JWKS document, by key id. Keys without an id, symmetric (`oct`)
/// keys and algorithms other than EdDSA, ES256 and RS256 are left out: an HMAC secret is never
/// accepted from a key set, and no key verifies under an algorithm it was not published for.
pub fn parse_jwks(bytes: &[u8]) -> Result<HashMap<String, VerifyingKey>, String> {
    let set: JwkSet = serde_json::from_slice(bytes).map_err(|e| format!("not a JWKS: {e}"))?;
    Ok(set
        .keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = algorithm_of(jwk)?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, VerifyingKey { algorithm, key }))
        })
        .collect())
}

/// The algorithm a JWK verifies: its `alg`, which must agree with its key type, or the one its
/// key type implies.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        _ => return None,
    };
    let declared = match jwk.common.key_algorithm {
        None => implied,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(_) => return None,
    };
    (declared == implied).then_some(implied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asymmetric_signature_keys_with_an_id_are_taken() {
        let jwks = br#"{"keys":[
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty":"oct","k":"c2VjcmV0","kid":"hmac","alg":"HS256"},
            {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"liar","alg":"RS256"}
        ]}"#;
        let keys = parse_jwks(jwks).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ed"]);
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
        assert!(parse_jwks(b"{}").is_err());
    }

    const ED_KEY: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    /// An HTTP response carrying a JWKS with one Ed25519 key named `kid`.
    fn jwks_response(kid: &str) -> String {
        let body =
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"{ED_KEY}"}}]}}"#);
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// An issuer that answers its first request with key `ed` and then accepts connections
    /// without answering them (slow, or half down), handing each to the test to answer.
    fn stalling_issuer() -> (reqwest::Url, std::sync::mpsc::Receiver<std::net::TcpStream>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (stalled, on_stall) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut first, _) = listener.accept().unwrap();
            let mut head = [0u8; 4096];
            let _ = first.read(&mut head);
            let _ = first.write_all(jwks_response("ed").as_bytes());
            drop(first);
            while let Ok((connection, _)) = listener.accept() {
                if stalled.send(connection).is_err() {
                    return;
                }
            }
        });
        (url.parse().unwrap(), on_stall)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_cached_key_does_not_wait_for_a_fetch_in_progress() {
        use std::io::{Read, Write};
        let (url, on_stall) = stalling_issuer();
        let refresh = Refresh {
            min_interval: Duration::ZERO,
            max_age: Duration::from_secs(3600),
        };
        let cache = Arc::new(KeyCache::new(KeySource::Url(url), refresh));
        assert!(cache.find("ed").await.is_some(), "first fetch");
        // An unknown key id makes one lookup fetch, and the issuer holds that fetch.
        let fetching = tokio::spawn({
            let cache = cache.clone();
            async move { cache.find("new").await }
        });
        let mut stalled = tokio::task::spawn_blocking(move || on_stall.recv())
            .await
            .unwrap()
            .expect("the fetch reached the issuer");
        // The cached key answers now; only then does the issuer answer the fetch. Had the
        // lookup waited for the fetch, the fetch would have given up first and found nothing.
        assert!(cache.find("ed").await.is_some());
        tokio::task::spawn_blocking(move || {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stalled.read(&mut buf).unwrap();
                assert!(n > 0, "the client hung up");
                head.extend_from_slice(&buf[..n]);
            }
            stalled.write_all(jwks_response("new").as_bytes()).unwrap();
            stalled
        })
        .await
        .unwrap();
        assert!(
            fetching.await.unwrap().is_some(),
            "the cached key waited for the fetch in progress"
        );
    }
}
