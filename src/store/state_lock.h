// One engine per state folder: `mex run` holds an exclusive flock on the state folder itself
// (the descriptor it keeps open for the run's files, util/folder.h) for as long as it runs, so a
// second `mex run` on the same folder refuses instead of writing beside it. No file stands for
// the lock, so none can be deleted to get around it; the kernel drops it when the engine ends,
// however it ends (kill -9 too). A folder replaced while the engine runs is caught at its next
// commit (SqliteStore::SetRunFiles).
#pragma once

#include <memory>
#include <string>

#include "util/folder.h"

namespace mex {

class StateLock {
 public:
  StateLock() = default;
  ~StateLock() { Release(); }
  StateLock(StateLock&& other) noexcept : state_(std::move(other.state_)) {}
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

  // Takes the lock of the open state folder `state`. False with `err` naming the holder's pid
  // when another process has it.
  bool Acquire(std::shared_ptr<const Folder> state, std::string* err);
  bool held() const { return state_ != nullptr; }

  // The pid of the process holding the lock of `state_dir`, or 0 when none does (read from
  // /proc/locks). Takes nothing.
  static int Holder(const std::string& state_dir);

 private:
  void Release();

  std::shared_ptr<const Folder> state_;
};

}  // namespace mex
