// What the tests of mex on the local Slurm cluster share (tests/slurm/*_test.cc): the commands
// they run beside mex, waiting for an event, and the jobs of a run as squeue lists them.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace mex::slurm_test {

// This process's environment, as the commands below get it.
std::vector<std::string> Environment();
// `command` through /bin/sh.
testing_util::Result Shell(const std::string& command);
// scripts/slurm-local.sh `command` ("status", "stop-dbd", "start").
testing_util::Result Cluster(const std::string& command);
// A program in `bin` that stands in for the Slurm command `name`: `body` runs through /bin/sh
// with $REAL set to the real one. Returns a PATH with `bin` first, to run mex with.
std::string FakeCommand(const std::filesystem::path& bin, const std::string& name,
                        const std::string& body);
// A stand-in body for squeue (FakeCommand) as it answers once MinJobAge (300 s here) has passed:
// the ended jobs are gone from it, so mex must ask the accounting how they ended. Everything
// else is the real squeue's; what it gave mex is appended to "squeue.seen" beside it.
inline constexpr char kSqueueWithoutEnded[] =
    "out=$(\"$REAL\" \"$@\"); rc=$?\n"
    "printf '%s\\n' \"$out\" >> \"$0.seen\"\n"
    "[ -n \"$out\" ] && printf '%s\\n' \"$out\" | grep -Ev "
    "'^[^|]*\\|(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|"
    "DEADLINE)'\n"
    "exit $rc\n";
// A stand-in body for sacct on a cluster without slurmdbd: plain sacct fails as it does there
// ("accounting storage is disabled"), `sacct -c` reads the real completion log. Each call's
// arguments are appended to `calls`.
std::string SacctWithoutSlurmdbd(const std::filesystem::path& calls);
// Why the tests cannot run ("" when the cluster answers): the fixture slurm.up failed or did not
// run, and its output says why.
std::string ClusterNotUp();

// Whether `done()` became true within `seconds`, asked every 50 ms: a deadline, never a wait.
template <typename Predicate>
bool Eventually(Predicate done, double seconds = 90) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// The events of kind `kind` of task `task` (of any task when it is "").
std::vector<nlohmann::json> Of(const std::vector<nlohmann::json>& events, std::string_view kind,
                               std::string_view task = "");

// The ids of the queued or running jobs whose name starts with `prefix`; with `elements`, an
// array's pending elements one by one ("123_4", squeue -r).
std::vector<std::string> QueuedJobs(const std::string& prefix, bool elements = false);

}  // namespace mex::slurm_test
