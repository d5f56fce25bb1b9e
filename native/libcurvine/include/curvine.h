/* libcurvine: the C ABI of curvine-py's Curvine client.
 *
 * Conventions
 * - Every fallible function returns an int32_t status: CV_OK (0) on success,
 *   a positive Curvine error kind (1..36, 10000) when a server refused the
 *   request, or a negative CV_ERR_* code raised by the client itself.
 * - After a failure, cv_last_error_code() and cv_last_error_message() tell
 *   the code and a message naming the path and the endpoint involved. They
 *   are per thread and stay valid until the next libcurvine call on that
 *   thread.
 * - Out-pointers are written only on success. Everything returned through
 *   an out-pointer is owned by the caller and released with the matching
 *   *_free function. Strings inside returned structs live as long as the
 *   struct.
 * - No panic crosses this boundary: it becomes CV_ERR_INTERNAL.
 * - Every call blocks; none calls back into the caller. A cv_client may be
 *   used from many threads at once.
 */

/* Generated from native/libcurvine/src by cbindgen (build.rs); do not edit. */

#define CV_OK 0

// A bad argument: NULL pointer, malformed endpoint list, relative path, unknown option value.
#define CV_ERR_INVALID_ARGUMENT -1

// No master could be reached (every endpoint refused, reset or did not resolve).
#define CV_ERR_UNAVAILABLE -2

// The deadline passed before an answer came.
#define CV_ERR_TIMEOUT -3

// A peer sent bytes that do not decode as the Curvine protocol.
#define CV_ERR_PROTOCOL -4

// A local I/O error (not a server's answer).
#define CV_ERR_IO -5

// An operation this client or server does not support.
#define CV_ERR_UNSUPPORTED -6

// An option key this client does not know (cv_config_set).
#define CV_ERR_UNKNOWN_OPTION -7

// A bug caught at the boundary (a panic).
#define CV_ERR_INTERNAL -99

// Curvine error kinds most callers care about (the full list is the wire's).
#define CV_KIND_IO 1

#define CV_KIND_NOT_LEADER_MASTER 2

#define CV_KIND_TIMEOUT 4

#define CV_KIND_FILE_ALREADY_EXISTS 7

#define CV_KIND_FILE_NOT_FOUND 8

#define CV_KIND_PARENT_NOT_DIR 10

#define CV_KIND_DIR_NOT_EMPTY 11

#define CV_KIND_IN_PROGRESS 18

#define CV_KIND_UNSUPPORTED 19

#define CV_KIND_IS_A_DIRECTORY 26

#define CV_KIND_NOT_A_DIRECTORY 27

#define CV_KIND_INVALID_ARGUMENT 28

#define CV_KIND_BLOCK_NOT_FOUND 29

#define CV_KIND_READ_ONLY 30

#define CV_KIND_COMMON 10000

// cv_writer_open: replace an existing file instead of failing.
#define CV_WRITE_OVERWRITE 1

// cv_writer_open: add to the end of the file, creating it if missing.
#define CV_WRITE_APPEND 2

// cv_writer_open: create missing parent directories.
#define CV_WRITE_CREATE_PARENT 4

// cv_rename: fail with CV_KIND_FILE_ALREADY_EXISTS instead of replacing an
// existing destination file.
#define CV_RENAME_NO_REPLACE 1

// A connection to one cluster; safe to use from many threads at once.
typedef struct cv_client cv_client;

// Client settings being assembled.
typedef struct cv_config cv_config;

// An open file for positional reads. Calls on one reader from several
// threads are serialized.
typedef struct cv_reader cv_reader;

// A file being written. Not for use from several threads at once.
typedef struct cv_writer cv_writer;

// One worker as the master sees it.
typedef struct cv_worker_info {
  uint32_t worker_id;
  const char *hostname;
  const char *ip_addr;
  uint32_t rpc_port;
  uint32_t web_port;
  int64_t capacity;
  int64_t available;
  int64_t fs_used;
  int64_t non_fs_used;
  int64_t reserved_bytes;
  uint64_t last_update_ms;
} cv_worker_info;

// What GetFilesystemInfo returns.
typedef struct cv_fs_info {
  // The endpoint "host:port" that answered.
  const char *leader;
  // What the leader calls itself.
  const char *active_master;
  // NULL from masters that send no compatibility block.
  const char *server_version;
  int64_t capacity;
  int64_t available;
  int64_t fs_used;
  int64_t non_fs_used;
  int64_t reserved_bytes;
  int64_t allocatable_capacity;
  int64_t allocatable_available;
  int64_t inode_dir_num;
  int64_t inode_file_num;
  int64_t block_num;
  struct cv_worker_info *live_workers;
  size_t live_workers_len;
  struct cv_worker_info *blacklist_workers;
  size_t blacklist_workers_len;
  struct cv_worker_info *decommission_workers;
  size_t decommission_workers_len;
  struct cv_worker_info *lost_workers;
  size_t lost_workers_len;
} cv_fs_info;

