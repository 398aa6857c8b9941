#include "store/status.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/events.h"
#include "model/eta.h"
#include "model/progress.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

constexpr size_t kMaxListedTasks = 20;  // per list in the text form; --json has them all

double RoundTo(double value, double scale) {
  return std::round(value * scale) / scale;
}

struct PhaseCounts {
  int total = 0, succeeded = 0, failed = 0, skipped = 0, running = 0;
};

// The reads of many rows use SQLite's C API: SQLiteCpp's Column objects cost a shared_ptr copy
// per value read. `sql` has one parameter, bound to `run_id`, which must outlive the statement.
using RawStatement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;
RawStatement PrepareForRun(SQLite::Database& db, const char* sql, const std::string& run_id) {
  sqlite3_stmt* prepared = nullptr;
  if (sqlite3_prepare_v2(db.getHandle(), sql, -1, &prepared, nullptr) != SQLITE_OK) {
    throw SQLite::Exception(db.getHandle());
  }
  RawStatement statement(prepared, sqlite3_finalize);
  sqlite3_bind_text(prepared, 1, run_id.data(), static_cast<int>(run_id.size()), SQLITE_STATIC);
  return statement;
}

// Column `column` of the statement's current row as text, "" for NULL; valid until its next step.
std::string_view ColumnText(sqlite3_stmt* row, int column) {
  const auto* chars = reinterpret_cast<const char*>(sqlite3_column_text(row, column));
  return chars == nullptr
             ? std::string_view()
             : std::string_view(chars, static_cast<size_t>(sqlite3_column_bytes(row, column)));
}

// Reads in one transaction when the connection is not in one already (the engine's own reads
// happen right after its commit).
class ReadTransaction {
 public:
  explicit ReadTransaction(SQLite::Database& db) : db_(db) {
    if (sqlite3_get_autocommit(db.getHandle()) != 0) {
      db.exec("BEGIN");
      open_ = true;
    }
  }
  ~ReadTransaction() {
    if (open_) db_.tryExec("COMMIT");
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  SQLite::Database& db_;
  bool open_ = false;
};

nlohmann::ordered_json PhasesJson(SQLite::Database& db, const std::string& run_id,
                                  const std::map<int, PhaseCounts>& counts, double* weighted) {
  SQLite::Statement query(db,
                          "SELECT idx, name, weight, state, gate_score, gate_min_score, "
                          "gate_passed FROM phases WHERE run = ? ORDER BY idx");
  query.bind(1, run_id);
  nlohmann::ordered_json phases = nlohmann::ordered_json::array();
  *weighted = 0;
  while (query.executeStep()) {
    auto it = counts.find(query.getColumn(0).getInt());
    PhaseCounts c = it == counts.end() ? PhaseCounts{} : it->second;
    double weight = query.getColumn(2).getDouble();
    double progress = PhaseDone(query.getColumn(3).getString() == "passed", c.succeeded, c.total);
    *weighted += weight * progress / 100;
    nlohmann::ordered_json gate = nullptr;
    if (!query.isColumnNull(4)) {
      nlohmann::ordered_json min_score = nullptr;
      if (!query.isColumnNull(5)) min_score = query.getColumn(5).getDouble();
      gate = {{"score", query.getColumn(4).getDouble()},
              {"min_score", std::move(min_score)},
              {"passed", query.getColumn(6).getInt() != 0}};
    }
    phases.push_back({{"name", query.getColumn(1).getString()},
                      {"weight", weight},
                      {"total", c.total},
                      {"succeeded", c.succeeded},
                      {"failed", c.failed},
                      {"skipped", c.skipped},
                      {"running", c.running},
                      {"progress", RoundTo(progress, 1e4)},
                      {"gate", std::move(gate)}});
  }
  return phases;
}

// What one pass over a run's tasks finds.
struct TaskTally {
  std::map<int, PhaseCounts> phases;  // by phase index
  struct Listed {
    int64_t seq;
    std::string id;
    int attempts;
    bool stalled;
  };
  std::vector<Listed> running, failed;  // in file order
};

// The run's tasks counted by phase and state, from their small columns only; then the running and
// failed ones one by one. (A GROUP BY costs SQLite a sort: three times the instructions of this
// loop at 10k tasks.) The status of 10k tasks is read twice a second.
TaskTally TallyTasks(SQLite::Database& db, const std::string& run_id, bool running_now) {
  TaskTally tally;
  RawStatement row = PrepareForRun(db, "SELECT phase, state FROM tasks WHERE run = ?", run_id);
  sqlite3_stmt* prepared = row.get();
  PhaseCounts* c = nullptr;
  int phase = -1;
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(prepared)) == SQLITE_ROW) {
    int at = sqlite3_column_int(prepared, 0);
    if (c == nullptr || at != phase) {
      phase = at;
      c = &tally.phases[phase];
    }
    std::string_view state = ColumnText(prepared, 1);
    ++c->total;
    if (state == "succeeded") {
      ++c->succeeded;
    } else if (state == "failed") {
      ++c->failed;
    } else if (state == "skipped") {
      ++c->skipped;
    } else if (running_now && state == "running") {
      ++c->running;
    }
  }
  if (step != SQLITE_DONE) throw SQLite::Exception(db.getHandle(), step);
  SQLite::Statement listed(db,
                           "SELECT seq, id, state, attempts, stalled FROM tasks WHERE run = ? "
                           "AND state IN ('running', 'failed')");
  listed.bind(1, run_id);
  while (listed.executeStep()) {
    bool running = std::string_view(listed.getColumn(2).getText()) == "running";
    if (running && !running_now) continue;
    (running ? tally.running : tally.failed)
        .push_back({listed.getColumn(0).getInt64(), listed.getColumn(1).getString(),
                    listed.getColumn(3).getInt(), listed.getColumn(4).getInt() != 0});
  }
  auto by_seq = [](const TaskTally::Listed& a, const TaskTally::Listed& b) {
    return a.seq < b.seq;
  };
  std::sort(tally.running.begin(), tally.running.end(), by_seq);
  std::sort(tally.failed.begin(), tally.failed.end(), by_seq);
  return tally;
}

