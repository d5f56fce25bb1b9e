//! One RPC message on the TCP stream.
//!
//! ```text
//! i32 total_len | i32 header_len | i8 code | i8 status | i64 req_id | i32 seq_id | header | data
//! ```
//!
//! All integers are big-endian; `total_len` counts the bytes after itself.

use std::fmt;
use std::io::{self, Read, Write};

use crate::error::ErrorBlob;
use crate::status::{self, RequestStatus, ResponseStatus};

/// The fixed prefix, length word included.
pub const PREFIX_LEN: usize = 22;
/// The fixed prefix without the length word.
pub const HEAD_LEN: usize = 18;
/// The largest data section a receiver accepts.
pub const MAX_DATA_LEN: usize = 16 * 1024 * 1024;
/// `seq_id` of a plain (non-stream) RPC.
pub const RPC_SEQ_ID: i32 = -1;
/// `req_id` meaning "no request" (heartbeats).
pub const NO_REQ_ID: i64 = -1;

/// A frame that breaks the layout rules. The connection it came on cannot be
/// trusted any more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The derived data length is negative.
    NegativeDataLen { total_len: i32, header_len: i32 },
    /// The derived data length is over 16 MiB.
    DataTooLarge(usize),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NegativeDataLen {
                total_len,
                header_len,
            } => write!(
                f,
                "bad frame: total length {total_len} leaves no room for a header of {header_len} bytes"
            ),
            FrameError::DataTooLarge(n) => {
                write!(f, "bad frame: data section of {n} bytes is over {MAX_DATA_LEN}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// The fixed 22-byte prefix of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    pub header_len: usize,
    pub data_len: usize,
    pub code: i8,
    pub status: i8,
    pub req_id: i64,
    pub seq_id: i32,
}

impl FrameHead {
    pub fn request_status(&self) -> RequestStatus {
        status::unpack(self.status).0
    }

    pub fn response_status(&self) -> ResponseStatus {
        status::unpack(self.status).1
    }

    pub fn encode(&self) -> [u8; PREFIX_LEN] {
        let total = (HEAD_LEN + self.header_len + self.data_len) as i32;
        let mut out = [0u8; PREFIX_LEN];
        out[0..4].copy_from_slice(&total.to_be_bytes());
        out[4..8].copy_from_slice(&(self.header_len as i32).to_be_bytes());
        out[8] = self.code as u8;
        out[9] = self.status as u8;
        out[10..18].copy_from_slice(&self.req_id.to_be_bytes());
        out[18..22].copy_from_slice(&self.seq_id.to_be_bytes());
        out
    }

    /// Checks the lengths the way Curvine's readers do: only the data
    /// section is bounded; the header may be of any size.
    pub fn decode(bytes: &[u8; PREFIX_LEN]) -> Result<FrameHead, FrameError> {
        let word = |at: usize| {
            i32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let total_len = word(0);
        let header_len = word(4);
        let data_len = total_len as i64 - header_len as i64 - HEAD_LEN as i64;
        if data_len < 0 || header_len < 0 {
            return Err(FrameError::NegativeDataLen {
                total_len,
                header_len,
            });
        }
        if data_len as usize > MAX_DATA_LEN {
            return Err(FrameError::DataTooLarge(data_len as usize));
        }
        let mut req_id = [0u8; 8];
        req_id.copy_from_slice(&bytes[10..18]);
        Ok(FrameHead {
            header_len: header_len as usize,
            data_len: data_len as usize,
            code: bytes[8] as i8,
            status: bytes[9] as i8,
            req_id: i64::from_be_bytes(req_id),
            seq_id: word(18),
        })
    }
}

/// A whole frame in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub code: i8,
    pub status: i8,
    pub req_id: i64,
    pub seq_id: i32,
    pub header: Vec<u8>,
    pub data: Vec<u8>,
}

impl Frame {
    /// A request frame (response part undefined).
    pub fn request(
        code: i8,
        request: RequestStatus,
        req_id: i64,
        seq_id: i32,
        header: Vec<u8>,
    ) -> Frame {
        Frame {
            code,
            status: status::pack(request, ResponseStatus::Undefined),
            req_id,
            seq_id,
            header,
            data: Vec::new(),
        }
    }

    /// A success reply to `request`: same code, request nibble, ids.
    pub fn reply_to(request: &FrameHead, header: Vec<u8>, data: Vec<u8>) -> Frame {
        Frame {
            code: request.code,
            status: status::pack(request.request_status(), ResponseStatus::Success),
            req_id: request.req_id,
            seq_id: request.seq_id,
            header,
            data,
        }
    }

    /// An error reply to `request`: no header, the blob as data.
    pub fn error_reply_to(request: &FrameHead, error: &ErrorBlob) -> Frame {
        Frame {
            code: request.code,
            status: status::pack(request.request_status(), ResponseStatus::Error),
            req_id: request.req_id,
            seq_id: request.seq_id,
            header: Vec::new(),
            data: error.encode(),
        }
    }

    pub fn head(&self) -> FrameHead {
        FrameHead {
            header_len: self.header.len(),
            data_len: self.data.len(),
            code: self.code,
            status: self.status,
            req_id: self.req_id,
            seq_id: self.seq_id,
        }
    }

    pub fn request_status(&self) -> RequestStatus {
        status::unpack(self.status).0
    }

    pub fn response_status(&self) -> ResponseStatus {
        status::unpack(self.status).1
    }

    /// Only a high nibble of 0 is success; everything else carries an
    /// error blob in the data section.
    pub fn is_success(&self) -> bool {
        self.response_status() == ResponseStatus::Success
    }

    /// The whole frame as bytes, prefix first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFIX_LEN + self.header.len() + self.data.len());
        out.extend_from_slice(&self.head().encode());
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.data);
        out
    }

    /// Writes prefix, header and data, then flushes.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        write_frame(w, &self.head(), &self.header, &self.data)
    }

    /// Reads the next frame that is not a heartbeat. `Ok(None)` is a clean
    /// close before the first prefix byte.
    pub fn read_from<R: Read>(r: &mut R) -> io::Result<Option<Frame>> {
        loop {
            let Some(head) = read_head(r)? else {
                return Ok(None);
            };
            let mut header = vec![0u8; head.header_len];
            r.read_exact(&mut header)?;
            let mut data = vec![0u8; head.data_len];
            r.read_exact(&mut data)?;
            if head.request_status() == RequestStatus::Heartbeat {
                continue;
            }
            return Ok(Some(Frame {
                code: head.code,
                status: head.status,
                req_id: head.req_id,
                seq_id: head.seq_id,
                header,
                data,
            }));
        }
    }
}

