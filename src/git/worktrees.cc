#include "git/worktrees.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "git/git.h"

namespace mex {

namespace {

// Commits mex makes name mex, whatever the user's git configuration says (or lacks).
const std::vector<std::string> kMexIdentity = {
    "GIT_AUTHOR_NAME=mex", "GIT_AUTHOR_EMAIL=mex@localhost", "GIT_COMMITTER_NAME=mex",
    "GIT_COMMITTER_EMAIL=mex@localhost"};

constexpr const char* kNoCommit = "0000000000000000000000000000000000000000";
// How much of the conflicting hunks goes into the failure report and the retry's prompt.
constexpr size_t kConflictDetailBytes = 8192;
constexpr size_t kShownConflictFiles = 10;

std::string Short(const std::string& commit) {
  return commit.substr(0, 12);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (nl > at) lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

// The conflict regions of a file git wrote with conflict markers, each with the line numbers it
// spans, at most `budget` bytes in all.
std::string ConflictHunks(const std::string& path, const std::string& text, size_t* budget) {
  std::string out;
  std::vector<std::string> lines;
  size_t at = 0;
  while (at <= text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("<<<<<<< ")) continue;
    size_t end = i;
    while (end < lines.size() && !lines[end].starts_with(">>>>>>> ")) ++end;
    std::string hunk =
        fmt::format("--- {} lines {}-{}\n", path, i + 1, std::min(end, lines.size() - 1) + 1);
    for (size_t k = i; k <= end && k < lines.size(); ++k) hunk += lines[k] + "\n";
    if (hunk.size() > *budget) {
      out += fmt::format("--- {}: more conflicting lines, not shown\n", path);
      *budget = 0;
      return out;
    }
    *budget -= hunk.size();
    out += hunk;
    i = end;
  }
  return out;
}

bool Within(const std::string& folder, const std::string& path) {
  return path.size() > folder.size() + 1 && path.starts_with(folder) && path[folder.size()] == '/';
}

}  // namespace

bool GitWorktrees::Check(const std::string& workspace, std::string* err) {
  GitResult top = RunGit(workspace, {"rev-parse", "--show-toplevel"});
  if (!top.ok()) {
    *err =
        fmt::format("workspace: worktree needs the milestone's folder {} in a git repository ({})",
                    workspace, top.Describe({"rev-parse"}));
    return false;
  }
  GitResult head = RunGit(workspace, {"rev-parse", "--verify", "HEAD^{commit}"});
  if (!head.ok()) {
    *err = fmt::format("workspace: worktree needs a commit at HEAD in {} ({})", top.Line(),
                       head.Describe({"rev-parse", "HEAD"}));
    return false;
  }
  return true;
}

std::unique_ptr<GitWorktrees> GitWorktrees::Open(
    const std::string& workspace, const std::string& run_id, const std::string& worktrees_dir,
    const std::string& recorded_base, const std::string& recorded_head,
    std::vector<std::string>* notes, std::string* err) {
  std::unique_ptr<GitWorktrees> w(new GitWorktrees());
  GitResult top = RunGit(workspace, {"rev-parse", "--show-toplevel", "--show-prefix"});
  if (!top.ok()) {
    *err =
        fmt::format("workspace: worktree needs the milestone's folder {} in a git repository ({})",
                    workspace, top.Describe({"rev-parse"}));
    return nullptr;
  }
  std::vector<std::string> lines = Lines(top.out);
  w->top_ = lines.empty() ? workspace : lines[0];
  w->prefix_ = lines.size() > 1 ? lines[1] : "";
  while (!w->prefix_.empty() && w->prefix_.back() == '/') w->prefix_.pop_back();
  w->run_id_ = run_id;
  w->branch_ = "mex/" + run_id;
  w->dir_ = worktrees_dir;
  const std::string ref = "refs/heads/" + w->branch_;
  GitResult now = RunGit(w->top_, {"rev-parse", "--verify", "--quiet", ref + "^{commit}"});

  if (recorded_head.empty()) {  // a new run
    GitResult head = RunGit(w->top_, {"rev-parse", "--verify", "HEAD^{commit}"});
    if (!head.ok()) {
      *err = fmt::format("workspace: worktree needs a commit at HEAD in {} ({})", w->top_,
                         head.Describe({"rev-parse", "HEAD"}));
      return nullptr;
    }
    w->base_ = w->head_ = head.Line();
    if (now.ok()) {
      *err = fmt::format("branch {} exists already: two runs never share an integration branch",
                         w->branch_);
      return nullptr;
    }
    GitResult made = RunGit(
        w->top_, {"update-ref", "-m", "mex: run " + run_id + " begins", ref, w->head_, kNoCommit});
    if (!made.ok()) {
      *err = made.Describe({"update-ref"});
      return nullptr;
    }
    GitResult dirty = RunGit(w->top_, {"status", "--porcelain", "--untracked-files=no"});
    if (dirty.ok() && !dirty.out.empty()) {
      notes->push_back(fmt::format(
          "your working tree has uncommitted changes: the run starts from the commit at HEAD, "
          "{}, without them",
          Short(w->head_)));
    }
  } else {  // a resumed run: the branch as state.db last recorded it
    w->base_ = recorded_base;
    w->head_ = recorded_head;
    const std::string at = now.ok() ? now.Line() : "";
    if (at != w->head_) {
      GitResult set = RunGit(
          w->top_, {"update-ref", "-m", "mex: back to the last recorded merge", ref, w->head_});
      if (!set.ok()) {
        *err = set.Describe({"update-ref"});
        return nullptr;
      }
      notes->push_back(
          at.empty()
              ? fmt::format("branch {} was missing: made again at {}", w->branch_, Short(w->head_))
              : fmt::format("branch {} was at {}, past the last merge state.db recorded: "
                            "set back to {} (that task runs again)",
                            w->branch_, Short(at), Short(w->head_)));
    }
  }
  return w;
}

void GitWorktrees::Remove(const std::string& path) {
  if (!Within(dir_, path)) return;  // never a folder mex did not make
  git_dirs_.erase(path);
  RunGit(top_, {"worktree", "remove", "--force", path});
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() == std::filesystem::file_type::directory) {
    std::filesystem::remove_all(path, ec);
  }
  // The task's folder goes with its last worktree (rmdir: only when empty).
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (Within(dir_, parent.string())) std::filesystem::remove(parent, ec);
}

