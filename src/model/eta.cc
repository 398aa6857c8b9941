#include "model/eta.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

#include "model/critical_path.h"

namespace mex {

namespace {

using State = EtaTask::State;

// A kind's own rate counts as this many tasks' worth of evidence toward the rate over all kinds:
// with one task of a kind seen its rate is a quarter its own, with 9 three quarters.
constexpr double kPriorWeight = 3;
// A task running past its expected duration is expected to run a third of its time so far
// again (a long tail: the longer it ran, the longer it may still run). Below that, what is left
// of its expected duration, and never less than this share of what it ran.
constexpr double kOverdueShare = 1.0 / 3;
// A failure rate above this counts as this: each task still to run is expected to need at most
// 1.5 attempts' time.
constexpr double kMaxFailureRate = 0.5;
// The range while there are fewer than kThinEvidence ratios: at least x0.67 to x1.5.
constexpr size_t kThinEvidence = 5;
constexpr double kThinLow = 0.67, kThinHigh = 1.5;

bool Remains(State s) {
  return s == State::kRunning || s == State::kRetryWait || s == State::kWaiting;
}

// Each task's expected duration (seconds, < 0 when unknown) and what the range needs.
struct Expected {
  std::vector<double> seconds;
  bool known = true;
  bool used_history = false, used_rate = false;
  double retry_factor = 1;
  std::vector<double> ratios;  // succeeded tasks: their seconds over their expected duration
};

struct Evidence {
  double seconds = 0, effort = 0;
  int count = 0;
  void Add(double s, double e) {
    seconds += s;
    effort += e;
    ++count;
  }
  double Rate() const { return effort > 0 ? seconds / effort : -1; }
};

// The rates of `evidence` by kind, shrunk toward the rate over all of them; the global one when
// a kind has none. Negative when there is no rate at all.
std::vector<double> KindRates(const std::vector<Evidence>& by_kind, double global) {
  std::vector<double> rates(by_kind.size(), global);
  if (global < 0) return rates;
  for (size_t k = 0; k < by_kind.size(); ++k) {
    const Evidence& e = by_kind[k];
    if (e.effort <= 0) continue;
    rates[k] = (e.count * e.Rate() + kPriorWeight * global) / (e.count + kPriorWeight);
  }
  return rates;
}

Expected Expect(const EtaInput& in) {
  Expected x;
  const std::vector<EtaTask>& tasks = in.tasks;
  uint32_t kinds = 0;
  for (const EtaTask& t : tasks) kinds = std::max(kinds, t.kind + 1);
  std::vector<Evidence> by_kind(kinds);
  Evidence all, history;
  for (const EtaTask& t : tasks) {
    if (t.history >= 0 && t.effort > 0) history.Add(t.history, t.effort);
    if (t.state != State::kSucceeded || t.seconds < 0 || t.effort <= 0) continue;
    by_kind[t.kind].Add(t.seconds, t.effort);
    all.Add(t.seconds, t.effort);
  }
  // Before anything succeeded, the tasks with a history give the rate.
  double global = all.effort > 0 ? all.Rate() : history.Rate();
  bool rate_from_history = all.effort <= 0;
  std::vector<double> rates = KindRates(by_kind, global);
  // A task running without a history for longer than its kind's rate says is evidence that the
  // rate is higher: its time so far counts as a duration (a lower bound) of its kind.
  bool overdue = false;
  for (const EtaTask& t : tasks) {
    if (t.state != State::kRunning || t.queued || t.history >= 0 || t.effort <= 0 || global < 0) {
      continue;
    }
    if (t.elapsed > t.effort * rates[t.kind]) {
      by_kind[t.kind].Add(t.elapsed, t.effort);
      all.Add(t.elapsed, t.effort);
      overdue = true;
    }
  }
  if (overdue) {
    global = all.Rate();
    rates = KindRates(by_kind, global);
  }
  x.seconds.assign(tasks.size(), -1);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const EtaTask& t = tasks[i];
    double rate_guess = global >= 0 ? t.effort * rates[t.kind] : -1;
    if (t.state == State::kSucceeded && t.seconds > 0) {
      double expected = t.history > 0 ? t.history : rate_guess;
      if (expected > 0) x.ratios.push_back(t.seconds / expected);
    }
    if (!Remains(t.state)) continue;
    if (t.history >= 0) {
      x.seconds[i] = t.history;
      x.used_history = true;
    } else if (rate_guess >= 0) {
      x.seconds[i] = rate_guess;
      (rate_from_history ? x.used_history : x.used_rate) = true;
    } else {
      x.known = false;
    }
  }
  // No evidence at all: nothing succeeded, and nothing that remains has a history.
  if (global < 0 && !x.used_history) x.known = false;
  if (in.attempts_ended > 0) {
    double f = static_cast<double>(in.attempts_failed) / in.attempts_ended;
    x.retry_factor = 1 + std::min(f, kMaxFailureRate);
  }
  return x;
}

// What the schedule of what remains needs besides durations, the same for every `scale`: the
// tasks' dependents, how many deps each waits for, which will be skipped, their priorities, and
// what remains of each phase.
struct Remaining {
  std::vector<std::vector<uint32_t>> dependents;  // of every task, whatever its state
  std::vector<uint32_t> pending;
  std::vector<char> doomed;  // a dep failed, or is doomed: it will be skipped
  std::vector<double> priority;
  std::vector<std::vector<uint32_t>> by_phase;
};

Remaining Plan(const EtaInput& in) {
  const std::vector<EtaTask>& tasks = in.tasks;
  const auto n = static_cast<uint32_t>(tasks.size());
  Remaining r;
  r.dependents.resize(n);
  r.pending.assign(n, 0);
  r.doomed.assign(n, 0);
  // What each remaining task waits for in its phase (phases are barriers), and whether it will be
  // skipped.
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t d : tasks[t].deps) {
      if (d >= n || d == t) continue;
      r.dependents[d].push_back(t);
      if (!Remains(tasks[t].state)) continue;
      if (tasks[d].state == State::kOver) r.doomed[t] = 1;
      if (Remains(tasks[d].state) && tasks[d].phase == tasks[t].phase) ++r.pending[t];
    }
  }
  // Priority: the task runner's, computed as it computes it (model/critical_path.h) over every
  // task of the run, by the seconds of its history (HistoryDurations), else by effort: the
  // schedule simulated is the one the run will follow.
  std::vector<double> effort(n), history(n);
  std::vector<uint32_t> phase(n);
  for (uint32_t t = 0; t < n; ++t) {
    effort[t] = tasks[t].effort;
    history[t] = tasks[t].history;
    phase[t] = tasks[t].phase;
  }
  std::vector<double> weight = HistoryDurations(effort, history);
  if (weight.empty()) weight = std::move(effort);
  r.priority = RemainingCriticalPath(
      weight, phase, [&r](uint32_t t) -> const std::vector<uint32_t>& { return r.dependents[t]; });
  for (uint32_t t = 0; t < n; ++t) {
    if (!Remains(tasks[t].state)) continue;
    if (r.by_phase.size() <= tasks[t].phase) r.by_phase.resize(tasks[t].phase + 1);
    r.by_phase[tasks[t].phase].push_back(t);
  }
  return r;
}

