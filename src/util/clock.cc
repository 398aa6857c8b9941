#include "util/clock.h"

#include <time.h>

namespace mex {
namespace {

double ClockSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

double WallClockSeconds() {
  return ClockSeconds(CLOCK_REALTIME);
}
double MonotonicSeconds() {
  return ClockSeconds(CLOCK_MONOTONIC);
}

}  // namespace mex