bool GitWorktrees::Adopt(const std::string& path, std::string* err) {
  // "gitdir: /repo/.git/worktrees/NAME", written by git a moment ago, before any task ran here.
  std::string text;
  if (FILE* f = std::fopen((path + "/.git").c_str(), "re")) {
    char buf[4096];
    size_t n = std::fread(buf, 1, sizeof(buf), f);
    std::fclose(f);
    text.assign(buf, n);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  constexpr std::string_view kPrefix = "gitdir: ";
  if (!text.starts_with(kPrefix) || text.size() == kPrefix.size() || text[kPrefix.size()] != '/') {
    *err = "the new worktree " + path + " has no .git file naming its git folder";
    return false;
  }
  git_dirs_[path] = text.substr(kPrefix.size());
  return true;
}

GitResult GitWorktrees::GitIn(const std::string& path, const std::vector<std::string>& args,
                              const std::vector<std::string>& extra_env) const {
  auto known = git_dirs_.find(path);
  if (known == git_dirs_.end() || known->second.empty()) {
    GitResult unknown;
    unknown.err = "not a worktree mex made in this session: " + path;
    return unknown;
  }
  std::vector<std::string> env = {"GIT_DIR=" + known->second, "GIT_WORK_TREE=" + path};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return RunGit(path, args, env);
}

bool GitWorktrees::Reset(const std::string& path) {
  return GitIn(path, {"checkout", "--detach", "--force", "--quiet", head_}).ok() &&
         GitIn(path, {"clean", "-ffdxq"}).ok();
}

void GitWorktrees::Recycle(const std::string& path) {
  if (!Within(dir_, path)) return;
  const std::string to = fmt::format("{}/+idle/{}", dir_, ++idle_made_);
  std::error_code ec;
  std::filesystem::create_directories(dir_ + "/+idle", ec);
  auto known = git_dirs_.find(path);
  if (known == git_dirs_.end() || !RunGit(top_, {"worktree", "move", path, to}).ok()) {
    Remove(path);
    return;
  }
  // git keeps the worktree's git folder (its NAME) when it moves the worktree.
  git_dirs_[to] = known->second;
  git_dirs_.erase(path);
  idle_.push_back(to);
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (Within(dir_, parent.string())) std::filesystem::remove(parent, ec);
}

bool GitWorktrees::Make(const std::string& path, std::string* err) {
  // Tasks start only once the gate before them has ended: its worktree is free to reuse.
  if (idle_.empty() && !gate_.empty() && path != gate_) {
    Recycle(gate_);
    gate_.clear();
  }
  while (!idle_.empty()) {
    const std::string from = idle_.back();
    idle_.pop_back();
    auto known = git_dirs_.find(from);
    if (known == git_dirs_.end() || !RunGit(top_, {"worktree", "move", from, path}).ok()) {
      Remove(from);
      continue;
    }
    const std::string git_dir = known->second;
    git_dirs_.erase(known);
    git_dirs_[path] = git_dir;
    if (Reset(path)) return true;
    Remove(path);  // and make a new one
  }
  GitResult add = RunGit(top_, {"worktree", "add", "--detach", "--quiet", path, head_});
  if (!add.ok()) {
    *err = add.Describe({"worktree", "add"});
    return false;
  }
  return Adopt(path, err);
}

void GitWorktrees::Prune(const std::vector<AttemptRecord>& interrupted) {
  for (const AttemptRecord& a : interrupted) {
    if (!a.worktree.empty()) Remove(a.worktree);
  }
  // The gate's and the idle worktrees a killed session left (no git call when there are none).
  std::error_code ec;
  if (gate_.empty() && std::filesystem::exists(dir_ + "/+gate", ec)) Remove(dir_ + "/+gate");
  if (idle_.empty() && std::filesystem::is_directory(dir_ + "/+idle", ec)) {
    std::vector<std::string> left;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/+idle", ec)) {
      left.push_back(entry.path().string());
    }
    for (const std::string& path : left) Remove(path);
  }
  RunGit(top_, {"worktree", "prune"});
}

