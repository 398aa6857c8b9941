#include "store/state_lock.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mex {

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    Release();
    state_ = std::move(other.state_);
  }
  return *this;
}

void StateLock::Release() {
  if (state_) flock(state_->fd(), LOCK_UN);
  state_.reset();
}

bool StateLock::Acquire(std::shared_ptr<const Folder> state, std::string* err) {
  // A lock whose taker is gone (a killed engine) may still be held for a few milliseconds by a
  // child it was starting: the child has the engine's descriptors until its exec closes them.
  // Such a lock is waited for, at most a second; one of a live engine fails at once.
  for (int tries = 0; flock(state->fd(), LOCK_EX | LOCK_NB) != 0; ++tries) {
    if (errno != EWOULDBLOCK) {
      *err = fmt::format("cannot lock {}: {}", state->path(), std::strerror(errno));
      return false;
    }
    // /proc/locks may also miss the lock's line while other locks come and go under its reader
    // (it is made page by page): a holder not found is looked for again, as one that is gone.
    int holder = Holder(state->path());
    const bool taker_gone = holder == 0 || (kill(holder, 0) != 0 && errno == ESRCH);
    if (taker_gone && tries < 100) {
      usleep(10 * 1000);
      continue;
    }
    *err = fmt::format(
        "another mex run{} is using the state folder {}; wait for it to end, or "
        "give this run its own --state-dir",
        holder > 0 ? fmt::format(" (pid {})", holder) : "", state->path());
    return false;
  }
  state_ = std::move(state);
  return true;
}

int StateLock::Holder(const std::string& state_dir) {
  struct stat st {};
  if (stat(state_dir.c_str(), &st) != 0) return 0;
  // "1: FLOCK  ADVISORY  WRITE 4242 fe:00:10952849 0 EOF": the device in hex, the inode.
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream in(line);
    std::string number, kind, advisory, mode, file;
    int pid = 0;
    if (!(in >> number >> kind >> advisory >> mode >> pid >> file)) continue;
    if (kind != "FLOCK" || mode != "WRITE") continue;
    unsigned major_no = 0, minor_no = 0;
    unsigned long inode = 0;
    if (std::sscanf(file.c_str(), "%x:%x:%lu", &major_no, &minor_no, &inode) != 3) continue;
    if (inode == st.st_ino && major_no == major(st.st_dev) && minor_no == minor(st.st_dev)) {
      return pid;
    }
  }
  return 0;
}

}  // namespace mex
