// Runs the git CLI for mex's own plumbing (worktrees.h): argv only, never a shell; the user's
// hooks off (core.hooksPath=/dev/null); no prompt for credentials; messages in English, so that
// what mex quotes of them reads the same everywhere; GIT_DIR and the like of mex's environment
// dropped, so that the repository is the one given.
#pragma once

#include <string>
#include <vector>

namespace mex {

struct GitResult {
  int exit_code = -1;  // -1: git could not be started or was killed
  std::string out;     // its standard output
  std::string err;     // its standard error, or why it could not be started

  bool ok() const { return exit_code == 0; }
  // The first line of standard output, without its newline.
  std::string Line() const;
  // One line for a person: "git worktree add: fatal: ..." (the command's first words and the
  // last line git wrote to standard error).
  std::string Describe(const std::vector<std::string>& args) const;
};

// Runs `git -C dir ARGS...`, `extra_env` ("NAME=value") added to the environment, and waits.
GitResult RunGit(const std::string& dir, const std::vector<std::string>& args,
                 const std::vector<std::string>& extra_env = {});

}  // namespace mex
