#include "util/clock.h"

#include <time.h>

namespace mex {
namespace {

double ClockSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

ClockFunction test_wall = nullptr;
ClockFunction test_monotonic = nullptr;

}  // namespace

double WallClockSeconds() {
  return test_wall != nullptr ? test_wall() : ClockSeconds(CLOCK_REALTIME);
}
double MonotonicSeconds() {
  return test_monotonic != nullptr ? test_monotonic() : ClockSeconds(CLOCK_MONOTONIC);
}
void SetClocksForTesting(ClockFunction wall, ClockFunction monotonic) {
  test_wall = wall;
  test_monotonic = monotonic;
}

}  // namespace mex
