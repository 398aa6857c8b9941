// Where the engine keeps its state. The scheduler records every change here and calls Commit()
// once per turn of its loop, before it acts on those changes (starts a process, releases a
// dependent, reports progress): a durable store makes a killed run resumable from that point.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/events.h"

namespace mex {

struct AttemptRecord {
  std::string task;
  int number = 0;
  double started_at = 0;
  double ended_at = 0;  // 0 while running
  int exit_code = -1;
  int signal = 0;
  // "" while running; "exited", "timed_out", "stall_killed", "cancelled", "spawn_failed", or
  // "interrupted": the engine was killed while it ran (recorded when the run resumes).
  std::string end;
  std::string failure_class;  // "" when it succeeded or is running
  std::string reason;
  std::string log_path;
  std::string log_tail;  // the end of the log of a failed attempt, "" otherwise
  // What the agent reported of its cost and token usage; -1 when it reported nothing.
  double cost_usd = -1;
  int64_t input_tokens = -1;
  int64_t output_tokens = -1;
};

// A phase's gate once scored.
struct GateRecord {
  double score = 0;
  double min_score = 1;
  bool passed = false;
  std::string detail;  // the validation file's JSON
};

class Store {
 public:
  virtual ~Store() = default;
  virtual void TaskChanged(const std::string& task, TaskState state, int attempts) = 0;
  // Called when an attempt starts, and again with the same task and number when it ends.
  virtual void AttemptChanged(const AttemptRecord& attempt) = 0;
  // The gate of phase `phase` (its index) was scored.
  virtual void GateScored(size_t phase, const GateRecord& gate) = 0;
  virtual void Append(const Event& event) = 0;
  // Makes everything recorded since the last Commit durable, as one transaction. False when it
  // could not (disk full, I/O error): error() says why, and the engine starts nothing more.
  virtual bool Commit() = 0;
  virtual std::string error() const { return ""; }
  // Seconds until the store wants Commit() called again though nothing changed (to refresh
  // status.json), or -1 for never.
  virtual double RefreshIn() const { return -1; }
};

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
