// STATE_DIR/state.db as a file (SPEC §5): its schema and the versions of it, and the checks made
// before anything reads or writes it (a symlink, a damaged or foreign file, a file of a newer mex
// are refused). What is stored in it, and how, is SqliteStore's (sqlite_store.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace SQLite {
class Database;
class Exception;
}  // namespace SQLite

namespace mex {

// The newest schema this mex reads and writes (PRAGMA user_version).
inline constexpr int kStateDbSchemaVersion = 7;
// The oldest schema the read-only commands (status, report, logs) read as it is: those after it
// add only indexes. An older file is upgraded by the next `mex run`; until then they refuse it.
inline constexpr int kStateDbOldestReadable = 6;
// PRAGMA application_id of a mex state database: "mex1".
inline constexpr int32_t kStateDbApplicationId = 0x6d657831;

// STATE_DIR/state.db.
std::string StateDbPath(const std::string& state_dir);

// Opens STATE_DIR/state.db. Read-write (STATE_DIR must exist): creates the file 0600 if missing,
// puts it in WAL mode and brings its schema up to date. Read-only: creates and changes nothing.
// Returns null with `err` set when the file is missing (read-only), a symlink, damaged, not a mex
// database, or written by a newer mex (or, read-only, by an older one); the file is then left as
// it was.
std::unique_ptr<SQLite::Database> OpenStateDb(const std::string& state_dir, bool read_only,
                                              std::string* err);

// The message of an SQLite error met while reading the state database `path`.
std::string StateDbError(const std::string& path, const SQLite::Exception& e);

}  // namespace mex
