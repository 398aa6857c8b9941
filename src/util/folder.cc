#include "util/folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace mex {

namespace {

// Whether to try openat2 first: cleared for good when the kernel (or a seccomp filter) lacks it.
std::atomic<bool> g_openat2{true};

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  return parts;
}

// openat of one component, never following a symlink; errno ELOOP for a symlink where a folder
// is wanted (O_DIRECTORY fails it with ENOTDIR first).
int OpenComponent(int at, const std::string& name, int flags, mode_t mode) {
  int fd = openat(at, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd >= 0 || errno != ENOTDIR) return fd;
  struct stat st {};
  bool link = fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
  errno = link ? ELOOP : ENOTDIR;
  return fd;
}

// openat one component at a time, never following a symlink; `flags` apply to the last one.
int WalkBeneath(int root, const std::string& relative, int flags, mode_t mode) {
  std::vector<std::string_view> parts = Components(relative);
  if (parts.empty()) return openat(root, ".", flags | O_CLOEXEC);
  UniqueFd dir;
  int at = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "..") {
      errno = EXDEV;  // as openat2 says for a path that leaves its root
      return -1;
    }
    std::string part(parts[i]);
    bool last = i + 1 == parts.size();
    int part_flags = last ? flags : O_RDONLY | O_DIRECTORY;
    int fd = OpenComponent(at, part, part_flags, mode);
    if (fd < 0) return -1;
    if (last) return fd;
    dir.Reset(fd);
    at = fd;
  }
  return -1;
}

int ReadAll(int fd, std::string* out) {
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    out->append(buffer, static_cast<size_t>(n));
  }
}

// A file is opened with O_NONBLOCK so that a FIFO cannot block mex: a regular file is kept (its
// reads and writes never block anyway; the flag is taken off), anything else closed, with why.
bool KeepRegularFile(UniqueFd* fd, int flags, std::string* problem) {
  const bool writing = (flags & O_ACCMODE) != O_RDONLY;
  struct stat st {};
  if (fstat(fd->get(), &st) != 0) {
    *problem = std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *problem = S_ISDIR(st.st_mode)    ? "it is a folder, not a regular file"
               : S_ISFIFO(st.st_mode) ? "it is a FIFO, not a regular file"
                                      : "it is not a regular file";
    fd->Reset();
    return false;
  }
  // A hard link planted at a name mex writes would send the writes into another file.
  if (writing && st.st_nlink > 1) {
    *problem = "it has another hard link, and a file mex writes must be its own";
    fd->Reset();
    return false;
  }
  // Opened with O_NONBLOCK (a FIFO must not hang the open): the flags it was asked for. F_SETFL
  // takes only the status flags of `flags` (O_APPEND, ...) and ignores the others.
  fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
  return true;
}

}  // namespace

bool Folder::Open(const std::string& path, bool create, Folder* folder, std::string* err) {
  std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  if (create) {
    std::string at;
    for (std::string_view part : Components(absolute)) {
      at += "/";
      at += part;
      if (mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
        *err = fmt::format("cannot create {}: {}", at, std::strerror(errno));
        return false;
      }
    }
  }
  UniqueFd fd(open(absolute.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    *err = errno == ELOOP || errno == ENOTDIR
               ? fmt::format("{} is not a folder (or is a symlink)", absolute)
               : fmt::format("cannot open {}: {}", absolute, std::strerror(errno));
    return false;
  }
  folder->path_ = std::move(absolute);
  folder->fd_ = std::move(fd);
  return true;
}

void Folder::UseOpenat2ForTesting(bool use) {
  g_openat2 = use;
}

std::string Folder::Display(std::string_view path) const {
  if (!path.empty() && path.front() == '/') return std::string(path);
  return path.empty() ? path_ : path_ + "/" + std::string(path);
}

std::string Folder::Failure(std::string_view what, std::string_view path, int err_no) const {
  if (err_no == ELOOP || err_no == EXDEV) {
    return fmt::format("cannot {} {}: a symlink is on its way, and mex follows none under {}", what,
                       Display(path), path_);
  }
  return fmt::format("cannot {} {}: {}", what, Display(path), std::strerror(err_no));
}

bool Folder::Relative(std::string_view path, std::string* relative, std::string* err) const {
  if (!path.empty() && path.front() == '/') {
    bool beneath = path.size() > path_.size() && path.starts_with(path_) &&
                   (path[path_.size()] == '/' || path_ == "/");
    if (path == path_) {
      *relative = ".";
      return true;
    }
    if (!beneath) {
      *err = fmt::format("{} is not under {}", path, path_);
      return false;
    }
    path.remove_prefix(path_ == "/" ? 1 : path_.size() + 1);
  }
  for (std::string_view part : Components(path)) {
    if (part == "..") {
      *err = fmt::format("{}: '..' is not allowed in a path under {}", path, path_);
      return false;
    }
  }
  *relative = path.empty() ? "." : std::string(path);
  return true;
}

int Folder::OpenBeneath(const std::string& relative, int flags, mode_t mode) const {
  int fd = OpenBeneathOnce(relative, flags, mode);
  if (fd >= 0 || errno != ENOTDIR) return fd;
  // A symlink where a folder is wanted fails O_DIRECTORY first: say what it is.
  struct stat st {};
  bool link =
      fstatat(fd_.get(), relative.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
  errno = link ? ELOOP : ENOTDIR;
  return fd;
}

int Folder::OpenBeneathOnce(const std::string& relative, int flags, mode_t mode) const {
  if (g_openat2) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, fd_.get(), relative.c_str(), &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EPERM)) {
      return static_cast<int>(fd);
    }
    g_openat2 = false;
  }
  return WalkBeneath(fd_.get(), relative, flags, mode);
}

