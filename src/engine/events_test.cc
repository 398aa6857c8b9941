// The events as `mex run --json` prints them and state.db stores them (docs/events.md).
#include "engine/events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mex {
namespace {

// A task_queued event says where its attempt is as a field of its own, beside the reason for a
// person; queued_s only once it runs.
TEST(EventsTest, TaskQueuedCarriesItsQueueState) {
  Event e(EventKind::kTaskQueued);
  e.run = "r1";
  e.task = "t";
  e.attempt = 1;
  e.max_attempts = 3;
  e.reason = "pending (Priority)";
  e.queue_state = QueueState::kPending;
  nlohmann::ordered_json j = EventToJson(e);
  EXPECT_EQ(j["reason"], "pending (Priority)");
  EXPECT_EQ(j["queue_state"], "pending");
  EXPECT_FALSE(j.contains("queued_s"));
  e.reason = "waiting to submit (QOSMaxSubmitJobPerUserLimit)";
  e.queue_state = QueueState::kSubmitWait;
  EXPECT_EQ(EventToJson(e)["queue_state"], "submit_wait");
  e.reason = "state unknown (sacct: Connection refused)";
  e.queue_state = QueueState::kUnknown;
  EXPECT_EQ(EventToJson(e)["queue_state"], "unknown");
  e.reason = "running";
  e.queue_state = QueueState::kRunning;
  e.elapsed_s = 12.5;
  j = EventToJson(e);
  EXPECT_EQ(j["queue_state"], "running");
  EXPECT_EQ(j["queued_s"], 12.5);
}

// Read back from state.db: the field when there is one; an event of a mex before it says the
// same by its reason's start.
TEST(EventsTest, QueueStateOfStoredEventsOldAndNew) {
  for (QueueState state : {QueueState::kPending, QueueState::kSubmitWait, QueueState::kUnknown,
                           QueueState::kRunning}) {
    EXPECT_EQ(QueueStateOf(QueueStateName(state), "whatever the reason"), state);
  }
  EXPECT_EQ(QueueStateOf("pending", "state unknown (squeue: x)"), QueueState::kPending);
  EXPECT_EQ(QueueStateOf("from a later mex", "pending (Priority)"), QueueState::kUnknown);
  // Older events: the reason alone.
  EXPECT_EQ(QueueStateOf("", "pending (Resources)"), QueueState::kPending);
  EXPECT_EQ(QueueStateOf("", "waiting to submit (sbatch timed out)"), QueueState::kSubmitWait);
  EXPECT_EQ(QueueStateOf("", "state unknown (squeue: Socket timed out)"), QueueState::kUnknown);
  EXPECT_EQ(QueueStateOf("", "running"), QueueState::kRunning);
}

}  // namespace
}  // namespace mex
