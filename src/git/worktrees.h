// Workspaces (engine/workspaces.h) as git worktrees: the run's integration branch `mex/RUN_ID`
// starts at the commit at the user's HEAD; each attempt of a `workspace: worktree` task runs in a
// worktree of its own made from the branch's head when it starts, under the run's folder; a
// succeeded attempt's changes are committed there (author mex) and merged into the branch through
// `git merge-tree` and `git commit-tree`, which touch no working tree, so that the user's tree and
// branch are never touched and a cut merge leaves nothing half done: the branch moves by one
// `git update-ref` or not at all. docs/worktrees.md.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/workspaces.h"
#include "git/git.h"

namespace mex {

class GitWorktrees : public Workspaces {
 public:
  // Opens the repository that holds `workspace` (the milestone's folder) and the integration
  // branch of run `run_id`: made at HEAD for a new run (`recorded_head` empty), else set back to
  // `recorded_head`, the last merge state.db holds (a merge made but not recorded is undone; its
  // task runs again), `recorded_base` where it started. Worktrees go beneath `worktrees_dir`. What
  // the user should know (a dirty tree, a branch set back) is added to `notes`. Null with `err`
  // when it cannot.
  static std::unique_ptr<GitWorktrees> Open(const std::string& workspace, const std::string& run_id,
                                            const std::string& worktrees_dir,
                                            const std::string& recorded_base,
                                            const std::string& recorded_head,
                                            std::vector<std::string>* notes, std::string* err);

  // Whether `workspace` is in a git repository with a commit at HEAD, before anything of a run
  // is written; false with `err` (for the user) otherwise.
  static bool Check(const std::string& workspace, std::string* err);

  bool Prepare(AttemptRecord* record, std::string* folder, std::string* err) override;
  MergeResult Merge(const std::string& title, AttemptRecord* record) override;
  void Discard(AttemptRecord* record) override;
  std::string GateFolder(std::string* err) override;
  const std::string& head() const override { return head_; }

  // Only folders beneath worktrees_dir, which mex made; then git's records of worktrees whose
  // folders are gone (`git worktree prune`).
  void Prune(const std::vector<AttemptRecord>& interrupted) override;

  // At the end of a session: removes the gate's worktree and the idle ones (whole checkouts,
  // kept only to be reused within the session).
  void Close();

  const std::string& base() const { return base_; }
  const std::string& branch() const { return branch_; }
  // The commits on the branch past base, oldest first ("abc1234 subject").
  std::vector<std::string> Log() const;
  // `mex run --apply`: fast-forwards the user's checked-out branch to the integration head when
  // its tree has no uncommitted change and it has not moved since the run began. Says what it
  // did, or why not, in `message`.
  bool Apply(std::string* message) const;

 private:
  GitWorktrees() = default;
  // Makes a worktree of the integration head at `path`: an idle one moved there and set to the
  // head when there is one (a few files written instead of the whole tree), else a new one.
  bool Make(const std::string& path, std::string* err);
  // Sets the worktree at `path` to the integration head: every tracked file as the head has it,
  // nothing untracked or ignored left, as if made afresh.
  bool Reset(const std::string& path);
  // A worktree done with (merged, or nothing to merge): moved beneath worktrees_dir/+idle to be
  // reused, or removed when it cannot be.
  void Recycle(const std::string& path);
  // Runs git in the worktree at `path`, a worktree mex made in this session, with its git
  // folder named (GIT_DIR, GIT_WORK_TREE): never the repository a search from the folder up
  // would find, whatever the attempt did to the worktree's .git file.
  GitResult GitIn(const std::string& path, const std::vector<std::string>& args,
                  const std::vector<std::string>& extra_env = {}) const;
  // Learns the git folder of the worktree git just made at `path` from its .git file.
  bool Adopt(const std::string& path, std::string* err);
  // Removes a worktree mex made: git's record and its folder.
  void Remove(const std::string& path);

  std::string top_;     // the repository's top folder (the user's working tree)
  std::string prefix_;  // the milestone's folder relative to top_, "" at the top
  std::string run_id_;
  std::string branch_;  // mex/RUN_ID
  std::string base_;    // where the branch started: the commit at HEAD when the run began
  std::string head_;    // the branch's head as mex last moved it
  std::string dir_;     // worktrees_dir
  std::string gate_;    // the gate's worktree, "" when none
  std::vector<std::string> idle_;  // worktrees done with, to be reused: beneath dir_/+idle
  int idle_made_ = 0;              // the last number given to a folder beneath dir_/+idle
  // Each worktree of this session, by path: its git folder (.git/worktrees/NAME).
  std::map<std::string, std::string> git_dirs_;
};

}  // namespace mex
