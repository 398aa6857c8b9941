// A Store that keeps the state in memory only: runs are not resumable (`mex -d nostore run`).
// Also what tests read.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/store.h"

namespace mex {

// Keeps the state in memory only: runs are not resumable. Also what tests read.
class MemoryStore : public Store {
 public:
  void TaskChanged(const std::string& task, TaskState state, int attempts) override;
  void AttemptChanged(const AttemptRecord& attempt) override;
  void GateScored(size_t phase, const GateRecord& gate) override {
    gates_.emplace_back(phase, gate);
  }
  void Append(const Event& event) override { events_.push_back(event); }
  bool Commit() override {
    ++commits_;
    return true;
  }

  struct TaskRow {
    std::string task;
    TaskState state;
    int attempts;
  };
  const std::vector<TaskRow>& task_changes() const { return task_changes_; }
  const std::vector<AttemptRecord>& attempts() const { return attempts_; }
  const std::vector<Event>& events() const { return events_; }
  const std::vector<std::pair<size_t, GateRecord>>& gates() const { return gates_; }
  int commits() const { return commits_; }

 private:
  std::vector<TaskRow> task_changes_;
  std::vector<AttemptRecord> attempts_;                    // latest record of each attempt
  std::unordered_map<std::string, size_t> attempt_index_;  // "task#number" -> attempts_ index
  std::vector<Event> events_;
  std::vector<std::pair<size_t, GateRecord>> gates_;
  int commits_ = 0;
};

}  // namespace mex