// What FileStatus returns for one path.
typedef struct cv_file_status {
  int64_t id;
  const char *path;
  const char *name;
  bool is_dir;
  // FileTypeProto: 0 dir, 1 file, 2 link, ...
  int32_t file_type;
  // Bytes for a file; number of children for a dir.
  int64_t len;
  int64_t mtime_ms;
  int64_t atime_ms;
  // -1 when the server did not send it.
  int64_t ctime_ms;
  int32_t children_num;
  bool is_complete;
  int32_t replicas;
  int64_t block_size;
  uint32_t mode;
  uint32_t nlink;
  const char *owner;
  const char *group;
  // NULL unless a symlink.
  const char *target;
  int32_t storage_type;
} cv_file_status;

// An array of statuses.
typedef struct cv_status_list {
  struct cv_file_status *items;
  size_t len;
} cv_status_list;

// One entry of the mount table.
typedef struct cv_mount_info {
  const char *cv_path;
  // The under-store URI, e.g. "s3://bucket/prefix".
  const char *ufs_path;
  uint32_t mount_id;
  // True when Curvine may write through to the under-store.
  bool read_write;
  // WriteTypeProto: 0 cache mode, 1 fs mode.
  int32_t write_type;
  int64_t ttl_ms;
  // Parallel arrays of property names and values.
  const char **property_keys;
  const char **property_values;
  size_t properties_len;
} cv_mount_info;

// An array of mount entries.
typedef struct cv_mount_list {
  struct cv_mount_info *items;
  size_t len;
} cv_mount_list;

// The version of libcurvine, e.g. "0.1.0".
const char *cv_version(void);

// New settings with Curvine's client defaults; NULL only if out of memory.
struct cv_config *cv_config_new(void);

// Sets one of Curvine's [client] keys from a string, typed as Curvine reads
// it ("128KB", "30s", "true"). "master_addrs" takes "host:port,host:port".
// Unknown keys give CV_ERR_UNKNOWN_OPTION and change nothing.
int32_t cv_config_set(struct cv_config *config, const char *key, const char *value);

// Frees settings; NULL is a no-op.
void cv_config_free(struct cv_config *config);

// Validates the settings and returns a client. Does not contact the
// cluster: the first call finds the leader.
int32_t cv_client_new(const struct cv_config *config, struct cv_client **out);

// Frees a client and closes its idle sockets (without shutting them down,
// so a forked child freeing its copy leaves the parent's connections
// alone). Readers and writers opened from it stay usable until closed.
// NULL is a no-op. No other call may be using the client.
void cv_client_free(struct cv_client *client);

// Capacity, workers and the leader. The first call carries this client's
// version to the master.
int32_t cv_fs_info_get(struct cv_client *client, struct cv_fs_info **out);

// Frees what cv_fs_info_get returned; NULL is a no-op.
void cv_fs_info_free(struct cv_fs_info *info);

// The status of one path.
int32_t cv_stat(struct cv_client *client, const char *path, struct cv_file_status **out);

// Frees what cv_stat returned; NULL is a no-op.
void cv_file_status_free(struct cv_file_status *status);

// Whether a path exists.
int32_t cv_exists(struct cv_client *client, const char *path, bool *out);

// Every entry of a directory (a file lists as itself).
int32_t cv_list(struct cv_client *client, const char *path, struct cv_status_list **out);

// Frees what cv_list returned; NULL is a no-op.
void cv_status_list_free(struct cv_status_list *list);

// Creates a directory with `mode` (less the configured umask). With
// `create_parent`, missing parents are made and an existing directory is
// not an error.
int32_t cv_mkdir(struct cv_client *client, const char *path, bool create_parent, uint32_t mode);

// The code of the last failed call on this thread (CV_OK after a success).
int32_t cv_last_error_code(void);

// The message of the last failed call on this thread ("" after a success).
// Valid until the next libcurvine call on this thread.
const char *cv_last_error_message(void);

// The server's own text behind the last error on this thread, with the
// thread name and source location that cv_last_error_message() leaves
// out; "" when there is none. For debug logs. Valid until the next
// libcurvine call on this thread.
const char *cv_last_error_detail(void);

// Opens a file for reading: asks the master where its blocks are. The
// length is fixed at open.
int32_t cv_reader_open(struct cv_client *client, const char *path, struct cv_reader **out);