// The attempts in flight of the running tasks.
void AddInFlight(SQLite::Database& db, const std::string& run_id, const TaskTally& tally,
                 double now, nlohmann::ordered_json* running, nlohmann::ordered_json* stalled) {
  SQLite::Statement query(
      db,
      "SELECT n, started_at, reason FROM attempts WHERE run = ? AND task = ? AND "
      "end_reason = '' ORDER BY n");
  for (const TaskTally::Listed& task : tally.running) {
    query.tryReset();
    query.bind(1, run_id);
    query.bind(2, task.id);
    while (query.executeStep()) {
      int attempt = query.getColumn(0).getInt();
      double elapsed = RoundTo(std::max(0.0, now - query.getColumn(1).getDouble()), 10);
      running->push_back({{"id", task.id},
                          {"attempt", attempt},
                          {"elapsed_s", elapsed},
                          {"stalled", task.stalled}});
      // An attempt in flight has a reason only while it waits in a batch queue.
      if (std::string queue = query.getColumn(2).getString(); !queue.empty()) {
        running->back()["queue"] = queue;
      }
      if (task.stalled) {
        stalled->push_back({{"id", task.id}, {"attempt", attempt}, {"elapsed_s", elapsed}});
      }
    }
  }
}

// The failed tasks, with the class and reason of their last attempt.
nlohmann::ordered_json FailedJson(SQLite::Database& db, const std::string& run_id,
                                  const TaskTally& tally) {
  SQLite::Statement query(
      db, "SELECT class, reason, worktree FROM attempts WHERE run = ? AND task = ? AND n = ?");
  nlohmann::ordered_json failed = nlohmann::ordered_json::array();
  for (const TaskTally::Listed& task : tally.failed) {
    query.tryReset();
    query.bind(1, run_id);
    query.bind(2, task.id);
    query.bind(3, task.attempts);
    bool found = query.executeStep();
    failed.push_back({{"id", task.id},
                      {"attempts", task.attempts},
                      {"class", found ? query.getColumn(0).getString() : ""},
                      {"reason", found ? query.getColumn(1).getString() : ""}});
    // workspace: worktree: its last attempt's worktree, kept for inspection.
    if (std::string worktree = found ? query.getColumn(2).getString() : ""; !worktree.empty()) {
      failed.back()["worktree"] = worktree;
    }
  }
  return failed;
}

