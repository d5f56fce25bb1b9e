//! The worker's block streams.

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use wire::frame::Frame;

use crate::block_store::BlockStore;
use crate::cluster::Cluster;
use crate::namespace::common;

pub fn serve(
    _cluster: Arc<Cluster>,
    _store: Arc<BlockStore>,
    stream: TcpStream,
    _peer: SocketAddr,
) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Ok(Some(frame)) = Frame::read_from(&mut reader) {
        let reply = Frame::error_reply_to(&frame.head(), &common("Unsupported operation"));
        if reply.write_to(&mut writer).is_err() {
            break;
        }
    }
}
