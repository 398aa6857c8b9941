// How the engine records what happens: each event goes into the store at once and reaches the
// sink (the terminal, --json) only once what it reports is durable, so nothing is shown that a
// crash could take back. Shared by the task runner and the phase flow.
#pragma once

#include <string>
#include <vector>

#include "engine/events.h"
#include "engine/store.h"

namespace mex {

class Journal {
 public:
  Journal(std::string run_id, Store* store, EventSink* sink)
      : run_id_(std::move(run_id)), store_(store), sink_(sink) {}

  Store& store() { return *store_; }

  // Records `event` (stamped with the time and the run) in the store; the sink gets it at the
  // next Deliver().
  void Emit(Event event);
  // Commits the store. False when it could not (disk full, I/O error), now or at an earlier
  // call: failed() is then true and error() says why.
  bool Commit();
  // Hands the events recorded so far to the sink.
  void Deliver();

  bool failed() const { return failed_; }
  std::string error() const { return store_->error(); }

 private:
  std::string run_id_;
  Store* store_;
  EventSink* sink_;
  bool failed_ = false;
  std::vector<Event> undelivered_;
};

}  // namespace mex
