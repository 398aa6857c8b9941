// Replays simulated runs and prints how far the estimate of the time left (model/eta.h) is from
// the truth at 10, 25, 50, 75 and 90% of each run, beside elapsed/fraction (elapsed x (1 - p) /
// p, p the weighted progress of `mex status`) and the effort-rate estimate mex had before.
// Usage: eta_replay [RUNS]  (default 30 runs per scenario; seeded: the same figures each time)
//
// A run is simulated as the task runner runs one: phases one after the other, on `jobs` slots,
// the ready task with the longest remaining critical path first (model/critical_path.h: by the
// earlier run's seconds in the "warm" scenarios, as the runner orders by its history, else by
// effort); an attempt that fails runs part of its duration, then the task waits its backoff and
// runs again. At each moment the simulator gives the estimator what state.db would hold then:
// tasks succeeded (with their seconds), running (their elapsed time), waiting to retry (backoff
// left), pending; a phase with tasks_from that has not started has no tasks yet. "warm" scenarios give the estimator the
// durations of an earlier run of the same milestone (its history), each task's true duration
// varying between the two runs. The error is |estimate - time left| / time left.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "model/critical_path.h"
#include "model/eta.h"

namespace {

using mex::EtaInput;
using mex::EtaTask;

struct SimTask {
  uint32_t phase = 0;
  double effort = 1;
  uint32_t kind = 0;
  std::vector<uint32_t> deps;
  double seconds = 1;  // of a successful attempt
  int failures = 0;    // attempts that fail before the one that succeeds
};

struct Scenario {
  std::string name;
  std::vector<SimTask> tasks;
  std::vector<double> weights;   // per phase
  std::vector<bool> tasks_from;  // per phase: its tasks come from an artifact
  int jobs = 1;
  double failed_share = 0.4;  // of its duration a failing attempt runs
  double backoff_s = 30;      // the first retry's; doubled each time
};

struct Attempt {
  double start = 0, end = 0;
  bool ok = false;
};

struct Trace {
  std::vector<std::vector<Attempt>> attempts;  // per task
  std::vector<double> phase_start, phase_end;
  double end = 0;
};

// The run as the task runner would run it; `history`: the earlier run whose durations it orders
// ready tasks by (Session::PrioritizeByHistory), null for none.
Trace Run(const Scenario& s, const Trace* history) {
  const auto n = static_cast<uint32_t>(s.tasks.size());
  Trace trace;
  trace.attempts.resize(n);
  size_t phases = s.weights.size();
  trace.phase_start.assign(phases, 0);
  trace.phase_end.assign(phases, 0);
  std::vector<std::vector<uint32_t>> dependents(n);
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t d : s.tasks[t].deps) dependents[d].push_back(t);
  }
  // Priority: the runner's remaining critical path, by the seconds each task took in the earlier
  // run where there is one (HistoryDurations), else by effort.
  std::vector<double> effort(n), seconds(n, -1);
  std::vector<uint32_t> phase(n);
  for (uint32_t t = 0; t < n; ++t) {
    effort[t] = s.tasks[t].effort;
    phase[t] = s.tasks[t].phase;
    if (history == nullptr) continue;
    for (const Attempt& a : history->attempts[t]) {
      if (a.ok) seconds[t] = a.end - a.start;
    }
  }
  std::vector<double> weight = mex::HistoryDurations(effort, seconds);
  if (weight.empty()) weight = effort;
  const std::vector<double> priority = mex::RemainingCriticalPath(
      weight, phase, [&](uint32_t t) -> const std::vector<uint32_t>& { return dependents[t]; });
  double now = 0;
  for (uint32_t p = 0; p < phases; ++p) {
    trace.phase_start[p] = now;
    using Entry = std::pair<double, uint32_t>;
    auto later = [](const Entry& a, const Entry& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    };
    std::priority_queue<Entry, std::vector<Entry>, decltype(later)> ready(later);
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> timed, running;
    std::vector<int> pending(n, 0);
    std::vector<int> failed(n, 0);
    for (uint32_t t = 0; t < n; ++t) {
      if (s.tasks[t].phase != p) continue;
      for (uint32_t d : s.tasks[t].deps) pending[t] += s.tasks[d].phase == p ? 1 : 0;
      if (pending[t] == 0) ready.emplace(priority[t], t);
    }
    for (;;) {
      while (!timed.empty() && timed.top().first <= now) {
        ready.emplace(priority[timed.top().second], timed.top().second);
        timed.pop();
      }
      while (running.size() < static_cast<size_t>(s.jobs) && !ready.empty()) {
        uint32_t t = ready.top().second;
        ready.pop();
        bool ok = failed[t] >= s.tasks[t].failures;
        double d = s.tasks[t].seconds * (ok ? 1 : s.failed_share);
        trace.attempts[t].push_back({now, now + d, ok});
        running.emplace(now + d, t);
      }
      if (running.empty() && timed.empty()) break;
      double next = running.empty() ? timed.top().first : running.top().first;
      if (!timed.empty()) next = std::min(next, timed.top().first);
      now = next;
      while (!running.empty() && running.top().first <= now) {
        uint32_t t = running.top().second;
        running.pop();
        if (!trace.attempts[t].back().ok) {
          timed.emplace(now + s.backoff_s * std::pow(2, failed[t]), t);
          ++failed[t];
          continue;
        }
        for (uint32_t d : dependents[t]) {
          if (s.tasks[d].phase == p && --pending[d] == 0) ready.emplace(priority[d], d);
        }
      }
    }
    trace.phase_end[p] = now;
  }
  trace.end = now;
  return trace;
}

