// A seeded simulation of the engine (issue 15), as FoundationDB and TigerBeetle do: the real task
// runner, phase flow, session and journal over a simulated executor (virtual time, drawn
// outcomes, interrupts) and a simulated store (transactions, a commit that fails = a crash at a
// commit boundary), with the engine restarted over the durable state until the run ends. One seed
// gives one run exactly. MEX_SIM_SEED=N runs seed N only; MEX_SIM_SEEDS=N runs N seeds (from
// MEX_SIM_SEED, else from 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/journal.h"
#include "engine/phase_flow.h"
#include "engine/session.h"
#include "engine/task_runner.h"
#include "load/loader.h"
#include "plan/file_overlap.h"
#include "plan/roadmap.h"
#include "tests/test_util.h"
#include "util/clock.h"

namespace mex {
namespace {

// Virtual time: the monotonic clock, and the wall clock a fixed offset after it.
double g_now = 0;
double SimMonotonic() {
  return g_now;
}
double SimWall() {
  return 1.8e9 + g_now;
}

// What the seeds did, for the summary.
uint64_t g_sessions = 0, g_killed = 0, g_disk_full = 0, g_interrupted = 0, g_attempts = 0,
         g_budgets = 0, g_budget_spent = 0;

// A broken invariant or a stuck engine: ends the seed's run.
struct SimFailure {
  std::string what;
};
// kill -9 of the engine at a commit: the session's objects are dropped, its processes live on.
struct SimKill {};

// Store and SessionStore in memory: writes go to the pending state, Commit() makes it durable,
// and from `fail_at` on (a commit number of this session) every commit fails, as on a full disk;
// at `kill_at` the engine is killed instead of that commit.
class SimStore : public Store, public SessionStore {
 public:
  struct State {
    std::map<std::string, StoredTask> tasks;
    std::map<std::pair<std::string, int>, AttemptRecord> attempts;
  };

  // A new engine over what is durable: what was pending is lost.
  void Restart(int fail_at, int kill_at) {
    pending_ = durable_;
    fail_at_ = fail_at;
    kill_at_ = kill_at;
    commits_ = 0;
    failed_ = false;
  }
  const State& durable() const { return durable_; }
  bool failed() const { return failed_; }
  // What the durable attempts' agents reported they cost (what `mex run` passes to PhaseFlow).
  double SpentUsd() const {
    double spent = 0;
    for (const auto& [key, a] : durable_.attempts) spent += std::max(a.cost_usd, 0.0);
    return spent;
  }

  void TaskChanged(const std::string& task, TaskState state, int attempts) override {
    StoredTask& t = pending_.tasks[task];
    t.id = task;
    t.state = state;
    t.attempts = attempts;
  }
  void AttemptChanged(const AttemptRecord& attempt) override {
    AttemptRecord& a = pending_.attempts[{attempt.task, attempt.number}];
    if (!a.end.empty() && a.end != attempt.end) {
      throw SimFailure{"attempt " + std::to_string(attempt.number) + " of " + attempt.task +
                       " ended twice: " + a.end + ", then " + attempt.end};
    }
    a = attempt;
  }
  void GateScored(size_t, const GateRecord&) override {}
  void Append(const Event&) override {}
  bool Commit() override {
    ++commits_;
    if (kill_at_ > 0 && commits_ == kill_at_) throw SimKill{};
    if (failed_ || (fail_at_ > 0 && commits_ >= fail_at_)) {
      failed_ = true;
      return false;
    }
    durable_ = pending_;
    for (const auto& [id, t] : durable_.tasks) {
      if (t.state == TaskState::kSucceeded) {
        succeeded_.insert(id);
      } else if (succeeded_.count(id) != 0) {
        throw SimFailure{"task " + id + " durably succeeded, then became " +
                         std::string(TaskStateName(t.state))};
      }
    }
    return true;
  }
  std::string error() const override { return failed_ ? "disk full (simulated)" : ""; }