// Whether each attempt in flight in `in_queue` (by task index, its number) still waits in a batch
// queue, as the last task_queued event of that attempt says (EtaTask::queued), and each cluster
// task's expected wait in the queue per attempt (EtaTask::queue_s): the waits its kind's attempts
// had in this run (the task_queued events of jobs that started after a wait) over how many of
// them started (`kind_attempts`, by kind), those that started at once counting as no wait. The
// waiting attempts' own waits so far count as well, as lower bounds. Only kinds of tasks placed on
// the cluster
// ("...@cluster", Session::EtaKind) wait; a run with none reads no events.
void AddQueueWaits(SQLite::Database& db, const std::string& run_id,
                   const std::unordered_map<std::string, uint32_t>& kinds,
                   const std::vector<int64_t>& kind_attempts,
                   const std::unordered_map<std::string, uint32_t>& index,
                   const std::unordered_map<uint32_t, int>& in_queue, EtaInput* in) {
  std::vector<char> cluster(kinds.size(), 0);
  bool any = false;
  for (const auto& [name, kind] : kinds) {
    cluster[kind] = name.ends_with(kClusterKindSuffix) ? 1 : 0;
    any = any || cluster[kind] != 0;
  }
  if (!any) return;
  std::vector<double> waited(kinds.size(), 0);
  std::unordered_map<uint32_t, QueueState> last;  // of the attempts in `in_queue`
  // By the index events_queued (state_db.cc), whose WHERE this one must keep. SQLite takes the
  // four fields out of each body, faster than nlohmann parses whole bodies (docs/performance.md);
  // a body that is not a JSON object (never written by mex) is passed over.
  RawStatement queued = PrepareForRun(
      db,
      "SELECT task, body ->> '$.queue_state', body ->> '$.reason', body ->> '$.queued_s', "
      "body ->> '$.attempt' FROM events WHERE run = ? AND kind = 'task_queued' "
      "AND json_valid(body) AND json_type(body) = 'object' ORDER BY seq",
      run_id);
  sqlite3_stmt* prepared = queued.get();
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(prepared)) == SQLITE_ROW) {
    auto it = index.find(std::string(ColumnText(prepared, 0)));
    if (it == index.end()) continue;
    const uint32_t kind = in->tasks[it->second].kind;
    if (cluster[kind] == 0) continue;
    const QueueState state = QueueStateOf(ColumnText(prepared, 1), ColumnText(prepared, 2));
    if (state == QueueState::kRunning) waited[kind] += sqlite3_column_double(prepared, 3);
    if (auto a = in_queue.find(it->second);
        a != in_queue.end() && a->second == sqlite3_column_int(prepared, 4)) {
      last[it->second] = state;
    }
  }
  if (step != SQLITE_DONE) throw SQLite::Exception(db.getHandle(), step);
  // Still in the queue (pending, or waiting to submit): its elapsed time is its wait so far, not
  // run time. A job whose state is unknown may be running: it counts as running.
  for (const auto& [task, state] : last) {
    in->tasks[task].queued = state == QueueState::kPending || state == QueueState::kSubmitWait;
  }
  for (const EtaTask& task : in->tasks) {
    if (cluster[task.kind] != 0 && task.queued) waited[task.kind] += task.elapsed;
  }
  // Over the attempts of each kind, one still queued among them (as if it started now).
  for (EtaTask& task : in->tasks) {
    if (cluster[task.kind] != 0 && kind_attempts[task.kind] > 0) {
      task.queue_s = waited[task.kind] / static_cast<double>(kind_attempts[task.kind]);
    }
  }
}