bool GitWorktrees::Prepare(AttemptRecord* record, std::string* folder, std::string* err) {
  const std::string path = fmt::format("{}/{}/{}", dir_, record->task, record->number);
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
    Remove(path);  // an earlier session's attempt of this number, cut before its record
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string why;
  if (!Make(path, &why)) {
    *err = "cannot make the attempt's worktree: " + why;
    return false;
  }
  record->worktree = path;
  record->base_commit = head_;
  *folder = prefix_.empty() ? path : path + "/" + prefix_;
  return true;
}

void GitWorktrees::Discard(AttemptRecord* record) {
  if (record->worktree.empty()) return;
  Remove(record->worktree);
  record->worktree.clear();
}

MergeResult GitWorktrees::Merge(const std::string& title, AttemptRecord* record) {
  MergeResult result;
  const std::string& wt = record->worktree;
  auto failed = [&](const GitResult& r, const std::vector<std::string>& args) {
    result.kind = MergeResult::Kind::kError;
    result.reason = r.Describe(args);
    return result;
  };
  GitResult add = GitIn(wt, {"add", "--all"});
  if (!add.ok()) return failed(add, {"add"});
  GitResult staged = GitIn(wt, {"diff", "--cached", "--quiet"});
  if (staged.exit_code == 1) {
    std::string message =
        fmt::format("{}: {}\n\nMex-Run: {}\nMex-Task: {}\nMex-Attempt: {}\n", record->task,
                    title.empty() ? record->task : title, run_id_, record->task, record->number);
    GitResult commit = GitIn(wt,
                             {"-c", "maintenance.auto=false", "commit", "--quiet", "--no-verify",
                              "--allow-empty-message", "-m", message},
                             kMexIdentity);
    if (!commit.ok()) return failed(commit, {"commit"});
  } else if (!staged.ok()) {
    return failed(staged, {"diff"});
  }
  GitResult at = GitIn(wt, {"rev-parse", "HEAD"});
  if (!at.ok()) return failed(at, {"rev-parse"});
  const std::string commit = at.Line();
  if (commit == record->base_commit) {
    result.kind = MergeResult::Kind::kNothing;
    result.reason = "it changed nothing: nothing to merge";
    Recycle(wt);
    record->worktree.clear();
    return result;
  }
  record->result_commit = commit;
  // -z: paths as they are, whatever bytes they hold.
  GitResult changed =
      RunGit(top_, {"diff", "--name-only", "-z", "--no-renames", record->base_commit, commit});
  if (changed.ok()) {
    for (size_t from = 0, end; (end = changed.out.find('\0', from)) != std::string::npos;
         from = end + 1) {
      record->changed_files.push_back(changed.out.substr(from, end - from));
    }
  }

  // One merge at a time (the engine is one thread): first checked without touching any tree.
  std::string merged;
  GitResult ancestor = RunGit(top_, {"merge-base", "--is-ancestor", head_, commit});
  if (ancestor.exit_code == 0) {
    merged = commit;  // nothing was merged since it started: a fast-forward
  } else {
    GitResult tree =
        RunGit(top_, {"merge-tree", "--write-tree", "--name-only", "--no-messages", head_, commit});
    if (tree.exit_code == 1) {
      // Its commit stays reachable under a ref of the run, named in the report.
      const std::string keep =
          fmt::format("refs/mex/{}/{}/{}", run_id_, record->task, record->number);
      RunGit(top_, {"update-ref", keep, commit});
      std::vector<std::string> lines = Lines(tree.out);
      const std::string conflict_tree = lines.empty() ? "" : lines[0];
      std::vector<std::string> files(lines.begin() + (lines.empty() ? 0 : 1), lines.end());
      std::string shown;
      for (size_t i = 0; i < files.size() && i < kShownConflictFiles; ++i) {
        shown += (i ? ", " : "") + files[i];
      }
      if (files.size() > kShownConflictFiles) {
        shown += fmt::format(" and {} more", files.size() - kShownConflictFiles);
      }
      result.kind = MergeResult::Kind::kConflict;
      result.reason = fmt::format(
          "merge conflict with {} (at {}) in {}; its commit {} is kept as {}, its worktree at {}",
          branch_, Short(head_), shown, Short(commit), keep, wt);
      size_t budget = kConflictDetailBytes;
      result.detail = fmt::format(
          "Your changes conflict with what other tasks merged into {} meanwhile. The conflicting "
          "lines (between <<<<<<< and >>>>>>>: first the integration branch's, then yours):\n",
          branch_);
      for (const std::string& file : files) {
        if (budget == 0) break;
        GitResult text = RunGit(top_, {"cat-file", "-p", conflict_tree + ":" + file});
        if (text.ok()) result.detail += ConflictHunks(file, text.out, &budget);
      }
      return result;
    }
    if (!tree.ok()) return failed(tree, {"merge-tree"});
    std::string message = fmt::format("mex: merge {} (attempt {})\n\nMex-Run: {}\nMex-Task: {}\n",
                                      record->task, record->number, run_id_, record->task);
    GitResult made = RunGit(
        top_, {"commit-tree", Lines(tree.out).at(0), "-p", head_, "-p", commit, "-m", message},
        kMexIdentity);
    if (!made.ok()) return failed(made, {"commit-tree"});
    merged = made.Line();
  }
  GitResult moved = RunGit(top_, {"update-ref", "-m", "mex: merge " + record->task,
                                  "refs/heads/" + branch_, merged, head_});
  if (!moved.ok()) return failed(moved, {"update-ref"});
  head_ = merged;
  record->merge_commit = merged;
  result.kind = MergeResult::Kind::kMerged;
  result.reason = fmt::format("merged into {} at {}", branch_, Short(merged));
  Recycle(wt);
  record->worktree.clear();
  return result;
}

