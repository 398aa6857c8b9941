// A run's status (SPEC §5): the object of status.json and of `mex status --json`, built from the
// state database only, so that the engine's file and the command always agree; and its text form.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace SQLite {
class Database;
}

namespace mex {

// The status object of `run_id` at wall clock `now` (seconds since the Unix epoch):
// {"milestone","run","state","started_at","updated_at","progress":{"weighted","phases":[...]},
//  "eta_seconds","running":[...],"failed":[...],"stalled":[...]}.
// `live`: whether the run's engine is running. A run recorded as running whose engine is gone is
// "interrupted", with nothing running and no ETA; a finished run has no ETA either. Reads in one
// transaction, so the object is one consistent snapshot. Throws SQLite::Exception, and
// std::runtime_error when there is no such run.
nlohmann::ordered_json ReadStatus(SQLite::Database& db, const std::string& run_id, double now,
                                  bool live);

// The status object as `mex status` prints it: a few lines, like `git status`.
std::string FormatStatus(const nlohmann::ordered_json& status);

// "2026-11-26T21:15:00.123Z" for `epoch_s` seconds since the Unix epoch.
std::string IsoTimeMs(double epoch_s);

}  // namespace mex
