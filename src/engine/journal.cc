#include "engine/journal.h"

#include "util/clock.h"

namespace mex {

void Journal::Emit(Event event) {
  event.time = WallClockSeconds();
  event.run = run_id_;
  store_->Append(event);
  undelivered_.push_back(std::move(event));
}

bool Journal::Commit() {
  if (!failed_ && !store_->Commit()) failed_ = true;
  return !failed_;
}

void Journal::Deliver() {
  for (const Event& event : undelivered_) sink_->OnEvent(event);
  undelivered_.clear();
}

}  // namespace mex