// What state.db holds at `at`, as the estimator's input; and the weighted progress then.
EtaInput StateAt(const Scenario& s, const Trace& trace, double at, const Trace* history,
                 double* progress) {
  EtaInput in;
  in.jobs = s.jobs;
  const auto n = static_cast<uint32_t>(s.tasks.size());
  std::vector<uint32_t> index(n, UINT32_MAX);
  std::vector<int> succeeded(s.weights.size(), 0), total(s.weights.size(), 0);
  for (uint32_t t = 0; t < n; ++t) {
    const SimTask& task = s.tasks[t];
    if (s.tasks_from[task.phase] && trace.phase_start[task.phase] > at) continue;  // unknown
    index[t] = static_cast<uint32_t>(in.tasks.size());
    EtaTask& e = in.tasks.emplace_back();
    e.phase = task.phase;
    e.effort = task.effort;
    e.kind = task.kind;
    if (history != nullptr) {
      for (const Attempt& a : history->attempts[t]) {
        if (a.ok) e.history = a.end - a.start;
      }
    }
    ++total[task.phase];
    e.state = EtaTask::State::kWaiting;
    for (size_t k = 0; k < trace.attempts[t].size(); ++k) {
      const Attempt& a = trace.attempts[t][k];
      if (a.start > at) break;
      if (a.end > at) {
        e.state = EtaTask::State::kRunning;
        e.elapsed = at - a.start;
        break;
      }
      ++in.attempts_ended;
      if (a.ok) {
        e.state = EtaTask::State::kSucceeded;
        e.seconds = a.end - a.start;
        ++succeeded[task.phase];
        break;
      }
      ++in.attempts_failed;
      double due = a.end + s.backoff_s * std::pow(2, static_cast<double>(k));
      e.state = due > at ? EtaTask::State::kRetryWait : EtaTask::State::kWaiting;
      e.wait_s = std::max(0.0, due - at);
    }
  }
  for (uint32_t t = 0; t < n; ++t) {
    if (index[t] == UINT32_MAX) continue;
    for (uint32_t d : s.tasks[t].deps) {
      if (index[d] != UINT32_MAX) in.tasks[index[t]].deps.push_back(index[d]);
    }
  }
  double ended_weight = 0, ended_seconds = 0;
  for (size_t p = 0; p < s.weights.size(); ++p) {
    if (trace.phase_end[p] <= at) {
      ended_weight += s.weights[p];
      ended_seconds += trace.phase_end[p] - trace.phase_start[p];
    }
    if (s.tasks_from[p] && trace.phase_start[p] > at) {
      in.unexpanded = true;
      if (history != nullptr) {
        double took = history->phase_end[p] - history->phase_start[p];
        in.unexpanded_history = std::max(in.unexpanded_history, 0.0) + took;
      } else {
        in.unexpanded_weight += s.weights[p];
      }
    }
  }
  if (ended_weight > 0) in.seconds_per_weight = ended_seconds / ended_weight;
  double weighted = 0, weights = 0;
  for (size_t p = 0; p < s.weights.size(); ++p) {
    weights += s.weights[p];
    if (trace.phase_end[p] <= at) {
      weighted += s.weights[p];  // its gate passed
    } else if (total[p] > 0) {
      weighted += s.weights[p] * succeeded[p] / total[p];
    }
  }
  *progress = weights > 0 ? weighted / weights : 0;
  return in;
}

double Lognormal(std::mt19937_64& rng, double sigma) {
  std::normal_distribution<double> normal(0, sigma);
  return std::exp(normal(rng));
}

