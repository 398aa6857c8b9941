// Sends each attempt to the executor its placement names (AttemptSpec::placement): this machine
// or the cluster. Keys stay the caller's; the engine sees one executor.
#pragma once

#include "engine/executor.h"

namespace mex {

class PlacingExecutor : public Executor {
 public:
  // `cluster` may be null: then every attempt runs locally. `cluster` waits through `local`
  // (SlurmExecutor's waiter), so that one Wait serves both.
  PlacingExecutor(Executor* local, Executor* cluster) : local_(local), cluster_(cluster) {}

  ProcessRef Start(const AttemptSpec& spec) override;
  WaitResult Wait(double timeout_s) override;
  void Cancel(uint64_t key) override;
  void CancelAll() override;
  void KillAll() override;
  size_t running() const override;
  // A job's ref (ProcessRef::is_job) to the cluster, the others to the local executor; an
  // unrecorded one (empty) by the spec's placement.
  ProcessRef Adopt(const ProcessRef& ref, const AttemptSpec& spec) override;
  // A job's ref (ProcessRef::is_job) to the cluster, the others to the local executor.
  int EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) override;

 private:
  Executor* local_;
  Executor* cluster_;
  std::vector<uint64_t> on_cluster_;  // keys of the attempts started on the cluster
};

}  // namespace mex
