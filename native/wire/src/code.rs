//! RPC codes: the `code` byte of a frame selects the operation.

/// The operations curvine-py sends or serves. Master codes run from 2 to 60,
/// worker stream codes from 80 to 83, so one server can serve both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum RpcCode {
    Mkdir = 2,
    Delete = 3,
    CreateFile = 4,
    OpenFile = 5,
    FileStatus = 7,
    ListStatus = 8,
    Exists = 9,
    Rename = 10,
    AddBlock = 11,
    CompleteFile = 12,
    GetBlockLocations = 13,
    GetFilesystemInfo = 14,
    SetAttr = 15,
    Symlink = 16,
    Free = 26,
    ListOptions = 27,
    Mount = 30,
    UnMount = 31,
    GetMountTable = 33,
    GetMountInfo = 34,
    WriteBlock = 80,
    ReadBlock = 81,
}

impl RpcCode {
    /// Every code this crate knows, for lookups by number.
    pub const ALL: [RpcCode; 22] = [
        RpcCode::Mkdir,
        RpcCode::Delete,
        RpcCode::CreateFile,
        RpcCode::OpenFile,
        RpcCode::FileStatus,
        RpcCode::ListStatus,
        RpcCode::Exists,
        RpcCode::Rename,
        RpcCode::AddBlock,
        RpcCode::CompleteFile,
        RpcCode::GetBlockLocations,
        RpcCode::GetFilesystemInfo,
        RpcCode::SetAttr,
        RpcCode::Symlink,
        RpcCode::Free,
        RpcCode::ListOptions,
        RpcCode::Mount,
        RpcCode::UnMount,
        RpcCode::GetMountTable,
        RpcCode::GetMountInfo,
        RpcCode::WriteBlock,
        RpcCode::ReadBlock,
    ];

    /// The code for a byte, or `None` for one this crate does not know.
    pub fn from_i8(value: i8) -> Option<RpcCode> {
        Self::ALL.iter().copied().find(|c| *c as i8 == value)
    }

    pub fn as_i8(self) -> i8 {
        self as i8
    }
}