// Lua 5.4's build as its makefile runs it: each .c compiled (a time from its size in lines,
// about 0.6 ms per line at -O2, plus 50 ms), liblua.a archived, lua and luac linked. Efforts are
// all 1, as one would write them. Modelled, not measured: no compiler timings were recorded.
Scenario Lua(std::mt19937_64& rng, double noise) {
  struct Source {
    const char* name;
    int lines;
  };
  static const Source kLib[] = {
      {"lapi", 1463},    {"lauxlib", 1112}, {"lbaselib", 549}, {"lcode", 1871},  {"lcorolib", 210},
      {"lctype", 64},    {"ldblib", 483},   {"ldebug", 924},   {"ldo", 1024},    {"ldump", 230},
      {"lfunc", 294},    {"lgc", 1739},     {"linit", 65},     {"liolib", 828},  {"llex", 581},
      {"lmathlib", 764}, {"lmem", 215},     {"loadlib", 767},  {"lobject", 602}, {"lopcodes", 104},
      {"loslib", 432},   {"lparser", 1967}, {"lstate", 445},   {"lstring", 273}, {"lstrlib", 1874},
      {"ltable", 980},   {"ltablib", 429},  {"ltm", 271},      {"lundump", 335}, {"lutf8lib", 291},
      {"lvm", 1901},     {"lzio", 68}};
  Scenario s;
  s.name = "lua";
  s.jobs = 4;
  s.weights = {100};
  s.tasks_from = {false};
  auto compile = [&](int lines) {
    SimTask t;
    t.seconds = (0.05 + 0.0006 * lines) * Lognormal(rng, noise);
    s.tasks.push_back(t);
  };
  for (const Source& src : kLib) compile(src.lines);
  SimTask ar;
  ar.seconds = 0.05 * Lognormal(rng, noise);
  for (uint32_t i = 0; i < std::size(kLib); ++i) ar.deps.push_back(i);
  s.tasks.push_back(ar);
  auto lib = static_cast<uint32_t>(s.tasks.size() - 1);
  for (int lines : {679, 723}) {  // lua.c, luac.c
    compile(lines);
    SimTask link;
    link.seconds = 0.1 * Lognormal(rng, noise);
    link.deps = {lib, static_cast<uint32_t>(s.tasks.size() - 1)};
    s.tasks.push_back(link);
  }
  return s;
}

// 300 tasks in 17 layers, each on up to 3 of the layer before; durations log-normal (sigma 1:
// a few tasks take ten times the median); efforts a rough guess of them (1 to 10).
Scenario Skewed(std::mt19937_64& shape, std::mt19937_64& rng, double noise) {
  Scenario s;
  s.name = "skewed";
  s.jobs = 8;
  s.weights = {100};
  s.tasks_from = {false};
  const int n = 300, width = 17;
  for (int i = 0; i < n; ++i) {
    SimTask t;
    double base = 10 * Lognormal(shape, 1.0);
    t.effort = std::clamp(std::round(base / 10 * Lognormal(shape, 0.5)), 1.0, 10.0);
    if (i >= width) {
      int layer_start = (i / width - 1) * width;
      for (int k = 0; k < 3; ++k) {
        auto d = static_cast<uint32_t>(layer_start + static_cast<int>(shape() % width));
        if (std::find(t.deps.begin(), t.deps.end(), d) == t.deps.end()) t.deps.push_back(d);
      }
    }
    t.seconds = base * Lognormal(rng, noise);
    t.failures = std::uniform_real_distribution<double>(0, 1)(rng) < 0.05 ? 1 : 0;
    s.tasks.push_back(t);
  }
  s.backoff_s = 5;
  return s;
}

