// The two clocks mex reads: the wall clock for what a person reads, the monotonic one for
// deadlines and durations.
#pragma once

namespace mex {

// Seconds since the Unix epoch, for records a person reads.
double WallClockSeconds();
// Seconds on CLOCK_MONOTONIC, for deadlines that must not jump with the wall clock.
double MonotonicSeconds();

// Tests only (the simulation): replaces both clocks with virtual ones; nullptr: the real ones.
using ClockFunction = double (*)();
void SetClocksForTesting(ClockFunction wall, ClockFunction monotonic);

}  // namespace mex