// The list schedule of what remains (`r`) with each expected duration times `scale`: the seconds
// until the last task ends.
double Simulate(const EtaInput& in, const Expected& x, const Remaining& r, double scale) {
  const std::vector<EtaTask>& tasks = in.tasks;
  const auto n = static_cast<uint32_t>(tasks.size());
  const auto slots = static_cast<size_t>(std::max(in.jobs, 1));
  // How long each task still takes from when it starts (a running one: from now).
  std::vector<double> duration(n, 0);
  for (uint32_t t = 0; t < n; ++t) {
    if (!Remains(tasks[t].state)) continue;
    const EtaTask& task = tasks[t];
    double d = x.seconds[t] * scale;
    // A retry waits in the queue again.
    double retries = (x.retry_factor - 1) * (task.queue_s + d);
    double e = task.elapsed;
    if (task.state == State::kRunning && task.queued) {
      // Not started: what is left of its wait (a wait longer than the mean goes on a share of
      // it, as an overdue run does), then all of its run.
      duration[t] = std::max(task.queue_s - e, kOverdueShare * e) + d + retries;
    } else if (task.state == State::kRunning) {
      duration[t] = std::max(d - e, kOverdueShare * e) + retries;
    } else {
      duration[t] = task.queue_s + d + retries;
    }
  }
  const std::vector<std::vector<uint32_t>>& dependents = r.dependents;
  const std::vector<double>& priority = r.priority;
  std::vector<uint32_t> pending = r.pending;  // counted down as deps end
  std::vector<char> doomed = r.doomed;        // spreads as doomed tasks end
  using Entry = std::pair<double, uint32_t>;
  // Ready: longest remaining critical path first, then file order.
  auto later = [](const Entry& a, const Entry& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  };
  double start = 0;
  for (const std::vector<uint32_t>& phase : r.by_phase) {
    std::priority_queue<Entry, std::vector<Entry>, decltype(later)> ready(later);
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> timed;    // release, task
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> running;  // finish, task
    std::vector<uint32_t> instant;  // doomed tasks released: over at once, without a slot
    double now = start;
    auto release = [&](uint32_t t) {
      if (doomed[t] != 0) {
        instant.push_back(t);
      } else if (tasks[t].state == State::kRunning) {
        running.emplace(now + duration[t], t);
      } else if (tasks[t].state == State::kRetryWait && tasks[t].wait_s > 0) {
        timed.emplace(std::max(now, tasks[t].wait_s), t);
      } else {
        ready.emplace(priority[t], t);
      }
    };
    auto finish = [&](uint32_t t) {
      for (uint32_t d : dependents[t]) {
        if (!Remains(tasks[d].state)) continue;
        if (doomed[t] != 0) doomed[d] = 1;
        if (tasks[d].phase == tasks[t].phase && --pending[d] == 0) release(d);
      }
    };
    auto drain = [&] {
      while (!instant.empty()) {
        uint32_t t = instant.back();
        instant.pop_back();
        finish(t);
      }
    };
    for (uint32_t t : phase) {
      if (pending[t] == 0) release(t);
    }
    drain();
    for (;;) {
      while (!timed.empty() && timed.top().first <= now) {
        ready.emplace(priority[timed.top().second], timed.top().second);
        timed.pop();
      }
      while (running.size() < slots && !ready.empty()) {
        uint32_t t = ready.top().second;
        ready.pop();
        running.emplace(now + duration[t], t);
      }
      if (running.empty() && timed.empty()) break;
      double next = running.empty() ? timed.top().first : running.top().first;
      if (!timed.empty()) next = std::min(next, timed.top().first);
      now = next;
      while (!running.empty() && running.top().first <= now) {
        uint32_t t = running.top().second;
        running.pop();
        finish(t);
        drain();
      }
    }
    start = std::max(start, now);
  }
  return start;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  double at = p * static_cast<double>(values.size() - 1);
  auto below = static_cast<size_t>(at);
  if (below + 1 >= values.size()) return values.back();
  return values[below] + (at - static_cast<double>(below)) * (values[below + 1] - values[below]);
}

}  // namespace