// The estimate of the time left of a running run (model/eta.h), from its tasks and phases,
// `running` (the attempts in flight, with their elapsed_s) and `history`.
Eta EstimateRun(SQLite::Database& db, const std::string& run_id, double now, int jobs,
                const nlohmann::ordered_json& running, const EtaHistory& history) {
  EtaInput in;
  in.jobs = jobs;
  std::unordered_map<std::string, uint32_t> kinds;
  std::vector<int64_t> kind_attempts;  // by kind: its tasks' attempts so far
  std::vector<std::string> ids, deps;
  std::vector<uint32_t> seqs;
  // In key order (no index lookup per row), put in file order below.
  RawStatement row = PrepareForRun(
      db,
      "SELECT id, phase, state, effort, seconds, hash, deps, kind, attempts, retry_at, seq FROM "
      "tasks WHERE run = ?",
      run_id);
  sqlite3_stmt* prepared = row.get();
  auto text = [prepared](int column) { return std::string(ColumnText(prepared, column)); };
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(prepared)) == SQLITE_ROW) {
    std::string id = text(0);
    seqs.push_back(static_cast<uint32_t>(sqlite3_column_int64(prepared, 10)));
    EtaTask& t = in.tasks.emplace_back();
    t.phase = static_cast<uint32_t>(sqlite3_column_int(prepared, 1));
    std::string state = text(2);
    t.effort = sqlite3_column_double(prepared, 3);
    int attempts = sqlite3_column_int(prepared, 8);
    if (state == "succeeded") {
      t.state = EtaTask::State::kSucceeded;
      t.seconds = sqlite3_column_double(prepared, 4);
      in.attempts_ended += attempts;
      in.attempts_failed += std::max(attempts - 1, 0);
    } else if (state == "failed" || state == "skipped" || state == "cancelled") {
      t.state = EtaTask::State::kOver;
      in.attempts_ended += attempts;
      in.attempts_failed += attempts;
    } else if (state == "running") {
      t.state = EtaTask::State::kRunning;
      in.attempts_ended += std::max(attempts - 1, 0);
      in.attempts_failed += std::max(attempts - 1, 0);
    } else if (state == "retry_wait") {
      t.state = EtaTask::State::kRetryWait;
      t.wait_s = std::max(0.0, sqlite3_column_double(prepared, 9) - now);
      in.attempts_ended += attempts;
      in.attempts_failed += attempts;
    } else {
      t.state = EtaTask::State::kWaiting;
    }
    t.history = history.Seconds(id, text(5));
    t.kind = kinds.emplace(text(7), kinds.size()).first->second;
    if (kind_attempts.size() <= t.kind) kind_attempts.resize(t.kind + 1, 0);
    kind_attempts[t.kind] += attempts;
    deps.push_back(text(6));
    ids.push_back(std::move(id));
  }
  if (step != SQLITE_DONE) throw SQLite::Exception(db.getHandle(), step);
  // File order: the task runner breaks ties between equal priorities by it, and so does the
  // schedule simulated.
  std::vector<uint32_t> order(in.tasks.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return seqs[a] < seqs[b]; });
  {
    std::vector<EtaTask> sorted;
    std::vector<std::string> sorted_deps;
    sorted.reserve(order.size());
    for (uint32_t i : order) {
      sorted.push_back(std::move(in.tasks[i]));
      sorted_deps.push_back(std::move(deps[i]));
    }
    in.tasks = std::move(sorted);
    deps = std::move(sorted_deps);
  }
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t k = 0; k < order.size(); ++k) index.emplace(std::move(ids[order[k]]), k);
  for (size_t i = 0; i < deps.size(); ++i) {
    std::string_view dep_ids = deps[i];
    while (!dep_ids.empty()) {
      size_t end = std::min(dep_ids.find('\n'), dep_ids.size());
      if (auto it = index.find(std::string(dep_ids.substr(0, end))); it != index.end()) {
        in.tasks[i].deps.push_back(it->second);
      }
      dep_ids.remove_prefix(std::min(end + 1, dep_ids.size()));
    }
  }
  std::unordered_map<uint32_t, int> in_queue;  // by task: its attempt in a batch queue
  for (const auto& r : running) {
    auto it = index.find(r["id"].get<std::string>());
    if (it == index.end()) continue;
    in.tasks[it->second].elapsed = r["elapsed_s"].get<double>();
    // Told a place in a batch queue other than running: waiting, or its state unknown.
    if (r.contains("queue")) in_queue[it->second] = r["attempt"].get<int>();
  }
  AddQueueWaits(db, run_id, kinds, kind_attempts, index, in_queue, &in);
  // A phase with tasks_from that has not started: its tasks are not known yet. It takes what it
  // took in the latest earlier run, else its weight at the seconds per weight of the phases that
  // passed (from the first start to the last end of their attempts).
  SQLite::Statement phases(db,
                           "SELECT name, weight FROM phases WHERE run = ? AND tasks_from != '' "
                           "AND state = 'pending'");
  phases.bind(1, run_id);
  while (phases.executeStep()) {
    in.unexpanded = true;
    auto it = history.phase_seconds.find(phases.getColumn(0).getString());
    if (it != history.phase_seconds.end()) {
      in.unexpanded_history = std::max(in.unexpanded_history, 0.0) + it->second;
    } else {
      in.unexpanded_weight += phases.getColumn(1).getDouble();
    }
  }
  if (in.unexpanded_weight > 0) {
    SQLite::Statement passed(
        db,
        "SELECT p.weight, max(a.ended_at) - min(a.started_at) FROM phases p "
        "JOIN tasks t ON t.run = p.run AND t.phase = p.idx "
        "JOIN attempts a ON a.run = t.run AND a.task = t.id "
        "WHERE p.run = ? AND p.state = 'passed' AND a.ended_at > 0 GROUP BY p.idx");
    passed.bind(1, run_id);
    double weight = 0, seconds = 0;
    while (passed.executeStep()) {
      weight += passed.getColumn(0).getDouble();
      seconds += passed.getColumn(1).getDouble();
    }
    if (weight > 0) in.seconds_per_weight = seconds / weight;
  }
  return EstimateEta(in);
}