  std::vector<StoredTask> Tasks(const std::string&) override {
    std::vector<StoredTask> out;
    for (const auto& [id, t] : pending_.tasks) out.push_back(t);
    return out;
  }
  std::vector<AttemptRecord> Attempts(const std::string&) override {
    std::vector<AttemptRecord> out;
    for (const auto& [key, a] : pending_.attempts) out.push_back(a);
    return out;
  }
  void SetPhases(const std::vector<PhaseRow>&) override {}
  void PutTask(const StoredTask& task) override { pending_.tasks[task.id] = task; }
  void SetTaskHash(const std::string& id, const std::string& hash) override {
    pending_.tasks[id].hash = hash;
  }
  void ShiftTasks(uint32_t from, uint32_t by) override {
    for (auto& [id, t] : pending_.tasks) {
      if (t.seq >= from) t.seq += by;
    }
  }
  void RemoveTask(const std::string& id) override { pending_.tasks.erase(id); }
  std::vector<AttemptRecord> MarkInterrupted(double now) override {
    std::vector<AttemptRecord> out;
    for (auto& [key, a] : pending_.attempts) {
      if (!a.end.empty()) continue;
      a.end = "interrupted";
      a.ended_at = now;
      out.push_back(a);
    }
    for (auto& [id, t] : pending_.tasks) {
      if (t.state == TaskState::kRunning || t.state == TaskState::kReady ||
          t.state == TaskState::kRetryWait) {
        t.state = TaskState::kPending;
      }
    }
    return out;
  }

 private:
  State durable_, pending_;
  std::set<std::string> succeeded_;  // every task that was ever durably succeeded
  int fail_at_ = 0, kill_at_ = 0;
  int commits_ = 0;
  bool failed_ = false;
};

// Attempts on virtual time, each with a drawn duration and outcome.
class SimExecutor : public Executor {
 public:
  SimExecutor(std::mt19937_64* rng, const SimStore* store, const Milestone** m)
      : rng_(*rng), store_(*store), m_(*m) {}

  // A new engine: an interrupt (SIGTERM) at a drawn moment, or none; `spent_usd`, what the
  // durable attempts' agents reported they cost.
  void Restart(double interrupt_at, double spent_usd) {
    interrupt_at_ = interrupt_at;
    spent_usd_ = spent_usd;
    ++pid_base_;
  }
  // The engine was killed: what ran goes on running, unknown to the next engine but for what
  // the store recorded and the tags in the processes' environments (EndLeftovers).
  void Killed() {
    for (auto& [key, a] : running_) {
      if (a.end.reason != EndReason::kSpawnFailed) orphans_.emplace(key, a);
    }
    ends_ += running_.size();  // as far as the counts go: no engine will see them end
    running_.clear();
  }
  // Tasks are claude prompts whose results report a cost, under budget_usd `budget`.
  void set_budget(double budget) { budget_ = budget; }
  double Uniform(double a, double b) { return std::uniform_real_distribution<>(a, b)(rng_); }

  ProcessRef Start(const AttemptSpec& spec) override {
    std::string id(m_->tasks.at(spec.key).id);
    if (running_.count(spec.key) != 0) {
      throw SimFailure{"two attempts of task " + id + " run at once"};
    }
    if (auto o = orphans_.find(spec.key); o != orphans_.end() && o->second.ends_at > g_now) {
      throw SimFailure{"task " + id + " starts while the attempt a killed engine left runs"};
    }
    if (auto t = store_.durable().tasks.find(id);
        t != store_.durable().tasks.end() && t->second.state == TaskState::kSucceeded) {
      throw SimFailure{"task " + id + " starts again though it durably succeeded"};
    }
    if (std::string other = RunningBesideItsFiles(spec.key); !other.empty()) {
      throw SimFailure{"task " + id + " starts while " + other};
    }
    for (const DepRef& ref : m_->tasks.at(spec.key).deps) {
      std::string dep(m_->symbols.Name(ref.symbol));
      auto d = store_.durable().tasks.find(dep);
      if (d == store_.durable().tasks.end() || d->second.state != TaskState::kSucceeded) {
        throw SimFailure{"task " + id + " starts before its dep " + dep + " durably succeeded"};
      }
    }
    if (budget_ > 0 && spent_usd_ >= budget_) {
      throw SimFailure{"task " + id + " starts though the agents reported $" +
                       std::to_string(spent_usd_) + " of the $" + std::to_string(budget_) +
                       " budget"};
    }
    ++starts_;
    Attempt a;
    a.log_path = spec.log_path;
    a.started = g_now;
    a.end.key = spec.key;
    a.end.pid = static_cast<pid_t>(1000 + starts_);
    a.end.started_at = SimWall();
    double r = Uniform(0, 1);
    double duration = Uniform(0.01, 40);
    a.ends_at = g_now + duration;
    if (r < 0.55) {
      a.end.exit_code = 0;
    } else if (r < 0.67) {
      a.end.exit_code = 1;
    } else if (r < 0.72) {
      a.end.exit_code = 137;
    } else if (r < 0.77) {
      a.end.signal = SIGKILL;
    } else if (r < 0.85) {
      bool resource = r < 0.82;
      a.end.reason = EndReason::kSpawnFailed;
      a.end.spawn_errno = resource ? EMFILE : ENOENT;
      a.end.error = resource ? "too many open files" : "no such file or directory";
      a.ends_at = g_now;
    } else {
      a.never_ends = true;  // until its timeout
      a.ends_at = spec.timeout_s > 0 ? g_now + spec.timeout_s : 1e300;
      a.end.reason = EndReason::kTimedOut;
      a.end.signal = SIGKILL;
    }
    bool spawned = a.end.reason != EndReason::kSpawnFailed;
    running_.emplace(spec.key, a);
    if (!spawned) return {};
    ProcessRef ref;
    ref.pgid = a.end.pid;
    ref.start_time = starts_;
    ref.boot_id = "sim";
    return ref;
  }