/// Writes one frame from its parts without joining them first, so a large
/// data section is not copied.
pub fn write_frame<W: Write>(
    w: &mut W,
    head: &FrameHead,
    header: &[u8],
    data: &[u8],
) -> io::Result<()> {
    debug_assert_eq!(head.header_len, header.len());
    debug_assert_eq!(head.data_len, data.len());
    if data.len() > MAX_DATA_LEN {
        return Err(FrameError::DataTooLarge(data.len()).into());
    }
    let prefix = head.encode();
    if header.len() + data.len() <= 64 * 1024 {
        // Small frames go out in one segment.
        let mut buf = Vec::with_capacity(PREFIX_LEN + header.len() + data.len());
        buf.extend_from_slice(&prefix);
        buf.extend_from_slice(header);
        buf.extend_from_slice(data);
        w.write_all(&buf)?;
    } else {
        let mut buf = Vec::with_capacity(PREFIX_LEN + header.len());
        buf.extend_from_slice(&prefix);
        buf.extend_from_slice(header);
        w.write_all(&buf)?;
        w.write_all(data)?;
    }
    w.flush()
}

/// Reads a frame prefix. `Ok(None)` when the peer closed before sending any
/// byte of it; a close in the middle is an error.
pub fn read_head<R: Read>(r: &mut R) -> io::Result<Option<FrameHead>> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        match r.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed after {got} bytes of a frame prefix"),
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(FrameHead::decode(&prefix)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RpcCode;
    use crate::error::ErrorKind;
    use crate::proto::{ExistsRequest, ExistsResponse};

    const R: i64 = 0x0123_4567_89AB_CDEF;

    #[test]
    fn exists_request_matches_hand_computed_bytes() {
        let header = crate::encode_message(&ExistsRequest { path: "/a".into() });
        let frame = Frame::request(
            RpcCode::Exists.as_i8(),
            RequestStatus::Rpc,
            R,
            RPC_SEQ_ID,
            header,
        );
        let expected: Vec<u8> = [
            &[0x00, 0x00, 0x00, 0x16][..], // total_len 22
            &[0x00, 0x00, 0x00, 0x04],     // header_len 4
            &[0x09],                       // code Exists
            &[0xF1],                       // Rpc request
            &[0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF],
            &[0xFF, 0xFF, 0xFF, 0xFF], // seq_id -1
            &[0x0A, 0x02, 0x2F, 0x61], // ExistsRequest{path:"/a"}
        ]
        .concat();
        assert_eq!(frame.encode(), expected);
    }

    #[test]
    fn success_and_error_replies_match_hand_computed_bytes() {
        let req = Frame::request(
            RpcCode::Exists.as_i8(),
            RequestStatus::Rpc,
            R,
            RPC_SEQ_ID,
            vec![],
        )
        .head();
        let ok = Frame::reply_to(
            &req,
            crate::encode_message(&ExistsResponse { exists: true }),
            vec![],
        );
        let mut expected = vec![0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x02, 0x09, 0x01];
        expected.extend_from_slice(&R.to_be_bytes());
        expected.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x08, 0x01]);
        assert_eq!(ok.encode(), expected);

        let stat = Frame::request(
            RpcCode::FileStatus.as_i8(),
            RequestStatus::Rpc,
            R,
            RPC_SEQ_ID,
            vec![],
        )
        .head();
        let err = Frame::error_reply_to(&stat, &ErrorBlob::new(ErrorKind::FileNotFound, "M"));
        let mut expected = vec![0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x07, 0x11];
        expected.extend_from_slice(&R.to_be_bytes());
        expected.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 1, b'M', 0, 0, 0, 0]);
        assert_eq!(err.encode(), expected);
        assert!(!err.is_success());
    }

    #[test]
    fn read_block_running_request_has_no_header_or_data() {
        let f = Frame::request(
            RpcCode::ReadBlock.as_i8(),
            RequestStatus::Running,
            R,
            1,
            vec![],
        );
        let mut expected = vec![0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x51, 0xF3];
        expected.extend_from_slice(&R.to_be_bytes());
        expected.extend_from_slice(&[0x00, 0x00, 0x00, 0x01]);
        assert_eq!(f.encode(), expected);
    }

    #[test]
    fn frames_round_trip_and_heartbeats_are_skipped() {
        let heartbeat = Frame::request(0, RequestStatus::Heartbeat, NO_REQ_ID, RPC_SEQ_ID, vec![]);
        let mut real = Frame::request(81, RequestStatus::Running, R, 7, vec![1, 2, 3]);
        real.data = vec![9; 100_000];
        let mut bytes = heartbeat.encode();
        real.write_to(&mut bytes).unwrap();
        let mut cursor = io::Cursor::new(bytes);
        assert_eq!(Frame::read_from(&mut cursor).unwrap(), Some(real));
        assert_eq!(Frame::read_from(&mut cursor).unwrap(), None);
    }

    #[test]
    fn bad_lengths_are_refused() {
        let mut prefix = Frame::request(9, RequestStatus::Rpc, R, -1, vec![0; 10])
            .head()
            .encode();
        prefix[0..4].copy_from_slice(&5i32.to_be_bytes());
        assert!(matches!(
            FrameHead::decode(&prefix),
            Err(FrameError::NegativeDataLen { .. })
        ));
        prefix[0..4].copy_from_slice(&((HEAD_LEN + 10 + MAX_DATA_LEN + 1) as i32).to_be_bytes());
        assert_eq!(
            FrameHead::decode(&prefix),
            Err(FrameError::DataTooLarge(MAX_DATA_LEN + 1))
        );
        // A header far larger than 16 MiB is allowed.
        prefix[0..4].copy_from_slice(&((HEAD_LEN + 40_000_000) as i32).to_be_bytes());
        prefix[4..8].copy_from_slice(&40_000_000i32.to_be_bytes());
        assert_eq!(FrameHead::decode(&prefix).unwrap().header_len, 40_000_000);
    }

    #[test]
    fn a_close_inside_the_prefix_is_an_error() {
        let bytes = Frame::request(9, RequestStatus::Rpc, R, -1, vec![]).encode();
        let mut cursor = io::Cursor::new(bytes[..10].to_vec());
        assert_eq!(
            Frame::read_from(&mut cursor).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
