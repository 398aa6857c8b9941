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
  // first Deliver() after a Commit() made it durable. Once the store failed, events (the stop
  // and its consequences) go to the sink at the next Deliver() without it.
  void Emit(Event event);
  // Commits the store. False when it could not (disk full, I/O error), now or at an earlier
  // call: failed() is then true, error() says why, and the events of the failed transaction
  // are dropped: nothing is shown that state.db does not hold.
  bool Commit();
  // Hands the committed events to the sink.
  void Deliver();

  // The sink's clock (EventSink::TickIn, Tick): the task runner's wait ticks it.
  double TickIn() const { return sink_->TickIn(); }
  void Tick() { sink_->Tick(); }

  bool failed() const { return failed_; }
  std::string error() const { return store_->error(); }

 private:
  std::string run_id_;
  Store* store_;
  EventSink* sink_;
  bool failed_ = false;
  std::vector<Event> undelivered_;
  size_t committed_ = 0;  // undelivered_[0, committed_) are durable
};

}  // namespace mex