  WaitResult Wait(double timeout_s) override {
    if (++waits_ > 200000) throw SimFailure{"the engine does not end (200000 waits)"};
    double next = timeout_s >= 0 ? g_now + timeout_s : 1e300;
    for (const auto& [key, a] : running_) next = std::min(next, a.ends_at);
    bool interrupt = interrupt_at_ >= 0 && interrupt_at_ <= next;
    if (interrupt) next = std::max(g_now, interrupt_at_);
    if (next >= 1e299) throw SimFailure{"Wait(-1) with nothing that can end: the engine hangs"};
    g_now = std::max(g_now, next);
    std::erase_if(orphans_, [](const auto& o) { return o.second.ends_at <= g_now; });
    WaitResult result;
    std::vector<std::pair<double, uint64_t>> due;
    for (const auto& [key, a] : running_) {
      if (a.ends_at <= g_now) due.emplace_back(a.ends_at, key);
    }
    std::sort(due.begin(), due.end());
    for (const auto& [at, key] : due) {
      Attempt& a = running_.at(key);
      if (budget_ > 0 && a.end.reason == EndReason::kExited) WriteAgentResult(a);
      a.end.ended_at = SimWall();
      a.end.duration_s = g_now - a.started;
      if (a.end.reason == EndReason::kExited && a.end.signal != 0) a.end.exit_code = -1;
      result.ended.push_back(a.end);
      running_.erase(key);
      ++ends_;
    }
    if (interrupt) {
      result.interrupt = SIGTERM;
      interrupt_at_ = -1;
    }
    return result;
  }

  void Cancel(uint64_t key) override {
    auto a = running_.find(key);
    if (a == running_.end() || a->second.cancelled) return;
    a->second.cancelled = true;
    if (a->second.end.reason == EndReason::kSpawnFailed) return;
    a->second.end.reason = EndReason::kCancelled;
    a->second.end.exit_code = -1;
    a->second.end.signal = SIGTERM;
    a->second.ends_at = std::min(a->second.ends_at, g_now + Uniform(0, 5));
  }
  void CancelAll() override {
    std::vector<uint64_t> keys;
    for (const auto& [key, a] : running_) keys.push_back(key);
    for (uint64_t key : keys) Cancel(key);
  }
  void KillAll() override {
    for (auto& [key, a] : running_) {
      if (a.end.reason != EndReason::kSpawnFailed) a.end.reason = EndReason::kCancelled;
      a.ends_at = g_now;
    }
  }
  size_t running() const override { return running_.size(); }
  // As LocalExecutor: the recorded groups, and by the run's tag what escaped them or was never
  // recorded (killed between the spawn and that commit): every orphan.
  // As LocalExecutor: an orphan is not its child.
  ProcessRef Adopt(const ProcessRef&, const AttemptSpec&) override { return {}; }
  int EndLeftovers(const std::vector<ProcessRef>&, double) override {
    const auto ended = static_cast<int>(orphans_.size());
    orphans_.clear();
    return ended;
  }

  uint64_t starts() const { return starts_; }
  uint64_t ends() const { return ends_; }

