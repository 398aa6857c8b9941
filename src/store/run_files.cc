#include "store/run_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>

namespace mex {

std::string RunPaths::LogPath(std::string_view task, int attempt) const {
  return fmt::format("{}/{}/{}.log", logs_dir, task, attempt);
}

std::string RunPaths::ArtifactPath(std::string_view relative) const {
  return fmt::format("{}/{}", artifacts_dir, relative);
}

std::string NewRunId() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::random_device random;
  return fmt::format("{}-{:04x}", stamp, random() & 0xffff);
}

bool MakeFolder(const std::string& dir, std::string* err) {
  std::filesystem::path path(dir);
  std::filesystem::path at;
  for (const auto& part : path) {
    at /= part;
    if (at == at.root_path()) continue;
    if (mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
      *err = fmt::format("cannot create {}: {}", at.string(), std::strerror(errno));
      return false;
    }
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *err = fmt::format("{} is not a folder (or is a symlink)", dir);
    return false;
  }
  return true;
}

bool CreateRunFolder(const std::string& state_dir, const std::string& run_id, RunPaths* paths,
                     std::string* err) {
  paths->run_id = run_id;
  paths->state_dir = std::filesystem::absolute(state_dir).lexically_normal().string();
  paths->run_dir = paths->state_dir + "/runs/" + run_id;
  paths->logs_dir = paths->run_dir + "/logs";
  paths->artifacts_dir = paths->run_dir + "/artifacts";
  paths->failures_dir = paths->run_dir + "/failures";
  paths->validation_dir = paths->run_dir + "/validation";
  for (const std::string* dir : {&paths->state_dir, &paths->logs_dir, &paths->artifacts_dir,
                                 &paths->failures_dir, &paths->validation_dir}) {
    if (!MakeFolder(*dir, err)) return false;
  }
  return true;
}

void RemoveStaleTempFiles(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 == name.size()) continue;
    bool pid = name.find_first_not_of("0123456789", at + 5) == std::string::npos;
    if (pid && entry.is_regular_file(ec)) unlink(entry.path().c_str());
  }
}

std::string ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return "";
  std::string content;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

bool WriteFileAtomically(const std::string& path, std::string_view content, std::string* err,
                         const WriteOptions& options) {
  std::string temp = fmt::format("{}.tmp.{}", path, getpid());
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (options.replace ? O_TRUNC : O_EXCL);
  int fd = open(temp.c_str(), flags, options.mode);
  if (fd < 0) {
    *err = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
    return false;
  }
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
      close(fd);
      unlink(temp.c_str());
      return false;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if ((options.sync && fsync(fd) != 0) || close(fd) != 0) {
    *err = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
    unlink(temp.c_str());
    return false;
  }
  if (!options.replace) {
    // Moved to its name only if nothing has that name. A filesystem without RENAME_NOREPLACE:
    // a hard link is as atomic, and as unwilling to replace what is there.
    bool ok = renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0;
    if (!ok && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
      ok = link(temp.c_str(), path.c_str()) == 0;
    }
    if (!ok) {
      *err = errno == EEXIST ? fmt::format("{} already exists; not overwriting it", path)
                             : fmt::format("cannot write {}: {}", path, std::strerror(errno));
    }
    unlink(temp.c_str());  // after a rename, a no-op
    return ok;
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    *err = fmt::format("refusing to replace {}: it is a symlink", path);
    unlink(temp.c_str());
    return false;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    *err = fmt::format("cannot rename {} to {}: {}", temp, path, std::strerror(errno));
    unlink(temp.c_str());
    return false;
  }
  return true;
}

std::string ReadTail(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: a FIFO planted at `path` must not block the engine.
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "";
  std::string tail;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && max_bytes > 0) {
    auto size = static_cast<size_t>(st.st_size);
    size_t length = std::min(size, max_bytes);
    off_t offset = static_cast<off_t>(size - length);
    tail.resize(length);
    size_t done = 0;
    while (done < length) {
      ssize_t n = pread(fd, tail.data() + done, length - done, offset + static_cast<off_t>(done));
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
  }
  close(fd);
  return tail;
}

}  // namespace mex
