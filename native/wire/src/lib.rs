//! The bytes Curvine's masters and workers exchange: frames, the status byte,
//! error blobs, RPC codes and the protobuf messages.
//!
//! Both sides of curvine-py (the client and the mini cluster) build on this
//! crate and on nothing else of each other, so the client is never tested
//! against its own logic.

pub mod code;
pub mod error;
pub mod frame;
pub mod status;

pub use code::RpcCode;
pub use error::{ErrorBlob, ErrorKind};
pub use frame::{Frame, FrameError, FrameHead};
pub use status::{RequestStatus, ResponseStatus};

/// The prost types generated from `proto/*.proto`.
#[allow(clippy::all, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/proto.rs"));
}

/// Encodes a protobuf message into a fresh buffer.
pub fn encode_message<M: prost::Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}

/// Decodes a protobuf message; an empty header decodes as the default value.
pub fn decode_message<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, prost::DecodeError> {
    M::decode(bytes)
}
