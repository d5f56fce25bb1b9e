//! The status byte: request kind in the low nibble, response result in the
//! high nibble.

/// What a frame asks for (low nibble of the status byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum RequestStatus {
    Undefined = -1,
    /// Keep-alive; readers skip these frames and nobody answers them.
    Heartbeat = 0,
    /// A one-shot request: every master call.
    Rpc = 1,
    /// The first frame of a block stream.
    Open = 2,
    /// A data frame of a block stream.
    Running = 3,
    /// Aborts a write stream.
    Cancel = 4,
    /// Finishes a block stream.
    Complete = 5,
}

/// How a reply went (high nibble of the status byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum ResponseStatus {
    /// Requests carry this.
    Undefined = -1,
    Success = 0,
    Error = 1,
}

/// Packs both parts the way Curvine does: on `i8`, with no mask on the
/// request part, so an undefined request turns the whole byte into 0xFF.
pub fn pack(request: RequestStatus, response: ResponseStatus) -> i8 {
    (request as i8) | ((response as i8) << 4)
}

/// Splits a status byte; unknown values of either part decode as undefined.
pub fn unpack(status: i8) -> (RequestStatus, ResponseStatus) {
    let request = match status & 0x0F {
        0 => RequestStatus::Heartbeat,
        1 => RequestStatus::Rpc,
        2 => RequestStatus::Open,
        3 => RequestStatus::Running,
        4 => RequestStatus::Cancel,
        5 => RequestStatus::Complete,
        _ => RequestStatus::Undefined,
    };
    // Arithmetic shift: 0xF_ gives -1.
    let response = match status >> 4 {
        0 => ResponseStatus::Success,
        1 => ResponseStatus::Error,
        _ => ResponseStatus::Undefined,
    };
    (request, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_bytes_match_curvine() {
        let request = |r| pack(r, ResponseStatus::Undefined) as u8;
        assert_eq!(request(RequestStatus::Heartbeat), 0xF0);
        assert_eq!(request(RequestStatus::Rpc), 0xF1);
        assert_eq!(request(RequestStatus::Open), 0xF2);
        assert_eq!(request(RequestStatus::Running), 0xF3);
        assert_eq!(request(RequestStatus::Cancel), 0xF4);
        assert_eq!(request(RequestStatus::Complete), 0xF5);
        assert_eq!(
            pack(RequestStatus::Rpc, ResponseStatus::Success) as u8,
            0x01
        );
        assert_eq!(
            pack(RequestStatus::Complete, ResponseStatus::Success) as u8,
            0x05
        );
        assert_eq!(pack(RequestStatus::Rpc, ResponseStatus::Error) as u8, 0x11);
        assert_eq!(
            pack(RequestStatus::Running, ResponseStatus::Error) as u8,
            0x13
        );
        assert_eq!(
            pack(RequestStatus::Undefined, ResponseStatus::Success) as u8,
            0xFF
        );
    }

    #[test]
    fn every_byte_round_trips_through_unpack() {
        for byte in 0u8..=255 {
            let (req, resp) = unpack(byte as i8);
            if req != RequestStatus::Undefined && resp != ResponseStatus::Undefined {
                assert_eq!(pack(req, resp) as u8, byte);
            }
        }
        assert_eq!(
            unpack(0xF1u8 as i8),
            (RequestStatus::Rpc, ResponseStatus::Undefined)
        );
        assert_eq!(unpack(0x12), (RequestStatus::Open, ResponseStatus::Error));
        assert_eq!(
            unpack(0x27),
            (RequestStatus::Undefined, ResponseStatus::Undefined)
        );
    }
}