 private:
  // "" or which running task declares files that overlap those of `task`, and which files.
  std::string RunningBesideItsFiles(uint64_t task) const {
    const TaskDetail* d = m_->tasks.at(task).details();
    if (d == nullptr) return "";
    for (const auto& [key, a] : running_) {
      const TaskDetail* o = m_->tasks.at(key).details();
      if (o == nullptr) continue;
      for (const std::string& mine : d->files) {
        for (const std::string& theirs : o->files) {
          if (EntriesOverlap(mine, theirs)) {
            return std::string(m_->tasks.at(key).id) + " runs, and they touch " + mine + " and " +
                   theirs;
          }
        }
      }
    }
    return "";
  }

  struct Attempt {
    AttemptEnd end;
    std::string log_path;
    double started = 0;
    double ends_at = 0;
    bool never_ends = false;
    bool cancelled = false;
  };
  // What claude prints as it ends, with a drawn cost, sometimes at odds with its exit code (an
  // agent that lies: is_error on exit 0, a success on exit 1).
  void WriteAgentResult(const Attempt& a) {
    // As written below: what mex reads back.
    double cost = std::round(Uniform(0.001, 0.2) * 1e6) / 1e6;
    bool error = a.end.exit_code != 0 ? Uniform(0, 1) < 0.5 : Uniform(0, 1) < 0.1;
    std::filesystem::create_directories(std::filesystem::path(a.log_path).parent_path());
    std::FILE* f = std::fopen(a.log_path.c_str(), "a");
    if (f == nullptr) throw SimFailure{"cannot write " + a.log_path};
    std::fprintf(f,
                 "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":%s,"
                 "\"api_error_status\":%s,\"result\":\"%s\",\"total_cost_usd\":%.6f,"
                 "\"usage\":{\"input_tokens\":100,\"output_tokens\":10}}\n",
                 error ? "true" : "false", error ? "500" : "null",
                 error ? "API Error: 500" : "done", cost);
    std::fclose(f);
    spent_usd_ += cost;
  }

  std::mt19937_64& rng_;
  const SimStore& store_;
  const Milestone*& m_;
  std::map<uint64_t, Attempt> running_;
  std::map<uint64_t, Attempt> orphans_;  // left running by a killed engine
  double interrupt_at_ = -1;
  double budget_ = 0, spent_usd_ = 0;
  uint64_t starts_ = 0, ends_ = 0, waits_ = 0;
  int pid_base_ = 0;
};

// What the terminal would show: every task_succeeded it sees is durable, and the tasks it saw
// succeed only grow within a session.
class CheckingSink : public EventSink {
 public:
  explicit CheckingSink(const SimStore* store) : store_(*store) {}
  void OnEvent(const Event& event) override {
    if (event.kind == EventKind::kPhaseStarted || event.kind == EventKind::kPhaseFinished) {
      if (event.progress < progress_) {
        throw SimFailure{"progress went back from " + std::to_string(progress_) + " to " +
                         std::to_string(event.progress)};
      }
      progress_ = event.progress;
    }
    if (event.kind != EventKind::kTaskSucceeded) return;
    auto t = store_.durable().tasks.find(event.task);
    if ((t == store_.durable().tasks.end() || t->second.state != TaskState::kSucceeded)) {
      throw SimFailure{"the sink saw " + event.task + " succeed before it was durable"};
    }
    if (!succeeded_.insert(event.task).second) {
      throw SimFailure{"the sink saw " + event.task + " succeed twice in one session"};
    }
  }
  void Restart() {
    succeeded_.clear();
    progress_ = 0;
  }

