// A folder mex reads and writes under (the state folder, the workspace), held open from the
// start. Every path given to it resolves beneath it without following a symlink: openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it (Linux 5.6), else a walk one
// component at a time with O_NOFOLLOW. So a symlink that a task or an agent planted under it
// cannot send a read, a write or a removal of mex elsewhere, a FIFO planted at a file's name
// cannot block mex, and a folder renamed or replaced while mex runs is not written into through
// its old name (docs/security.md).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/unique_fd.h"

namespace mex {

struct WriteOptions {
  // fsync the temp file first, so that the new content also survives a power cut (a file
  // rewritten every 500 ms from the database, like status.json, does not need it).
  bool sync = true;
  mode_t mode = 0600;  // of a new file, before the umask
  // false: write only a new file; when something (a file, a symlink) has the name already, fail
  // with "PATH already exists; not overwriting it" and leave it as it was.
  bool replace = true;
};

class Folder {
 public:
  Folder() = default;
  Folder(Folder&&) = default;
  Folder& operator=(Folder&&) = default;

  // Opens the folder at `path`, made with its missing parents (mode 0700) when `create`. Its last
  // component must be a folder, not a symlink; the folders above it are the user's to choose.
  static bool Open(const std::string& path, bool create, Folder* folder, std::string* err);

  bool valid() const { return fd_.valid(); }
  const std::string& path() const { return path_; }  // absolute, as opened
  int fd() const { return fd_.get(); }

  // Each `path` below is relative to this folder, or absolute and beneath path(); ".." is
  // refused. An operation that meets a symlink fails with a message naming the path and errno
  // ELOOP or EXDEV; one that finds something else than a regular file, with ENXIO.

  // Opens a regular file (`flags`: O_RDONLY, O_WRONLY | O_CREAT | O_APPEND, ...; close-on-exec
  // is added). Anything but a regular file at the end (a FIFO, a device, a folder) is refused
  // at once, without blocking; so is a file to write that has another hard link.
  UniqueFd OpenFile(std::string_view path, int flags, mode_t mode, std::string* err) const;
  // Opens a folder beneath this one ("" or "." for this one).
  UniqueFd OpenFolder(std::string_view path, std::string* err) const;
  // Creates the folder `path` and its missing parents, mode 0700.
  bool MakeFolders(std::string_view path, std::string* err) const;
  // Removes the file `path`; a missing one is no error, a symlink is removed itself.
  bool RemoveFile(std::string_view path, std::string* err) const;
  // The whole of a regular file; "" when it cannot be read.
  std::string ReadFile(std::string_view path) const;
  // Up to `max_bytes` from the end of a regular file ("" when it cannot be read); the tail never
  // starts inside a UTF-8 sequence. For attempt logs.
  std::string ReadTail(std::string_view path, size_t max_bytes) const;
  // Writes `content` through a temp file in the same folder and a rename, so that a reader sees
  // the old file or the new one, never a part. Refuses to replace a symlink.
  bool WriteAtomically(std::string_view path, std::string_view content, std::string* err,
                       const WriteOptions& options = {}) const;
  // Removes the temp files WriteAtomically leaves in folder `path` when its process is killed
  // between writing and renaming one ("NAME.tmp.PID"). Only for a folder no other process
  // writes to.
  void RemoveStaleTempFiles(std::string_view path) const;
  // Whether path() still names the folder held; false with why once it was removed, renamed or
  // replaced (by a symlink too).
  bool StillInPlace(std::string* err) const;

  // The path as a person reads it: absolute.
  std::string Display(std::string_view path) const;

  // Tests: false makes every open walk the path one component at a time, as on a kernel
  // without openat2.
  static void UseOpenat2ForTesting(bool use);

 private:
  // `path` relative to this folder, or false with `err`.
  bool Relative(std::string_view path, std::string* relative, std::string* err) const;
  int OpenBeneath(const std::string& relative, int flags, mode_t mode) const;
  int OpenBeneathOnce(const std::string& relative, int flags, mode_t mode) const;
  // The folder holding `path`'s last component (this one's descriptor when `path` has one
  // component), and that component. On failure `err_no` says why (ENOENT: no such folder).
  bool OpenParent(std::string_view path, UniqueFd* owned, int* parent, std::string* leaf,
                  std::string* err, int* err_no) const;
  std::string Failure(std::string_view what, std::string_view path, int err_no) const;

  std::string path_;
  UniqueFd fd_;
};

// Reads a regular file that mex does not keep (a user's configuration): "" when it is missing,
// not a regular file, or would block (a FIFO).
std::string ReadRegularFile(const std::string& path);

}  // namespace mex
