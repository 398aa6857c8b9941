// The report of a run (docs/report.md) read from the state database: for `mex report`, and
// written into the run folder (report.md, report.json, report.html) at the end of every run and
// every phase.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/events.h"
#include "model/milestone.h"
#include "store/sqlite_store.h"
#include "util/folder.h"

namespace mex {

// The report object of `run` (report/run_report.h), read through `store` and, for its critical
// path, the run folder's roadmap.json beneath `state`. `m`, when not null, is the run's milestone:
// it gives the tasks' deps and agents. False with `err` on a read error.
bool ReadRunReport(SqliteStore* store, const Folder& state, const StoredRun& run,
                   const Milestone* m, nlohmann::ordered_json* report, std::string* err);

// Whether runs/RUN_ID/report.md, report.json and report.html are all there beneath `state`.
bool RunReportsExist(const Folder& state, const std::string& run_id);

// Writes runs/RUN_ID/report.md, report.json and report.html beneath `state`, atomically. False with
// `err` when it could not (the run's outcome does not depend on it).
bool WriteRunReports(SqliteStore* store, const Folder& state, const std::string& run_id,
                     const Milestone& m, std::string* err);

// Passes every event on to `inner` and, after a batch of events (Flush) in which a phase ended
// without the run ending, calls `write` (the run writes its reports at its end itself). Events
// reach a sink only once durable, so the reports then read what state.db holds of that phase.
class PhaseEndReports : public EventSink {
 public:
  // `write` is called at each phase's end but the last with quiet().
  PhaseEndReports(EventSink* inner, std::function<void(bool quiet)> write)
      : inner_(inner), write_(std::move(write)) {}
  void OnEvent(const Event& event) override;
  void Flush() override;
  double TickIn() const override { return inner_->TickIn(); }
  void Tick() override { inner_->Tick(); }

  // Whether the session so far did nothing but find its tasks kept and its gates passed (a no-op
  // session, as a second `make`): no attempt or gate command started, nothing skipped, failed or
  // cancelled, no gate failed. The reports it would write say what the last session's said.
  bool quiet() const { return quiet_; }

 private:
  EventSink* inner_;
  std::function<void(bool quiet)> write_;
  bool quiet_ = true;
  bool phase_ended_ = false;
  bool run_ended_ = false;
};

}  // namespace mex
