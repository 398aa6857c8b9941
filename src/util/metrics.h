// Where the time goes: named timers printed by `mex -d stats` (like Ninja's -d stats).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mex {

class Metrics {
 public:
  static Metrics& Get();
  void Enable() { enabled_ = true; }
  bool enabled() const { return enabled_; }
  void Add(const char* name, std::chrono::nanoseconds elapsed);
  // One line per timer, in the order first recorded, to stderr.
  void Report() const;

 private:
  struct Metric {
    const char* name;
    int count;
    std::chrono::nanoseconds total;
  };
  bool enabled_ = false;
  std::vector<Metric> metrics_;
};

// Adds the time from construction to destruction to the named timer, when metrics are enabled.
class ScopedMetric {
 public:
  explicit ScopedMetric(const char* name)
      : name_(Metrics::Get().enabled() ? name : nullptr),
        start_(std::chrono::steady_clock::now()) {}
  ~ScopedMetric() {
    if (name_) Metrics::Get().Add(name_, std::chrono::steady_clock::now() - start_);
  }
  ScopedMetric(const ScopedMetric&) = delete;
  ScopedMetric& operator=(const ScopedMetric&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mex
