#include "engine/journal.h"

#include "util/clock.h"

namespace mex {

void Journal::Emit(Event event) {
  event.time = WallClockSeconds();
  event.run = run_id_;
  if (!failed_) store_->Append(event);
  undelivered_.push_back(std::move(event));
  if (failed_) committed_ = undelivered_.size();
}

bool Journal::Commit() {
  if (failed_) return false;
  if (!store_->Commit()) {
    failed_ = true;
    undelivered_.erase(undelivered_.begin() + static_cast<long>(committed_), undelivered_.end());
    return false;
  }
  committed_ = undelivered_.size();
  return true;
}

void Journal::Deliver() {
  if (committed_ == 0) return;
  for (size_t i = 0; i < committed_; ++i) sink_->OnEvent(undelivered_[i]);
  sink_->Flush();
  undelivered_.erase(undelivered_.begin(), undelivered_.begin() + static_cast<long>(committed_));
  committed_ = 0;
}

}  // namespace mex
