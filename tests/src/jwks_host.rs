//! An identity provider's JWKS endpoint for the auth tests: a plain HTTP/1.1 server on
//! 127.0.0.1 port 0 that answers every request with the JWKS document it holds and counts the
//! requests, so a test can tell how often a server fetched the keys, change the keys it
//! publishes, and take the endpoint down.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// Most bytes of a request read before answering (a JWKS fetch is a small GET).
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// A running JWKS endpoint.
pub struct JwksHost {
    /// `http://127.0.0.1:<port>/jwks.json`.
    pub url: String,
    document: Arc<Mutex<String>>,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl JwksHost {
    /// Serves `document` (a JWKS as JSON text) until stopped.
    pub async fn start(document: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let url = format!(
            "http://{}/jwks.json",
            listener.local_addr().expect("local addr")
        );
        let document = Arc::new(Mutex::new(document));
        let requests = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept(listener, document.clone(), requests.clone()));
        Self {
            url,
            document,
            requests,
            task,
        }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Publishes `document` from now on (the provider rotated its keys).
    pub fn publish(&self, document: String) {
        *self.document.lock().unwrap_or_else(|e| e.into_inner()) = document;
    }

    /// Takes the endpoint down: once this returns, connections to it are refused.
    pub async fn stop(self) {
        self.task.abort();
        // The listener is dropped with the task; waiting for the task makes that certain.
        let _ = self.task.await;
    }
}

async fn accept(listener: TcpListener, document: Arc<Mutex<String>>, requests: Arc<AtomicUsize>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        connections.spawn(answer(stream, document.clone(), requests.clone()));
    }
}

/// Reads one request's head and answers it with the document; one request per connection.
async fn answer(mut stream: TcpStream, document: Arc<Mutex<String>>, requests: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_BYTES {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let body = document.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A JWKS document holding `keys` (JWKs as JSON values).
pub fn jwks(keys: &[serde_json::Value]) -> String {
    serde_json::json!({ "keys": keys }).to_string()
}