std::string GitWorktrees::GateFolder(std::string* err) {
  const std::string path = dir_ + "/+gate";
  if (gate_.empty() || !Reset(gate_)) {
    std::error_code ec;
    if (!gate_.empty() || std::filesystem::exists(path, ec)) Remove(path);
    gate_.clear();
    std::filesystem::create_directories(dir_, ec);
    std::string why;
    if (!Make(path, &why)) {
      *err = "cannot make the gate's worktree: " + why;
      return "";
    }
    gate_ = path;
  }
  return prefix_.empty() ? path : path + "/" + prefix_;
}

void GitWorktrees::Close() {
  if (!gate_.empty()) Remove(gate_);
  gate_.clear();
  for (const std::string& path : idle_) Remove(path);
  idle_.clear();
  std::error_code ec;
  std::filesystem::remove(dir_ + "/+idle", ec);  // when empty
}

std::vector<std::string> GitWorktrees::Log() const {
  GitResult log = RunGit(top_, {"log", "--reverse", "--format=%h %s", base_ + ".." + head_});
  return log.ok() ? Lines(log.out) : std::vector<std::string>{};
}

bool GitWorktrees::Apply(std::string* message) const {
  GitResult current = RunGit(top_, {"symbolic-ref", "--quiet", "HEAD"});
  if (!current.ok()) {
    *message = "not applied: your HEAD is detached; take the result with: git merge " + branch_;
    return false;
  }
  const std::string user_branch = current.Line();
  GitResult at = RunGit(top_, {"rev-parse", "--verify", "HEAD^{commit}"});
  if (!at.ok() || at.Line() != base_) {
    *message = fmt::format(
        "not applied: {} moved since the run began (it was at {}); take the "
        "result with: git merge {}",
        user_branch, Short(base_), branch_);
    return false;
  }
  GitResult dirty = RunGit(top_, {"status", "--porcelain", "--untracked-files=no"});
  if (!dirty.ok() || !dirty.out.empty()) {
    *message = fmt::format(
        "not applied: your working tree has uncommitted changes; commit or "
        "stash them, then: git merge --ff-only {}",
        branch_);
    return false;
  }
  GitResult ff = RunGit(top_, {"merge", "--ff-only", "--quiet", "refs/heads/" + branch_});
  if (!ff.ok()) {
    *message = "not applied: " + ff.Describe({"merge", "--ff-only"});
    return false;
  }
  *message = fmt::format("applied: {} fast-forwarded to {}", user_branch, Short(head_));
  return true;
}

}  // namespace mex
