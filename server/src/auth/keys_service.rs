//! `causeway.auth.v1.TokenKeys`: the public half of Causeway's signing keys as a JWKS, so any
//! service can verify the tokens Causeway issues (the gateway serves it at
//! `GET /.well-known/jwks.json`).

use causeway_proto::auth::{
    GetJwksRequest, Jwk, Jwks,
    token_keys_server::{TokenKeys, TokenKeysServer},
};
use tonic::{Request, Response, Status};
use tracing::error;

use super::keys::KeyRing;

/// Serves the key ring's public keys.
#[derive(Debug, Clone)]
pub struct TokenKeysService {
    ring: KeyRing,
}

/// The gRPC server for `ring`'s public keys.
pub fn service(ring: KeyRing) -> TokenKeysServer<TokenKeysService> {
    TokenKeysServer::new(TokenKeysService { ring })
}

#[tonic::async_trait]
impl TokenKeys for TokenKeysService {
    async fn get_jwks(&self, _: Request<GetJwksRequest>) -> Result<Response<Jwks>, Status> {
        let ring = self.ring.clone();
        let keys = tokio::task::spawn_blocking(move || ring.load_or_create())
            .await
            .map_err(|e| Status::unavailable(format!("key task failed: {e}")))?
            .map_err(|e| {
                error!(error = %e, "signing keys unreadable");
                Status::unavailable("the signing keys cannot be read; retry")
            })?;
        Ok(Response::new(Jwks {
            keys: keys
                .verifying
                .into_iter()
                .map(|key| Jwk {
                    kty: "OKP".into(),
                    kid: key.kid,
                    alg: "EdDSA".into(),
                    r#use: "sig".into(),
                    crv: "Ed25519".into(),
                    x: key.x,
                    ..Jwk::default()
                })
                .collect(),
        }))
    }
}