// "12.3s", "4m05s", "2h07m".
std::string Duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  auto s = static_cast<long>(std::lround(seconds));
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

// "2026-11-26T21:15:00.123Z" -> "2026-11-26 21:15:00 UTC".
std::string ReadableTime(const std::string& iso) {
  if (iso.size() < 19) return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
}

std::string GateText(const nlohmann::ordered_json& gate) {
  if (gate.is_null()) return "";
  std::string text =
      fmt::format("{} (score {:.2f}", gate["passed"].get<bool>() ? "passed" : "failed",
                  gate["score"].get<double>());
  if (gate["min_score"].is_number())
    text += fmt::format(", min {:.2f}", gate["min_score"].get<double>());
  return text + ")";
}

// Rows of cells as aligned columns: numbers right-aligned, the columns `text` says left-aligned.
// Cells hold what the database holds (a failure's reason quotes agents and logs): each is made
// one clean line first.
void AppendTable(std::vector<std::vector<std::string>> rows, const std::vector<bool>& text,
                 std::string* out) {
  for (auto& row : rows) {
    for (std::string& cell : row) cell = TerminalSafeLine(cell);
  }
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      bool left = c < text.size() && text[c];
      line += left ? fmt::format("  {:<{}}", row[c], widths[c])
                   : fmt::format("  {:>{}}", row[c], widths[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    *out += line + "\n";
  }
}

void AppendPhases(const nlohmann::ordered_json& phases, std::string* out) {
  bool gates = false;
  for (const auto& p : phases) gates = gates || !p["gate"].is_null();
  std::vector<std::vector<std::string>> rows = {
      {"phase", "weight", "progress", "ended", "succeeded", "failed", "skipped", "running"}};
  if (gates) rows[0].push_back("gate");
  for (const auto& p : phases) {
    int ended = p["succeeded"].get<int>() + p["failed"].get<int>() + p["skipped"].get<int>();
    std::vector<std::string>& row = rows.emplace_back();
    row = {p["name"].get<std::string>(),
           fmt::format("{:g}%", p["weight"].get<double>()),
           fmt::format("{:.0f}%", std::floor(p["progress"].get<double>() * 100)),
           fmt::format("{}/{}", ended, p["total"].get<int>()),
           std::to_string(p["succeeded"].get<int>()),
           std::to_string(p["failed"].get<int>()),
           std::to_string(p["skipped"].get<int>()),
           std::to_string(p["running"].get<int>())};
    if (gates) row.push_back(GateText(p["gate"]));
  }
  AppendTable(std::move(rows), {true, false, false, false, false, false, false, false, true}, out);
}

// A titled table of tasks, at most kMaxListedTasks of them: the task's id, then `describe`'s
// cells.
template <typename Describe>
void AppendTasks(const char* title, const nlohmann::ordered_json& tasks, Describe describe,
                 const std::vector<bool>& text, std::string* out) {
  if (tasks.empty()) return;
  *out += fmt::format("\n{} ({})\n", title, tasks.size());
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < tasks.size() && i < kMaxListedTasks; ++i) {
    std::vector<std::string>& row = rows.emplace_back(describe(tasks[i]));
    row.insert(row.begin(), tasks[i]["id"].get<std::string>());
  }
  AppendTable(std::move(rows), text, out);
  if (tasks.size() > kMaxListedTasks) {
    *out += fmt::format("  ... and {} more (mex status --json lists them all)\n",
                        tasks.size() - kMaxListedTasks);
  }
}

