#include "store/state_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mex {

namespace {

std::string LockPath(const std::string& state_dir) {
  return state_dir + "/lock";
}

struct flock WholeFile(short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  return lock;  // l_start = l_len = 0: the whole file
}

}  // namespace

bool StateLock::Acquire(const std::string& state_dir, std::string* err) {
  std::string path = LockPath(state_dir);
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    *err = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return false;
  }
  struct flock lock = WholeFile(F_WRLCK);
  if (fcntl(fd.get(), F_SETLK, &lock) != 0) {
    if (errno != EACCES && errno != EAGAIN) {
      *err = fmt::format("cannot lock {}: {}", path, std::strerror(errno));
      return false;
    }
    int holder = Holder(state_dir);
    *err = fmt::format(
        "another mex run{} is using the state folder {}; wait for it to end, or "
        "give this run its own --state-dir",
        holder > 0 ? fmt::format(" (pid {})", holder) : "", state_dir);
    return false;
  }
  fd_ = std::move(fd);
  return true;
}

int StateLock::Holder(const std::string& state_dir) {
  std::string path = LockPath(state_dir);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return 0;
  // F_GETLK asks whether a write lock could be taken, and by whom it is held, without taking it.
  struct flock lock = WholeFile(F_WRLCK);
  if (fcntl(fd.get(), F_GETLK, &lock) != 0 || lock.l_type == F_UNLCK) return 0;
  return lock.l_pid;
}

}  // namespace mex