 private:
  const SimStore& store_;
  double progress_ = 0;
  std::set<std::string> succeeded_;
};

// A random DAG: 5-40 tasks, each depending on a few earlier ones, some with retries; in half the
// seeds the tasks are prompts to `claude` (the executable at `claude`) under a budget, set in
// `budget` (else 0). In half the seeds, half the tasks declare files of a few shared ones, drawn
// from `files_rng` (so that the other draws of a seed stay as they were before files).
std::string RandomMilestone(std::mt19937_64& rng, std::mt19937_64& files_rng,
                            const std::string& claude, int* jobs, double* budget) {
  static const char* const kFiles[] = {"a.txt", "b.txt", "src/", "src/*.c", "src/x.c", "docs/**"};
  bool with_files = files_rng() % 2 == 0;
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<>(a, b)(rng); };
  int n = pick(5, 40);
  *jobs = pick(1, 8);
  *budget = pick(0, 1) == 0 ? 0 : pick(1, 300) / 100.0;
  std::string yaml =
      "defaults: {timeout: 60s, retry: {max_attempts: " + std::to_string(pick(1, 3)) +
      ", backoff: {initial: 1s, factor: 2, max: 30s, jitter: 0.5}}";
  if (*budget > 0) {
    yaml += ", agent: claude, budget_usd: " + std::to_string(*budget) + "}\nagents:\n" +
            "  claude: {command: ['" + claude + "', -p, --output-format, json], prompt_via: stdin}";
  } else {
    yaml += "}";
  }
  yaml += "\ntasks:\n";
  for (int t = 0; t < n; ++t) {
    yaml += "  - {id: t" + std::to_string(t) + (*budget > 0 ? ", prompt: 'p'" : ", run: 'true'");
    std::set<int> deps;
    for (int d = pick(0, std::min(t, 3)); d > 0; --d) deps.insert(pick(0, t - 1));
    if (!deps.empty()) {
      yaml += ", deps: [";
      bool first = true;
      for (int d : deps) yaml += (first ? "t" : ", t") + std::to_string(d), first = false;
      yaml += "]";
    }
    if (pick(0, 3) == 0) yaml += ", retry: {max_attempts: " + std::to_string(pick(2, 5)) + "}";
    if (with_files && files_rng() % 2 == 0) {
      yaml += ", files: ['" + std::string(kFiles[files_rng() % 6]) + "', '" +
              kFiles[files_rng() % 6] + "']";
    }
    yaml += "}\n";
  }
  return yaml;
}

constexpr int kMaxSessions = 12;
constexpr int kFaultySessions = 6;  // later sessions have no injected faults: the run can end

// Runs one seed: sessions until the run ends; returns "" or what went wrong.
std::string RunSeed(uint64_t seed) {
  testing_util::TempDir dir;  // the run folder: logs, failure reports
  std::mt19937_64 rng(seed);
  g_now = 0;
  int jobs = 1;
  double budget = 0;
  std::string claude = (dir.path() / "claude").string();  // never run: the executor simulates it
  testing_util::WriteFile(claude, "#!/bin/sh\n");
  std::filesystem::permissions(claude, std::filesystem::perms::owner_all);
  std::mt19937_64 files_rng(seed ^ 0x9e3779b97f4a7c15);
  std::string yaml = RandomMilestone(rng, files_rng, claude, &jobs, &budget);
  SimStore store;
  const Milestone* current = nullptr;
  SimExecutor executor(&rng, &store, &current);
  executor.set_budget(budget);
  CheckingSink sink(&store);
  std::shared_ptr<Folder> state = std::make_shared<Folder>();
  std::string err;
  if (!Folder::Open(dir.path().string(), false, state.get(), &err)) return err;
  RunPaths paths;
  if (!CreateRunFolder(state, "r" + std::to_string(seed), &paths, &err)) return err;
  try {
    int session_no = 0;
    for (;; ++session_no) {
      if (session_no == kMaxSessions)
        return "the run did not end in " + std::to_string(session_no) + " sessions";
      bool faults = session_no < kFaultySessions;
      int fail_at =
          faults && executor.Uniform(0, 1) < 0.4 ? std::uniform_int_distribution<>(1, 80)(rng) : 0;
      int kill_at = faults && fail_at == 0 && executor.Uniform(0, 1) < 0.3
                        ? std::uniform_int_distribution<>(1, 80)(rng)
                        : 0;
      double interrupt_at =
          faults && executor.Uniform(0, 1) < 0.3 ? g_now + executor.Uniform(0, 200) : -1;
      store.Restart(fail_at, kill_at);
      executor.Restart(interrupt_at, store.SpentUsd());
      sink.Restart();
      g_now += 1;  // the restart takes a moment

      Milestone m;
      Diagnostics diags("sim.yaml");
      if (!LoadMilestoneFromString("sim.yaml", yaml, &m, &diags)) return diags.Format();
      current = &m;
      RunInfo run;
      run.milestone = &m;
      run.paths = paths;
      Graph graph(m);
      Roadmap roadmap = ComputeRoadmap(m, graph, jobs);
      Journal journal(paths.run_id, &store, &sink);
      TaskRunner runner(run, graph, roadmap.priority, jobs, &executor, &journal);
      runner.set_seed(seed * 1000 + static_cast<uint64_t>(session_no));
      PhaseFlow flow(run, &runner, &journal);
      Session session(&run, &m, &graph, &roadmap, jobs, &store, &runner,
                      [](const Roadmap&, std::string*) { return true; });
      flow.set_hooks(&session);
      try {
        session.Prepare();
        flow.set_resumed(session_no > 0);
        flow.set_spent_usd(store.SpentUsd());
        flow.Run();
      } catch (const SimKill&) {
        executor.Killed();
        current = nullptr;
        ++g_sessions;
        ++g_killed;
        continue;
      }
      current = nullptr;
      if (executor.running() != 0) return "the engine stopped with attempts still running";
      if (executor.starts() != executor.ends()) {
        return "attempts started " + std::to_string(executor.starts()) + ", ended " +
               std::to_string(executor.ends());
      }
      ++g_sessions;
      g_disk_full += store.failed() ? 1 : 0;
      g_interrupted += runner.interrupt() != 0 ? 1 : 0;
      if (!store.failed() && runner.interrupt() == 0) break;  // the run ended
    }
    // It ended: every task is durably final.
    if (store.durable().tasks.size() < 5) return "durable tasks missing";
    for (const auto& [id, t] : store.durable().tasks) {
      if (!IsFinal(t.state)) {
        return "the run ended with task " + id + " " + std::string(TaskStateName(t.state));
      }
    }
    // Nothing was left behind (a task held back and never released): a task is skipped only
    // after a dep failed or was skipped, and cancelled only once the budget was spent.
    Milestone m;
    Diagnostics diags("sim.yaml");
    if (!LoadMilestoneFromString("sim.yaml", yaml, &m, &diags)) return diags.Format();
    bool budget_spent = budget > 0 && store.SpentUsd() >= budget;
    for (const Task& t : m.tasks) {
      TaskState end = store.durable().tasks.at(std::string(t.id)).state;
      bool dep_failed = false;
      for (const DepRef& ref : t.deps) {
        TaskState dep = store.durable().tasks.at(std::string(m.symbols.Name(ref.symbol))).state;
        dep_failed = dep_failed || dep == TaskState::kFailed || dep == TaskState::kSkipped;
      }
      if (end == TaskState::kSkipped && !dep_failed) {
        return "task " + std::string(t.id) + " was skipped, though none of its deps failed";
      }
      if (end == TaskState::kCancelled && !budget_spent) {
        return "task " + std::string(t.id) + " was cancelled, though the run did not stop";
      }
    }
    g_attempts += executor.starts();
    g_budgets += budget > 0 ? 1 : 0;
    g_budget_spent += budget > 0 && store.SpentUsd() >= budget ? 1 : 0;
  } catch (const SimFailure& f) {
    return f.what;
  }
  return "";
}

uint64_t EnvNumber(const char* name, uint64_t otherwise) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : otherwise;
}