std::vector<std::string> RunningCells(const nlohmann::ordered_json& t) {
  return {fmt::format("attempt {}", t["attempt"].get<int>()),
          Duration(t["elapsed_s"].get<double>()),
          t.contains("queue")        ? t["queue"].get<std::string>()
          : t["stalled"].get<bool>() ? "stalled"
                                     : ""};
}

std::vector<std::string> FailedCells(const nlohmann::ordered_json& t) {
  int attempts = t["attempts"].get<int>();
  std::string why = t["reason"].get<std::string>();
  if (!t["class"].get<std::string>().empty()) why = t["class"].get<std::string>() + ": " + why;
  if (t.contains("worktree")) why += " (its worktree: " + t["worktree"].get<std::string>() + ")";
  return {fmt::format("{} attempt{}", attempts, attempts == 1 ? "" : "s"), why};
}

}  // namespace

double EtaHistory::Seconds(const std::string& id, const std::string& hash) const {
  if (!hash.empty()) {
    if (auto it = by_hash.find(hash); it != by_hash.end()) return it->second;
  }
  auto it = by_id.find(id);
  return it == by_id.end() ? -1 : it->second;
}

EtaHistory ReadEtaHistory(SQLite::Database& db, const std::string& run_id) {
  EtaHistory history;
  history.loaded = true;
  // Oldest run first: a later run's duration replaces an earlier one's.
  SQLite::Statement tasks(db,
                          "SELECT t.id, t.hash, t.seconds FROM runs r JOIN tasks t ON t.run = r.id "
                          "WHERE r.milestone = (SELECT milestone FROM runs WHERE id = ?1) "
                          "AND r.seq < (SELECT seq FROM runs WHERE id = ?1) "
                          "AND t.state = 'succeeded' AND t.seconds > 0 ORDER BY r.seq");
  tasks.bind(1, run_id);
  while (tasks.executeStep()) {
    double seconds = tasks.getColumn(2).getDouble();
    history.by_id[tasks.getColumn(0).getString()] = seconds;
    if (std::string hash = tasks.getColumn(1).getString(); !hash.empty()) {
      history.by_hash[hash] = seconds;
    }
  }
  // The phases with tasks_from of the latest earlier run: from the first start to the last end
  // of their attempts.
  SQLite::Statement phases(
      db,
      "SELECT p.name, max(a.ended_at) - min(a.started_at) FROM phases p "
      "JOIN tasks t ON t.run = p.run AND t.phase = p.idx "
      "JOIN attempts a ON a.run = t.run AND a.task = t.id "
      "WHERE p.run = (SELECT r.id FROM runs r WHERE r.milestone = (SELECT milestone FROM runs "
      "WHERE id = ?1) AND r.seq < (SELECT seq FROM runs WHERE id = ?1) ORDER BY r.seq DESC "
      "LIMIT 1) AND p.tasks_from != '' AND a.ended_at > 0 GROUP BY p.idx");
  phases.bind(1, run_id);
  while (phases.executeStep()) {
    history.phase_seconds[phases.getColumn(0).getString()] = phases.getColumn(1).getDouble();
  }
  return history;
}

std::string IsoTimeMs(double epoch_s) {
  double whole = std::floor(epoch_s);
  auto ms = static_cast<int>(std::lround((epoch_s - whole) * 1000));
  if (ms == 1000) {
    whole += 1;
    ms = 0;
  }
  auto seconds = static_cast<std::time_t>(whole);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", text, ms);
}

