#include "store/memory_store.h"

namespace mex {

void MemoryStore::TaskChanged(const std::string& task, TaskState state, int attempts) {
  task_changes_.push_back({task, state, attempts});
}

void MemoryStore::AttemptChanged(const AttemptRecord& attempt) {
  std::string key = attempt.task + "#" + std::to_string(attempt.number);
  auto [it, added] = attempt_index_.emplace(std::move(key), attempts_.size());
  if (added) {
    attempts_.push_back(attempt);
  } else {
    attempts_[it->second] = attempt;
  }
}

}  // namespace mex