UniqueFd Folder::OpenFile(std::string_view path, int flags, mode_t mode, std::string* err) const {
  std::string relative;
  if (!Relative(path, &relative, err)) return UniqueFd();
  UniqueFd fd(OpenBeneath(relative, flags | O_NONBLOCK, mode));
  if (!fd.valid()) {
    int err_no = errno;
    // A FIFO opened to write, with no reader, says ENXIO: it is no file of ours either way.
    *err = err_no == ENXIO ? fmt::format("cannot open {}: it is not a regular file", Display(path))
                           : Failure("open", path, err_no);
    errno = err_no;
    return fd;
  }
  std::string problem;
  if (!KeepRegularFile(&fd, flags, &problem)) {
    *err = fmt::format("cannot open {}: {}", Display(path), problem);
    errno = ENXIO;
  }
  return fd;
}

UniqueFd Folder::OpenFolder(std::string_view path, std::string* err) const {
  std::string relative;
  if (!Relative(path, &relative, err)) return UniqueFd();
  UniqueFd fd(OpenBeneath(relative, O_RDONLY | O_DIRECTORY, 0));
  if (!fd.valid()) *err = Failure("open the folder", path, errno);
  return fd;
}

bool Folder::MakeFolders(std::string_view path, std::string* err) const {
  // Most calls make one folder in one that is there (logs/TASK): its parent opened beneath this
  // folder, one mkdirat and, when it was there, one look that it is a folder. Else the walk.
  {
    UniqueFd owned;
    int parent = -1, err_no = 0;
    std::string leaf, ignored;
    if (OpenParent(path, &owned, &parent, &leaf, &ignored, &err_no) && leaf != "..") {
      if (mkdirat(parent, leaf.c_str(), 0700) == 0) return true;
      struct stat st {};
      if (errno == EEXIST && fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISDIR(st.st_mode)) {
        return true;
      }
    }
  }
  std::string relative;
  if (!Relative(path, &relative, err)) return false;
  UniqueFd dir;
  int at = fd_.get();
  std::string done;
  for (std::string_view part : Components(relative)) {
    std::string name(part);
    done += done.empty() ? name : "/" + name;
    if (mkdirat(at, name.c_str(), 0700) != 0 && errno != EEXIST) {
      *err = Failure("create", done, errno);
      return false;
    }
    int fd = OpenComponent(at, name, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
      *err = errno == ENOTDIR ? fmt::format("cannot create {}: it is not a folder", Display(done))
                              : Failure("create", done, errno);
      return false;
    }
    dir.Reset(fd);
    at = fd;
  }
  return true;
}

bool Folder::OpenParent(std::string_view path, UniqueFd* owned, int* parent, std::string* leaf,
                        std::string* err, int* err_no) const {
  *err_no = EINVAL;
  std::string relative;
  if (!Relative(path, &relative, err)) return false;
  size_t slash = relative.rfind('/');
  *leaf = slash == std::string::npos ? relative : relative.substr(slash + 1);
  if (leaf->empty() || *leaf == ".") {
    *err = fmt::format("{} names no file", Display(path));
    return false;
  }
  if (slash == std::string::npos) {
    *parent = fd_.get();
    return true;
  }
  std::string dir = relative.substr(0, slash);
  owned->Reset(OpenBeneath(dir, O_RDONLY | O_DIRECTORY, 0));
  if (!owned->valid()) {
    *err_no = errno;
    *err = Failure("open the folder", dir, errno);
    return false;
  }
  *parent = owned->get();
  return true;
}

bool Folder::RemoveFile(std::string_view path, std::string* err) const {
  UniqueFd owned;
  int parent = -1, err_no = 0;
  std::string leaf;
  if (!OpenParent(path, &owned, &parent, &leaf, err, &err_no)) {
    return err_no == ENOENT;  // its folder is missing, so is it
  }
  if (unlinkat(parent, leaf.c_str(), 0) != 0 && errno != ENOENT) {
    *err = Failure("remove", path, errno);
    return false;
  }
  return true;
}

std::string Folder::ReadFile(std::string_view path) const {
  std::string err, content;
  UniqueFd fd = OpenFile(path, O_RDONLY, 0, &err);
  if (!fd.valid() || ReadAll(fd.get(), &content) != 0) return "";
  return content;
}