// A KIRO milestone as `mex init` writes it: design (four agent tasks, weight 15), spec (one,
// 25), task (the breakdown, one, 20), then execute (weight 40), whose 15 tasks come from the
// breakdown's artifact (tasks_from), with deps among them and efforts a rough guess of their
// time. Agent tasks run minutes and vary a lot between runs; a quarter of the attempts fail once
// (8% twice) and wait a 30 s backoff, doubled each time.
Scenario Kiro(std::mt19937_64& shape, std::mt19937_64& rng, double noise) {
  Scenario s;
  s.name = "kiro";
  s.jobs = 3;
  s.weights = {15, 25, 20, 40};
  s.tasks_from = {false, false, false, true};
  std::uniform_real_distribution<double> u(0, 1);
  auto agent = [&](uint32_t phase, double base, double effort) {
    SimTask t;
    t.phase = phase;
    t.kind = 1;
    t.effort = effort;
    t.seconds = base * Lognormal(rng, noise);
    double r = u(rng);
    t.failures = r < 0.08 ? 2 : r < 0.25 ? 1 : 0;
    return t;
  };
  for (int i = 0; i < 4; ++i) s.tasks.push_back(agent(0, 120 * Lognormal(shape, 0.3), 1));
  s.tasks.push_back(agent(1, 300, 1));
  s.tasks.push_back(agent(2, 180, 1));
  const uint32_t first = 6;
  for (uint32_t i = 0; i < 15; ++i) {
    double base = 300 * Lognormal(shape, 0.6);
    double effort = std::clamp(std::round(base / 150 * Lognormal(shape, 0.4)), 1.0, 5.0);
    SimTask t = agent(3, base, effort);
    for (int k = 0; k < 2 && i > 0; ++k) {
      if (shape() % 2 == 0) continue;
      auto d = static_cast<uint32_t>(first + shape() % i);
      if (std::find(t.deps.begin(), t.deps.end(), d) == t.deps.end()) t.deps.push_back(d);
    }
    s.tasks.push_back(t);
  }
  return s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 30;
  const double kMoments[] = {0.10, 0.25, 0.50, 0.75, 0.90};
  struct Case {
    const char* name;
    bool warm;
  };
  const Case kCases[] = {{"lua", false},   {"lua", true},   {"skewed", false},
                         {"skewed", true}, {"kiro", false}, {"kiro", true}};
  fmt::print(
      "median |error| / time left over {} runs per scenario (new | elapsed/fraction | "
      "old effort rate); in range: share of moments whose time left is within the new "
      "range\n\n",
      runs);
  fmt::print("{:<14} {:>6}  {:>22}  {:>22}  {:>22}  {:>22}  {:>22}  {:>8}\n", "scenario", "", "10%",
             "25%", "50%", "75%", "90%", "in range");
  for (const Case& c : kCases) {
    std::vector<std::vector<double>> err_new(5), err_ef(5), err_old(5);
    int inside = 0, moments = 0;
    for (int r = 0; r < runs; ++r) {
      // The DAG's shape and efforts are one seed per run; each of the two runs (the earlier one,
      // the history, and the one replayed) draws its own durations around them.
      auto make = [&](uint64_t seed) {
        std::mt19937_64 shape(1000 + r);
        std::mt19937_64 rng(seed);
        std::string name = c.name;
        if (name == "lua") return Lua(rng, 0.1);
        if (name == "skewed") return Skewed(shape, rng, 0.15);
        return Kiro(shape, rng, 0.25);
      };
      Scenario earlier = make(2 * r + 1);
      Scenario now = make(2 * r + 2);
      Trace history = Run(earlier, nullptr);
      Trace trace = Run(now, c.warm ? &history : nullptr);
      for (size_t m = 0; m < 5; ++m) {
        double at = kMoments[m] * trace.end;
        double left = trace.end - at;
        double progress = 0;
        EtaInput in = StateAt(now, trace, at, c.warm ? &history : nullptr, &progress);
        mex::Eta eta = mex::EstimateEta(in);
        double estimate = eta.known ? eta.seconds : 0;
        err_new[m].push_back(std::abs(estimate - left) / left);
        if (eta.known) {
          ++moments;
          inside += left >= eta.low && left <= eta.high ? 1 : 0;
        } else {
          ++moments;
        }
        double ef = progress > 0 ? at * (1 - progress) / progress : 0;
        err_ef[m].push_back(std::abs(ef - left) / left);
        double remaining_effort = 0, seconds = 0, effort = 0;
        for (const EtaTask& t : in.tasks) {
          if (t.state == EtaTask::State::kSucceeded) {
            seconds += t.seconds;
            effort += t.effort;
          } else if (t.state != EtaTask::State::kOver) {
            remaining_effort += t.effort;
          }
        }
        double old = mex::EffortRateEta(remaining_effort, seconds, effort, in.jobs);
        err_old[m].push_back(std::abs(std::max(old, 0.0) - left) / left);
      }
    }
    std::string name = fmt::format("{} {}", c.name, c.warm ? "warm" : "cold");
    fmt::print("{:<14} {:>6}", name, "");
    for (size_t m = 0; m < 5; ++m) {
      fmt::print("  {:>6.0f}% |{:>5.0f}% |{:>5.0f}%", 100 * Median(err_new[m]),
                 100 * Median(err_ef[m]), 100 * Median(err_old[m]));
    }
    fmt::print("  {:>7.0f}%\n", moments > 0 ? 100.0 * inside / moments : 0.0);
  }
  fmt::print(
      "\nAn estimate that is unknown (no evidence yet) counts as 0 s left (error 100%), as does "
      "elapsed/fraction at 0% progress.\n");
  return 0;
}
