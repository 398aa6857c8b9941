// A run's status (SPEC §5): the object of status.json and of `mex status --json`, built from the
// state database only, so that the engine's file and the command always agree; and its text form.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "model/eta.h"

namespace SQLite {
class Database;
}

namespace mex {

// What the estimate of the time left (model/eta.h) takes from the earlier runs of a milestone:
// how long each task took in the latest run in which it succeeded, by definition hash and by id
// (a task that writes an artifact has a hash of its run: the artifact's path is in it), and how
// long each phase with tasks_from took in the latest earlier run. It does not change while a
// run goes on: the engine reads it once.
struct EtaHistory {
  bool loaded = false;
  std::unordered_map<std::string, double> by_hash, by_id, phase_seconds;

  // The seconds of the task `id` with definition `hash`, or -1.
  double Seconds(const std::string& id, const std::string& hash) const;
};

// The history of the runs of `run_id`'s milestone created before it.
EtaHistory ReadEtaHistory(SQLite::Database& db, const std::string& run_id);

// The status object of `run_id` at wall clock `now` (seconds since the Unix epoch):
// {"milestone","run","state","started_at","updated_at","progress":{"weighted","phases":[...]},
//  "eta_seconds","eta_range","eta_basis","eta_provisional","running":[...],"failed":[...],
//  "stalled":[...]}. `history`: the run's, read once by the caller and kept; null: read here.
// `eta`, when not null, gets the estimate of the time left (unknown for a run not running).
// `live`: whether the run's engine is running. A run recorded as running whose engine is gone is
// "interrupted", with nothing running and no ETA; a finished run has no ETA either. Reads in one
// transaction, so the object is one consistent snapshot. Throws SQLite::Exception, and
// std::runtime_error when there is no such run.
nlohmann::ordered_json ReadStatus(SQLite::Database& db, const std::string& run_id, double now,
                                  bool live, EtaHistory* history = nullptr, Eta* eta = nullptr);

// The status object as `mex status` prints it: a few lines, like `git status`.
std::string FormatStatus(const nlohmann::ordered_json& status);

// "2026-11-26T21:15:00.123Z" for `epoch_s` seconds since the Unix epoch.
std::string IsoTimeMs(double epoch_s);

}  // namespace mex
