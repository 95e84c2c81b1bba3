//! A TCP proxy in front of a real server that injects the one failure retries must survive: the
//! server has done the work, but its answer never reaches the client.
//!
//! It forwards bytes both ways and reads just enough HTTP/2 framing (9-byte frame headers) to
//! count requests (HEADERS frames from the client) and to recognise the start of a response
//! (the first HEADERS frame from the server on a stream). It can also cut every open
//! connection at once, mid-stream, for clients that must resume a long-lived stream. A gRPC server sends response headers
//! only once its handler has finished, so cutting the connection there means "processed, not
//! answered". No TLS: it only ever fronts a loopback test server.

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::{
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::Notify,
    task::{JoinHandle, JoinSet},
};

/// The HTTP/2 client connection preface, which precedes the client's first frame.
const CLIENT_PREFACE_LEN: usize = 24;
const FRAME_HEADER_LEN: usize = 9;
const HEADERS: u8 = 0x1;

/// A proxy on `127.0.0.1:<free port>` forwarding to one upstream; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    /// Responses still to be swallowed (the connection carrying each is cut instead).
    to_drop: AtomicU64,
    requests: AtomicU64,
    dropped: AtomicU64,
    /// Wakes every open connection to be cut at once.
    cut: Notify,
}

impl FaultProxy {
    /// Starts a proxy to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy port");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State::default());
        let accept = tokio::spawn(accept_loop(listener, upstream, state.clone()));
        Self {
            addr,
            state,
            accept,
        }
    }

    /// `http://127.0.0.1:<proxy port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts the connection that carries the next response, instead of delivering it.
    pub fn drop_next_response(&self) {
        self.state.to_drop.fetch_add(1, Ordering::SeqCst);
    }

    /// Cuts every connection open now, as a network failure would: both sockets are closed
    /// with nothing more forwarded either way. Connections made afterwards are served as usual.
    pub fn cut_connections(&self) {
        self.state.cut.notify_waiters();
    }

    /// Requests (gRPC calls) the proxy has forwarded to the server so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Responses swallowed so far.
    pub fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns the connection tasks; aborting it closes every connection.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, state: Arc<State>) {
    let mut connections = JoinSet::new();
    while let Ok((client, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        let state = state.clone();
        connections.spawn(async move {
            if let Ok(server) = TcpStream::connect(upstream).await {
                proxy_connection(client, server, state).await;
            }
        });
    }
}

/// Pumps both directions until either side closes or a response is to be dropped; then both
/// sockets are closed together.
async fn proxy_connection(client: TcpStream, server: TcpStream, state: Arc<State>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_in, client_out) = client.into_split();
    let (server_in, server_out) = server.into_split();
    let up = pump(
        client_in,
        server_out,
        Scanner::new(CLIENT_PREFACE_LEN),
        &state,
        Direction::Up,
    );
    let down = pump(
        server_in,
        client_out,
        Scanner::new(0),
        &state,
        Direction::Down,
    );
    tokio::select! {
        _ = up => {}
        _ = down => {}
        () = state.cut.notified() => {}
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Client to server: requests are counted.
    Up,
    /// Server to client: responses may be dropped.
    Down,
}

async fn pump(
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    mut scanner: Scanner,
    state: &State,
    direction: Direction,
) -> io::Result<()> {
    let mut chunk = vec![0u8; 32 * 1024];
    loop {
        let n = read_some(&from, &mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        let mut cut = false;
        let out = scanner.feed(&chunk[..n], |frame_type, stream_id| {
            if frame_type != HEADERS || stream_id == 0 {
                return true;
            }
            match direction {
                Direction::Up => {
                    state.requests.fetch_add(1, Ordering::SeqCst);
                    true
                }
                Direction::Down => {
                    let armed = state
                        .to_drop
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if armed {
                        state.dropped.fetch_add(1, Ordering::SeqCst);
                        cut = true;
                    }
                    !armed
                }
            }
        });
        write_all(&to, &out).await?;
        if cut {
            return Ok(());
        }
    }
}

/// Splits a byte stream into HTTP/2 frames, releasing only whole frames (after an optional
/// preface) so that a frame can be withheld entirely.
struct Scanner {
    preface_left: usize,
    pending: Vec<u8>,
    stopped: bool,
}

impl Scanner {
    fn new(preface: usize) -> Self {
        Self {
            preface_left: preface,
            pending: Vec::new(),
            stopped: false,
        }
    }

    /// Returns the bytes to forward. `keep(type, stream)` decides per frame; once it says no,
    /// that frame and everything after it is withheld.
    fn feed(&mut self, bytes: &[u8], mut keep: impl FnMut(u8, u32) -> bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        if self.stopped {
            return out;
        }
        self.pending.extend_from_slice(bytes);
        let preface = self.preface_left.min(self.pending.len());
        out.extend(self.pending.drain(..preface));
        self.preface_left -= preface;
        while self.pending.len() >= FRAME_HEADER_LEN {
            let header = &self.pending[..FRAME_HEADER_LEN];
            let length = (usize::from(header[0]) << 16)
                | (usize::from(header[1]) << 8)
                | usize::from(header[2]);
            let frame_type = header[3];
            let stream_id =
                u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
            if self.pending.len() < FRAME_HEADER_LEN + length {
                break;
            }
            if !keep(frame_type, stream_id) {
                self.stopped = true;
                self.pending.clear();
                break;
            }
            out.extend(self.pending.drain(..FRAME_HEADER_LEN + length));
        }
        out
    }
}

async fn read_some(from: &OwnedReadHalf, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        from.readable().await?;
        match from.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

async fn write_all(to: &OwnedWriteHalf, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        to.writable().await?;
        match to.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(frame_type: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut f = vec![
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            frame_type,
            0,
        ];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn withholds_the_first_refused_frame_and_everything_after() {
        let settings = frame(0x4, 0, &[0; 6]);
        let headers = frame(HEADERS, 1, b"hpack");
        let data = frame(0x0, 1, b"body");
        let mut bytes = settings.clone();
        bytes.extend(&headers);
        bytes.extend(&data);
        let mut scanner = Scanner::new(0);
        let mut seen = Vec::new();
        // Byte by byte: frames split across reads are reassembled before deciding.
        let mut out = Vec::new();
        for b in &bytes {
            out.extend(scanner.feed(std::slice::from_ref(b), |t, s| {
                seen.push((t, s));
                t != HEADERS
            }));
        }
        assert_eq!(out, settings);
        assert_eq!(seen, vec![(0x4, 0), (HEADERS, 1)]);
    }

    #[test]
    fn passes_the_client_preface_through_untouched() {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frame(HEADERS, 1, b"req"));
        let mut count = 0;
        let out = Scanner::new(CLIENT_PREFACE_LEN).feed(&bytes, |t, _| {
            count += usize::from(t == HEADERS);
            true
        });
        assert_eq!(out, bytes);
        assert_eq!(count, 1);
    }
}