// The file's length in bytes (-1 for a NULL reader).
int64_t cv_reader_len(const struct cv_reader *reader);

// Reads up to `len` bytes at `offset` into `buf` and sets `*nread`. Fewer
// bytes only at the end of the file; 0 at or past it, never an error.
int32_t cv_reader_pread(struct cv_reader *reader,
                        int64_t offset,
                        uint8_t *buf,
                        size_t len,
                        size_t *nread);

// Ends the reader's streams and frees it; NULL is a no-op.
void cv_reader_close(struct cv_reader *reader);

// Opens a file for writing. `flags` is a mix of CV_WRITE_*; with none, an
// existing file is an error (CV_KIND_FILE_ALREADY_EXISTS). `block_size`
// and `replicas` of 0 take the configured defaults; they apply to new
// files only.
int32_t cv_writer_open(struct cv_client *client,
                       const char *path,
                       uint32_t flags,
                       int64_t block_size,
                       int32_t replicas,
                       struct cv_writer **out);

// Writes all `len` bytes of `buf`. After a failure the writer only accepts
// cv_writer_abort or cv_writer_close (which then fails too).
int32_t cv_writer_write(struct cv_writer *writer, const uint8_t *buf, size_t len);

// The file's length so far, counting this writer's bytes (-1 for NULL).
int64_t cv_writer_pos(const struct cv_writer *writer);

// Finishes the file so readers see it complete, and frees the writer
// whatever the outcome. NULL is CV_ERR_INVALID_ARGUMENT.
int32_t cv_writer_close(struct cv_writer *writer);

// Cancels the writer's streams and frees it; the file is left incomplete
// (never looks finished). NULL is a no-op.
void cv_writer_abort(struct cv_writer *writer);

// Removes a file, a symlink or an empty directory; with `recursive` a
// directory and everything under it.
int32_t cv_delete(struct cv_client *client, const char *path, bool recursive);

// Moves `src` to `dst`. An existing destination file is replaced unless
// `flags` has CV_RENAME_NO_REPLACE.
int32_t cv_rename(struct cv_client *client, const char *src, const char *dst, uint32_t flags);

// Sets the permission bits (the low 12 bits of `mode`).
int32_t cv_set_mode(struct cv_client *client, const char *path, uint32_t mode, bool recursive);

// Sets the owner and/or the group; NULL leaves that one unchanged.
int32_t cv_set_owner(struct cv_client *client,
                     const char *path,
                     const char *owner,
                     const char *group,
                     bool recursive);

// Sets access and/or modification time in ms since the epoch; -1 leaves
// that one unchanged.
int32_t cv_set_times(struct cv_client *client,
                     const char *path,
                     int64_t atime_ms,
                     int64_t mtime_ms);

// Sets the replica count the master keeps for a file (1..99), or with
// `recursive` for every file under a directory. CV_ERR_UNSUPPORTED when
// the master answered but did not apply it (Curvine 0.2 masters).
int32_t cv_set_replicas(struct cv_client *client,
                        const char *path,
                        int32_t replicas,
                        bool recursive);

// Creates the symlink `link` pointing at `target`; `force` replaces an
// existing link. Where the master keeps the old target despite `force`,
// the link is deleted and created again: not atomic.
int32_t cv_symlink(struct cv_client *client, const char *target, const char *link, bool force);

// One page of a directory listing, in name order: at most `limit` entries
// after the entry named `start_after` (NULL or "" for the first page). An
// empty page means the end.
int32_t cv_list_page(struct cv_client *client,
                     const char *path,
                     const char *start_after,
                     uint32_t limit,
                     struct cv_status_list **out);

// Drops Curvine's cached copy of a path's data (its under-store keeps it);
// `inodes` and `bytes` (each may be NULL) tell how much was freed.
int32_t cv_free_cache(struct cv_client *client,
                      const char *path,
                      bool recursive,
                      int64_t *inodes,
                      int64_t *bytes);

// The mount table.
int32_t cv_mount_table(struct cv_client *client, struct cv_mount_list **out);

// Frees what cv_mount_table returned; NULL is a no-op.
void cv_mount_list_free(struct cv_mount_list *list);

// Mounts the under-store URI `ufs_path` at `cv_path`, with `n` properties
// given as parallel arrays (credentials, endpoints). `read_write` lets
// writes go through to the under-store; `update` changes an existing mount.
int32_t cv_mount(struct cv_client *client,
                 const char *cv_path,
                 const char *ufs_path,
                 const char *const *keys,
                 const char *const *values,
                 size_t n,
                 bool read_write,
                 bool update);

// Removes the mount at `cv_path`.
int32_t cv_unmount(struct cv_client *client, const char *cv_path);