nlohmann::ordered_json ReadStatus(SQLite::Database& db, const std::string& run_id, double now,
                                  bool live, EtaHistory* history, Eta* eta_out) {
  ReadTransaction transaction(db);
  SQLite::Statement run(db,
                        "SELECT name, state, started_at, jobs, coalesce(ended_at, updated_at), "
                        "cost_usd, input_tokens, output_tokens FROM runs WHERE id = ?");
  run.bind(1, run_id);
  if (!run.executeStep()) throw std::runtime_error(fmt::format("no run '{}' recorded", run_id));
  std::string state = run.getColumn(1).getString();
  // Recorded as running, but its engine is gone (killed): nothing runs any more.
  if (state == "running" && !live) state = "interrupted";
  bool running_now = state == "running";
  int jobs = std::max(1, run.getColumn(3).getInt());
  // A run that is not going on was last updated when its engine last recorded something.
  double updated = running_now || run.isColumnNull(4) ? now : run.getColumn(4).getDouble();

  TaskTally tally = TallyTasks(db, run_id, running_now);
  double weighted = 0;
  nlohmann::ordered_json phases = PhasesJson(db, run_id, tally.phases, &weighted);

  nlohmann::ordered_json running = nlohmann::ordered_json::array();
  nlohmann::ordered_json stalled = nlohmann::ordered_json::array();
  AddInFlight(db, run_id, tally, now, &running, &stalled);
  nlohmann::ordered_json eta = nullptr, eta_range = nullptr, eta_basis = nullptr;
  bool provisional = false;
  if (running_now) {
    EtaHistory read;
    if (history == nullptr) history = &read;
    if (!history->loaded) *history = ReadEtaHistory(db, run_id);
    Eta e = EstimateRun(db, run_id, now, jobs, running, *history);
    if (eta_out != nullptr) *eta_out = e;
    provisional = e.provisional;
    if (e.known) {
      eta = RoundTo(e.seconds, 10);
      eta_range = {RoundTo(e.low, 10), RoundTo(e.high, 10)};
      eta_basis = e.basis;
    }
  }

  return {
      {"milestone", run.getColumn(0).getString()},
      {"run", run_id},
      {"state", state},
      {"started_at", IsoTimeMs(run.getColumn(2).getDouble())},
      {"updated_at", IsoTimeMs(updated)},
      {"progress", {{"weighted", RoundTo(weighted, 1e4)}, {"phases", std::move(phases)}}},
      {"eta_seconds", std::move(eta)},
      {"eta_range", std::move(eta_range)},
      {"eta_basis", std::move(eta_basis)},
      {"eta_provisional", provisional},
      {"cost_usd", RoundTo(run.getColumn(5).getDouble(), 1e6)},
      {"tokens", {{"input", run.getColumn(6).getInt64()}, {"output", run.getColumn(7).getInt64()}}},
      {"running", std::move(running)},
      {"failed", FailedJson(db, run_id, tally)},
      {"stalled", std::move(stalled)}};
}

std::string FormatStatus(const nlohmann::ordered_json& status) {
  // The milestone's id is free text from the milestone file.
  std::string out = fmt::format(
      "milestone {}, run {}: {}\n", TerminalSafeLine(status["milestone"].get<std::string>()),
      TerminalSafeLine(status["run"].get<std::string>()), status["state"].get<std::string>());
  // Rounded down: 99.96% is not done.
  double percent = std::floor(status["progress"]["weighted"].get<double>() * 1000) / 10;
  out += fmt::format("started {}, {:.1f}% done",
                     ReadableTime(status["started_at"].get<std::string>()), percent);
  if (status["eta_seconds"].is_number()) {
    out += fmt::format(", about {} left", Duration(status["eta_seconds"].get<double>()));
    if (const auto& range = status["eta_range"]; range.is_array() && range.size() == 2) {
      const std::string low = Duration(range[0].get<double>());
      const std::string high = Duration(range[1].get<double>());
      if (low != high) out += fmt::format(" ({}–{})", low, high);
    }
    if (status.value("eta_provisional", false)) {
      out += ", provisional (a phase's tasks are not known yet)";
    }
  }
  if (status["cost_usd"].get<double>() > 0) {
    out += fmt::format(", agents cost ${:.4f}", status["cost_usd"].get<double>());
  }
  out += "\n\n";
  AppendPhases(status["progress"]["phases"], &out);
  AppendTasks("running", status["running"], RunningCells, {true, true, false, true}, &out);
  AppendTasks("failed", status["failed"], FailedCells, {true, false, true}, &out);
  return out;
}

}  // namespace mex
