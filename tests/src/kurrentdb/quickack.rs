//! Connections that acknowledge what they receive at once.
//!
//! The `kurrentdb` crate (1.2) builds its own HTTP/2 connector and leaves Nagle's algorithm on,
//! so a call's second small write (the request body after its headers) waits until the server
//! acknowledges the first; a Linux server delays that ACK by about 40 ms. Every call then costs
//! ~40 ms whatever the server does. The double cannot change the client, so on Linux it asks
//! its kernel for an immediate ACK after every read (`TCP_QUICKACK`, which does not stick and
//! so is set again each time). Only the tests' speed depends on it, not their outcome.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted connection that ACKs every read at once.
pub(crate) struct QuickAck(pub(crate) TcpStream);

impl QuickAck {
    fn ack_now(&self) {
        #[cfg(target_os = "linux")]
        {
            // Best effort: at worst the client waits for a delayed ACK, as without this.
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.0).poll_read(cx, buf);
        if read.is_ready() {
            self.ack_now();
        }
        read
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl Connected for QuickAck {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.connect_info()
    }
}
