/* libcurvine: the C ABI of curvine-py's Curvine client.
 *
 * DRAFT CONTRACT (hand-written). The real file is generated from the Rust
 * sources by cbindgen (native/libcurvine/cbindgen.toml); the declarations
 * below are what the generated file must declare.
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
 * - Every call blocks; none calls back into the caller.
 */

#define CV_OK 0
/* A bad argument: NULL pointer, malformed endpoint list, relative path, unknown option value. */
#define CV_ERR_INVALID_ARGUMENT -1
/* No master could be reached (every endpoint refused, reset or did not resolve). */
#define CV_ERR_UNAVAILABLE -2
/* The deadline passed before an answer came. */
#define CV_ERR_TIMEOUT -3
/* A peer sent bytes that do not decode as the Curvine protocol. */
#define CV_ERR_PROTOCOL -4
/* A local I/O error (not a server's answer). */
#define CV_ERR_IO -5
/* An operation this client or server does not support. */
#define CV_ERR_UNSUPPORTED -6
/* An option key this client does not know (cv_config_set). */
#define CV_ERR_UNKNOWN_OPTION -7
/* A bug caught at the boundary (a panic). */
#define CV_ERR_INTERNAL -99

/* Curvine error kinds most callers care about (the full list is the wire's). */
#define CV_KIND_NOT_LEADER_MASTER 2
#define CV_KIND_FILE_ALREADY_EXISTS 7
#define CV_KIND_FILE_NOT_FOUND 8
#define CV_KIND_PARENT_NOT_DIR 10
#define CV_KIND_DIR_NOT_EMPTY 11
#define CV_KIND_IS_A_DIRECTORY 26
#define CV_KIND_NOT_A_DIRECTORY 27
#define CV_KIND_COMMON 10000

typedef struct cv_config cv_config;
typedef struct cv_client cv_client;

typedef struct cv_file_status {
  int64_t id;
  const char *path;
  const char *name;
  bool is_dir;
  int32_t file_type;        /* FileTypeProto: 0 dir, 1 file, 2 link, ... */
  int64_t len;              /* bytes for a file; number of children for a dir */
  int64_t mtime_ms;
  int64_t atime_ms;
  int64_t ctime_ms;         /* -1 when the server did not send it */
  int32_t children_num;
  bool is_complete;
  int32_t replicas;
  int64_t block_size;
  uint32_t mode;
  uint32_t nlink;
  const char *owner;
  const char *group;
  const char *target;       /* NULL unless a symlink */
  int32_t storage_type;
} cv_file_status;

typedef struct cv_status_list {
  cv_file_status *items;
  size_t len;
} cv_status_list;

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

typedef struct cv_fs_info {
  const char *leader;           /* the endpoint "host:port" that answered */
  const char *active_master;    /* what the leader calls itself */
  const char *server_version;   /* NULL from masters that send no compatibility block */
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
  cv_worker_info *live_workers;
  size_t live_workers_len;
  cv_worker_info *blacklist_workers;
  size_t blacklist_workers_len;
  cv_worker_info *decommission_workers;
  size_t decommission_workers_len;
  cv_worker_info *lost_workers;
  size_t lost_workers_len;
} cv_fs_info;

/* Errors of the last failed call on this thread. */
int32_t cv_last_error_code(void);
const char *cv_last_error_message(void);
const char *cv_version(void);

/* Configuration: Curvine's [client] keys as strings, typed as Curvine reads
 * them ("128KB", "30s", "true"). "master_addrs" takes "host:port,host:port".
 * Unknown keys give CV_ERR_UNKNOWN_OPTION and change nothing. */
cv_config *cv_config_new(void);
int32_t cv_config_set(cv_config *config, const char *key, const char *value);
void cv_config_free(cv_config *config);

/* Validates the configuration and returns a client. Does not contact the
 * cluster: the first call finds the leader. */
int32_t cv_client_new(const cv_config *config, cv_client **out);
void cv_client_free(cv_client *client);

int32_t cv_fs_info_get(cv_client *client, cv_fs_info **out);
void cv_fs_info_free(cv_fs_info *info);

int32_t cv_stat(cv_client *client, const char *path, cv_file_status **out);
void cv_file_status_free(cv_file_status *status);

int32_t cv_exists(cv_client *client, const char *path, bool *out);

int32_t cv_list(cv_client *client, const char *path, cv_status_list **out);
void cv_status_list_free(cv_status_list *list);

int32_t cv_mkdir(cv_client *client, const char *path, bool create_parent, uint32_t mode);
