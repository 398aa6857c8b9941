#include "store/state_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "tests/test_util.h"

namespace mex {
namespace {

using testing_util::TempDir;

// Takes the lock of `dir` in a child that then starts a grandchild holding the same open folder
// (as an engine's child holds its descriptors until its exec) and exits at once: the lock's
// taker is gone, the grandchild keeps it for `hold_ms`. Returns the grandchild's pid.
pid_t LockHeldByAnOrphan(const std::string& dir, int hold_ms) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  pid_t taker = fork();
  if (taker == 0) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) _exit(1);
    pid_t holder = fork();
    if (holder == 0) {
      usleep(static_cast<useconds_t>(hold_ms) * 1000);
      _exit(0);
    }
    if (write(pipe_fds[1], &holder, sizeof holder) != sizeof holder) _exit(1);
    _exit(0);
  }
  close(pipe_fds[1]);
  pid_t holder = -1;
  if (read(pipe_fds[0], &holder, sizeof holder) != sizeof holder) holder = -1;
  close(pipe_fds[0]);
  int status = 0;
  waitpid(taker, &status, 0);  // the taker is gone
  return holder;
}

std::shared_ptr<const Folder> OpenFolder(const std::string& path) {
  auto folder = std::make_shared<Folder>();
  std::string err;
  EXPECT_TRUE(Folder::Open(path, false, folder.get(), &err)) << err;
  return folder;
}

TEST(StateLockTest, ALockLeftToTheChildOfAGoneEngineIsWaitedFor) {
  TempDir dir;
  pid_t holder = LockHeldByAnOrphan(dir.path().string(), 200);
  ASSERT_GT(holder, 0);
  StateLock lock;
  std::string err;
  EXPECT_TRUE(lock.Acquire(OpenFolder(dir.path().string()), &err)) << err;
}

TEST(StateLockTest, ALockKeptLongerThanASecondIsAnotherRun) {
  TempDir dir;
  pid_t holder = LockHeldByAnOrphan(dir.path().string(), 30000);
  ASSERT_GT(holder, 0);
  StateLock lock;
  std::string err;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(lock.Acquire(OpenFolder(dir.path().string()), &err));
  EXPECT_NE(err.find("another mex run"), std::string::npos) << err;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  kill(holder, SIGKILL);
}

TEST(StateLockTest, ALiveHolderFailsAtOnce) {
  TempDir dir;
  StateLock first, second;
  std::string err;
  ASSERT_TRUE(first.Acquire(OpenFolder(dir.path().string()), &err)) << err;
  EXPECT_FALSE(second.Acquire(OpenFolder(dir.path().string()), &err));
  EXPECT_NE(err.find(fmt::format("(pid {})", getpid())), std::string::npos) << err;
}

}  // namespace
}  // namespace mex