std::string Folder::ReadTail(std::string_view path, size_t max_bytes) const {
  std::string err;
  UniqueFd fd = OpenFile(path, O_RDONLY, 0, &err);
  struct stat st {};
  if (!fd.valid() || max_bytes == 0 || fstat(fd.get(), &st) != 0) return "";
  auto size = static_cast<size_t>(st.st_size);
  size_t length = std::min(size, max_bytes);
  off_t offset = static_cast<off_t>(size - length);
  std::string tail(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n =
        pread(fd.get(), tail.data() + done, length - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the file shrank: keep what was read
    done += static_cast<size_t>(n);
  }
  tail.resize(done);
  // A cut through a UTF-8 sequence would leave stray continuation bytes at the start.
  if (offset > 0) {
    size_t skip = 0;
    while (skip < 3 && skip < tail.size() &&
           (static_cast<unsigned char>(tail[skip]) & 0xC0) == 0x80) {
      ++skip;
    }
    tail.erase(0, skip);
  }
  return tail;
}

bool Folder::WriteAtomically(std::string_view path, std::string_view content, std::string* err,
                             const WriteOptions& options) const {
  UniqueFd owned;
  int parent = -1, err_no = 0;
  std::string leaf;
  if (!OpenParent(path, &owned, &parent, &leaf, err, &err_no)) return false;
  std::string temp = fmt::format("{}.tmp.{}", leaf, getpid());
  std::string shown_temp = Display(path) + temp.substr(leaf.size());
  unlinkat(parent, temp.c_str(), 0);  // one left by a process of the same pid, or planted
  UniqueFd fd(openat(parent, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     options.mode));
  if (!fd.valid()) {
    *err = fmt::format("cannot write {}: {}", shown_temp, std::strerror(errno));
    return false;
  }
  auto fail = [&](std::string message) {
    *err = std::move(message);
    unlinkat(parent, temp.c_str(), 0);
    return false;
  };
  for (size_t done = 0; done < content.size();) {
    ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("cannot write {}: {}", shown_temp, std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  if ((options.sync && fsync(fd.get()) != 0) || close(fd.Release()) != 0) {
    return fail(fmt::format("cannot write {}: {}", shown_temp, std::strerror(errno)));
  }
  if (!options.replace) {
    // Moved to its name only if nothing has that name. A filesystem without RENAME_NOREPLACE:
    // a hard link is as atomic, and as unwilling to replace what is there.
    bool ok = renameat2(parent, temp.c_str(), parent, leaf.c_str(), RENAME_NOREPLACE) == 0;
    if (!ok && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
      ok = linkat(parent, temp.c_str(), parent, leaf.c_str(), 0) == 0;
    }
    int rename_errno = errno;
    unlinkat(parent, temp.c_str(), 0);  // after a rename, a no-op
    if (!ok) {
      *err = rename_errno == EEXIST
                 ? fmt::format("{} already exists; not overwriting it", Display(path))
                 : fmt::format("cannot write {}: {}", Display(path), std::strerror(rename_errno));
    }
    return ok;
  }
  struct stat st {};
  if (fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    return fail(fmt::format("refusing to replace {}: it is a symlink", Display(path)));
  }
  if (renameat(parent, temp.c_str(), parent, leaf.c_str()) != 0) {
    return fail(
        fmt::format("cannot rename {} to {}: {}", shown_temp, Display(path), std::strerror(errno)));
  }
  return true;
}

void Folder::RemoveStaleTempFiles(std::string_view path) const {
  std::string err;
  UniqueFd fd = OpenFolder(path, &err);
  if (!fd.valid()) return;
  int dir_fd = fd.get();
  DIR* dir = fdopendir(fd.Release());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    size_t at = name.rfind(".tmp.");
    if (at == std::string_view::npos || at + 5 == name.size()) continue;
    if (name.find_first_not_of("0123456789", at + 5) != std::string_view::npos) continue;
    struct stat st {};
    if (fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      unlinkat(dir_fd, entry->d_name, 0);
    }
  }
  closedir(dir);
}

bool Folder::StillInPlace(std::string* err) const {
  struct stat held {
  }, named{};
  if (fstat(fd_.get(), &held) != 0) {
    *err = fmt::format("cannot stat {}: {}", path_, std::strerror(errno));
    return false;
  }
  if (lstat(path_.c_str(), &named) != 0) {
    *err = fmt::format("{} is gone: it was removed or renamed while mex ran", path_);
    return false;
  }
  if (named.st_dev != held.st_dev || named.st_ino != held.st_ino) {
    *err = fmt::format("{} was replaced while mex ran: it is not the folder mex opened", path_);
    return false;
  }
  return true;
}

std::string ReadRegularFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  std::string problem, content;
  if (!fd.valid() || !KeepRegularFile(&fd, O_RDONLY, &problem) ||
      ReadAll(fd.get(), &content) != 0) {
    return "";
  }
  return content;
}

}  // namespace mex
