// How much of a phase is done, for the weighted progress of `mex run`, `mex status` and the
// reports (SPEC §5): the engine and the store compute it from the same rule.
#pragma once

namespace mex {

// A phase whose gate passed is done. Until then its gate is its last piece of work: each of its
// `total` tasks that succeeded counts 1/(total+1) of it, so a phase (and a run) whose tasks all
// succeeded but whose gate failed never shows 100%; a task that failed or was skipped counts
// nothing. A phase without tasks (tasks_from not yet expanded) counts nothing until it passed.
inline double PhaseDone(bool passed, int succeeded, int total) {
  if (passed) return 1.0;
  if (total <= 0) return 0.0;
  return static_cast<double>(succeeded) / static_cast<double>(total + 1);
}

}  // namespace mex