double SimulateEta(const EtaInput& input, double scale) {
  Expected x = Expect(input);
  if (!x.known) return -1;
  return Simulate(input, x, Plan(input), scale);
}

std::vector<double> HistoryDurations(const std::vector<double>& effort,
                                     const std::vector<double>& history) {
  Evidence seen;
  for (size_t t = 0; t < history.size() && t < effort.size(); ++t) {
    if (history[t] >= 0 && effort[t] > 0) seen.Add(history[t], effort[t]);
  }
  if (seen.effort <= 0) return {};
  std::vector<double> seconds(effort.size());
  for (size_t t = 0; t < effort.size(); ++t) {
    seconds[t] = t < history.size() && history[t] >= 0 ? history[t] : effort[t] * seen.Rate();
  }
  return seconds;
}

Eta EstimateEta(const EtaInput& input) {
  Eta eta;
  eta.provisional = input.unexpanded;
  Expected x = Expect(input);
  if (!x.known) return eta;
  eta.known = true;
  eta.basis = x.used_history && x.used_rate ? "history and this run"
              : x.used_history              ? "history"
                                            : "this run";
  double low = kThinLow, high = kThinHigh;
  if (!x.ratios.empty()) {
    low = std::min(Percentile(x.ratios, 0.2), 1.0);
    high = std::max(Percentile(x.ratios, 0.8), 1.0);
    if (x.ratios.size() < kThinEvidence) {
      low = std::min(low, kThinLow);
      high = std::max(high, kThinHigh);
    }
  }
  double extra = std::max(input.unexpanded_history, 0.0);
  if (input.seconds_per_weight > 0) extra += input.unexpanded_weight * input.seconds_per_weight;
  const Remaining remaining = Plan(input);
  eta.seconds = Simulate(input, x, remaining, 1) + extra;
  eta.low = std::min(Simulate(input, x, remaining, low) + extra, eta.seconds);
  eta.high = std::max(Simulate(input, x, remaining, high) + extra, eta.seconds);
  return eta;
}

double EffortRateEta(double remaining_effort, double succeeded_seconds, double succeeded_effort,
                     int jobs) {
  if (succeeded_effort <= 0) return -1;
  return remaining_effort * (succeeded_seconds / succeeded_effort) / std::max(jobs, 1);
}

}  // namespace mex
