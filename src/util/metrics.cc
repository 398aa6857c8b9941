#include "util/metrics.h"

#include <cstdio>
#include <cstring>

namespace mex {

Metrics& Metrics::Get() {
  static Metrics metrics;
  return metrics;
}

void Metrics::Add(const char* name, std::chrono::nanoseconds elapsed) {
  for (Metric& m : metrics_) {
    if (std::strcmp(m.name, name) == 0) {
      ++m.count;
      m.total += elapsed;
      return;
    }
  }
  metrics_.push_back({name, 1, elapsed});
}

void Metrics::Report() const {
  fprintf(stderr, "%-24s %8s %12s\n", "metric", "count", "total (ms)");
  for (const Metric& m : metrics_) {
    fprintf(stderr, "%-24s %8d %12.1f\n", m.name, m.count,
            std::chrono::duration<double, std::milli>(m.total).count());
  }
}

}  // namespace mex
