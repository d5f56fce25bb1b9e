//! Error replies: the data section of a frame whose response status is not
//! Success is `i32 kind | u32 len | message | u32 extra_len | extra`.

use std::fmt;

/// Curvine's error kinds, as numbered on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    Io = 1,
    NotLeaderMaster = 2,
    Raft = 3,
    Timeout = 4,
    PbDecode = 5,
    PbEncode = 6,
    FileAlreadyExists = 7,
    FileNotFound = 8,
    InvalidFileSize = 9,
    ParentNotDir = 10,
    DirNotEmpty = 11,
    AbnormalData = 12,
    BlockIsWriting = 13,
    BlockInfo = 14,
    Lease = 15,
    InvalidPath = 16,
    DiskOutOfSpace = 17,
    InProgress = 18,
    Unsupported = 19,
    Ufs = 20,
    Expired = 21,
    UnsupportedUfsRead = 22,
    JobNotFound = 23,
    Pipeline = 24,
    MinReplicasNotMet = 25,
    IsADirectory = 26,
    NotADirectory = 27,
    InvalidArgument = 28,
    BlockNotFound = 29,
    ReadOnly = 30,
    NoAvailableWorker = 31,
    NoLocalPath = 32,
    TransferFailed = 33,
    TransferNotFound = 34,
    TransferConflict = 35,
    TransferUnsupported = 36,
    Common = 10000,
}

impl ErrorKind {
    const ALL: [ErrorKind; 37] = [
        ErrorKind::Io,
        ErrorKind::NotLeaderMaster,
        ErrorKind::Raft,
        ErrorKind::Timeout,
        ErrorKind::PbDecode,
        ErrorKind::PbEncode,
        ErrorKind::FileAlreadyExists,
        ErrorKind::FileNotFound,
        ErrorKind::InvalidFileSize,
        ErrorKind::ParentNotDir,
        ErrorKind::DirNotEmpty,
        ErrorKind::AbnormalData,
        ErrorKind::BlockIsWriting,
        ErrorKind::BlockInfo,
        ErrorKind::Lease,
        ErrorKind::InvalidPath,
        ErrorKind::DiskOutOfSpace,
        ErrorKind::InProgress,
        ErrorKind::Unsupported,
        ErrorKind::Ufs,
        ErrorKind::Expired,
        ErrorKind::UnsupportedUfsRead,
        ErrorKind::JobNotFound,
        ErrorKind::Pipeline,
        ErrorKind::MinReplicasNotMet,
        ErrorKind::IsADirectory,
        ErrorKind::NotADirectory,
        ErrorKind::InvalidArgument,
        ErrorKind::BlockNotFound,
        ErrorKind::ReadOnly,
        ErrorKind::NoAvailableWorker,
        ErrorKind::NoLocalPath,
        ErrorKind::TransferFailed,
        ErrorKind::TransferNotFound,
        ErrorKind::TransferConflict,
        ErrorKind::TransferUnsupported,
        ErrorKind::Common,
    ];

    /// Unknown numbers decode as `Common`, as Curvine's own decoder does.
    pub fn from_i32(value: i32) -> ErrorKind {
        Self::ALL
            .iter()
            .copied()
            .find(|k| *k as i32 == value)
            .unwrap_or(ErrorKind::Common)
    }

    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// A standby master answered: the request may go to another master.
    pub fn is_not_leader(self) -> bool {
        self == ErrorKind::NotLeaderMaster
    }
}

/// A decoded error reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBlob {
    /// The raw number from the wire (kept even when it is not a known kind).
    pub raw_kind: i32,
    pub message: String,
}

/// An error blob too short for its own lengths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedErrorBlob {
    pub len: usize,
}

impl fmt::Display for MalformedErrorBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed error reply ({} bytes)", self.len)
    }
}

impl std::error::Error for MalformedErrorBlob {}

impl ErrorBlob {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ErrorBlob {
        ErrorBlob {
            raw_kind: kind.as_i32(),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        ErrorKind::from_i32(self.raw_kind)
    }

    /// All four parts, the extra part empty, as Curvine's servers send it.
    pub fn encode(&self) -> Vec<u8> {
        let msg = self.message.as_bytes();
        let mut out = Vec::with_capacity(12 + msg.len());
        out.extend_from_slice(&self.raw_kind.to_be_bytes());
        out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        out.extend_from_slice(msg);
        out.extend_from_slice(&0u32.to_be_bytes());
        out
    }

    /// Reads kind and message; the trailing extra part is optional. Invalid
    /// UTF-8 in the message is replaced, never an error.
    pub fn decode(data: &[u8]) -> Result<ErrorBlob, MalformedErrorBlob> {
        let bad = || MalformedErrorBlob { len: data.len() };
        if data.len() < 8 {
            return Err(bad());
        }
        let raw_kind = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let msg_len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let msg = data
            .get(8..8usize.checked_add(msg_len).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        Ok(ErrorBlob {
            raw_kind,
            message: String::from_utf8_lossy(msg).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_layout_is_kind_len_message_extra() {
        let blob = ErrorBlob::new(ErrorKind::FileNotFound, "no /a");
        assert_eq!(
            blob.encode(),
            [0, 0, 0, 8, 0, 0, 0, 5, b'n', b'o', b' ', b'/', b'a', 0, 0, 0, 0]
        );
        assert_eq!(ErrorBlob::decode(&blob.encode()).unwrap(), blob);
    }

    #[test]
    fn extra_part_is_optional_and_short_blobs_are_refused() {
        let decoded = ErrorBlob::decode(&[0, 0, 0, 2, 0, 0, 0, 1, b'x']).unwrap();
        assert_eq!(decoded.kind(), ErrorKind::NotLeaderMaster);
        assert!(ErrorBlob::decode(&[0, 0, 0, 2, 0, 0, 0, 9, b'x']).is_err());
        assert!(ErrorBlob::decode(&[0, 0, 0]).is_err());
        assert!(ErrorBlob::decode(&[0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }

    #[test]
    fn unknown_kinds_decode_as_common() {
        assert_eq!(ErrorKind::from_i32(4242), ErrorKind::Common);
        assert_eq!(ErrorKind::from_i32(27), ErrorKind::NotADirectory);
        assert_eq!(ErrorKind::from_i32(10000), ErrorKind::Common);
    }
}
