#include "exec/placing_executor.h"

#include <algorithm>

namespace mex {

ProcessRef PlacingExecutor::Start(const AttemptSpec& spec) {
  if (cluster_ == nullptr || spec.placement == Placement::kLocal) return local_->Start(spec);
  on_cluster_.push_back(spec.key);
  return cluster_->Start(spec);
}

WaitResult PlacingExecutor::Wait(double timeout_s) {
  // The cluster's Wait sleeps in the local one's between its poll rounds.
  WaitResult result = cluster_ != nullptr && cluster_->running() > 0 ? cluster_->Wait(timeout_s)
                                                                     : local_->Wait(timeout_s);
  for (const AttemptEnd& end : result.ended) std::erase(on_cluster_, end.key);
  return result;
}

void PlacingExecutor::Cancel(uint64_t key) {
  if (std::find(on_cluster_.begin(), on_cluster_.end(), key) != on_cluster_.end()) {
    cluster_->Cancel(key);
  } else {
    local_->Cancel(key);
  }
}

void PlacingExecutor::CancelAll() {
  local_->CancelAll();
  if (cluster_ != nullptr) cluster_->CancelAll();
}

void PlacingExecutor::KillAll() {
  local_->KillAll();
  if (cluster_ != nullptr) cluster_->KillAll();
}

size_t PlacingExecutor::running() const {
  return local_->running() + (cluster_ != nullptr ? cluster_->running() : 0);
}

ProcessRef PlacingExecutor::Adopt(const ProcessRef& ref, const AttemptSpec& spec) {
  const bool job = ref.is_job() || (ref.empty() && spec.placement == Placement::kCluster);
  if (!job) return local_->Adopt(ref, spec);
  if (cluster_ == nullptr) return {};
  ProcessRef followed = cluster_->Adopt(ref, spec);
  if (!followed.empty()) on_cluster_.push_back(spec.key);
  return followed;
}

int PlacingExecutor::EndLeftovers(const std::vector<ProcessRef>& leftovers, double grace_s) {
  // One never recorded (empty) may be of either.
  std::vector<ProcessRef> processes, jobs;
  for (const ProcessRef& ref : leftovers) {
    if (!ref.is_job()) processes.push_back(ref);
    if (ref.is_job() || ref.empty()) jobs.push_back(ref);
  }
  int ended = local_->EndLeftovers(processes, grace_s);
  if (cluster_ != nullptr) ended += cluster_->EndLeftovers(jobs, grace_s);
  return ended;
}

}  // namespace mex