TEST(SimulationTest, SeedsKeepTheInvariants) {
  SetClocksForTesting(SimWall, SimMonotonic);
  uint64_t first = EnvNumber("MEX_SIM_SEED", 1);
  uint64_t count = EnvNumber("MEX_SIM_SEEDS", std::getenv("MEX_SIM_SEED") != nullptr ? 1 : 150);
  int failures = 0;
  auto began = std::chrono::steady_clock::now();
  uint64_t ran = 0;
  for (uint64_t seed = first; seed < first + count && failures < 5; ++seed) {
    ++ran;
    std::string problem = RunSeed(seed);
    if (!problem.empty()) {
      ++failures;
      ADD_FAILURE() << "seed " << seed << ": " << problem << "\n  reproduce: MEX_SIM_SEED=" << seed
                    << " build/mex_tests --gtest_filter='Simulation*'";
    }
  }
  SetClocksForTesting(nullptr, nullptr);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("simulation: %llu seeds from %llu in %.1f s (%.0f seeds/s)\n",
              static_cast<unsigned long long>(ran), static_cast<unsigned long long>(first), s,
              static_cast<double>(ran) / s);
  std::printf(
      "simulation: %llu sessions, %llu killed, %llu ended by a failed commit, %llu interrupted, "
      "%llu "
      "attempts; %llu runs under a budget, %llu of them spent it\n",
      static_cast<unsigned long long>(g_sessions), static_cast<unsigned long long>(g_killed),
      static_cast<unsigned long long>(g_disk_full), static_cast<unsigned long long>(g_interrupted),
      static_cast<unsigned long long>(g_attempts), static_cast<unsigned long long>(g_budgets),
      static_cast<unsigned long long>(g_budget_spent));
}

}  // namespace
}  // namespace mex
