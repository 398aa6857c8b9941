// The time left of a run as `mex status` (store/status.cc) and the live view (report/live.h)
// estimate it: the seconds per unit of effort that the succeeded attempts took, times the effort
// of the tasks not yet over, over the slots.
#pragma once

#include <algorithm>

namespace mex {

// Seconds left; negative when there is no estimate yet (nothing with effort succeeded).
inline double EtaSeconds(double remaining_effort, double succeeded_seconds, double succeeded_effort,
                         int jobs) {
  if (succeeded_effort <= 0) return -1;
  return remaining_effort * (succeeded_seconds / succeeded_effort) / std::max(jobs, 1);
}

}  // namespace mex
