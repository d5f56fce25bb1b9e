//! A blocking client for Curvine clusters, on plain `std::net` sockets.
//!
//! [`fs::Client`] is the handle: it finds the leader master (see
//! [`master`]) and offers the filesystem calls.

pub mod block_reader;
pub mod block_writer;
pub mod conf;
pub mod connection;
pub mod endpoint;
pub mod error;
pub mod fs;
pub mod master;
pub mod worker;

pub use block_reader::FileReader;
pub use block_writer::{FileWriter, WriteOptions};
pub use conf::ClientConf;
pub use endpoint::Endpoint;
pub use error::{Code, Error, Result};
pub use fs::Client;
