// One writer per state folder: `mex run` holds a lock on STATE_DIR/lock for as long as it runs,
// so a second `mex run` on the same folder refuses instead of writing beside it. The lock is an
// fcntl record lock: the kernel drops it when the process ends, however it ends (kill -9 too).
#pragma once

#include <string>

#include "exec/process.h"

namespace mex {

class StateLock {
 public:
  // Takes the lock of `state_dir` (which must exist). False with `err` naming the holder's pid
  // when another process has it.
  bool Acquire(const std::string& state_dir, std::string* err);
  bool held() const { return fd_.valid(); }

  // The pid of the process holding the lock of `state_dir`, or 0 when none does. Takes nothing.
  // Not for the holder itself: closing any descriptor of the file drops a process's fcntl locks.
  static int Holder(const std::string& state_dir);

 private:
  UniqueFd fd_;
};

}  // namespace mex
