// mex init: writes a KIRO milestone template, and for `--agent demo` the offline demo agent.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "commands/commands.h"
#include "flow/kiro_template.h"
#include "git/worktrees.h"
#include "model/template.h"
#include "util/folder.h"
#include "util/terminal_text.h"

namespace mex {

namespace {

struct NewFile {
  std::string name;  // in the folder
  std::string path;  // as the user named it
  std::string_view content;
  mode_t mode;  // before the umask, as for any file a program creates
  std::string what;
};

std::string Join(const std::string& dir, std::string_view name) {
  if (dir == ".") return std::string(name);
  return dir.ends_with('/') ? dir + std::string(name) : dir + "/" + std::string(name);
}

// A path as a shell word, quoted only when it has to be.
std::string ShellWord(const std::string& path) {
  for (char c : path) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("_-./+:@%,=").find(c) != std::string_view::npos;
    if (!plain) return ShellQuote(path);
  }
  return path;
}

// Whether anything has this name: a file, a folder, or a symlink, dangling or not.
bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// mkdir -p with mode 0755: `created` gets the folders made here, parents first.
bool MakeFolders(const std::string& dir, std::vector<std::string>* created, std::string* err) {
  for (size_t end = 1; end <= dir.size(); ++end) {
    if (end < dir.size() && dir[end] != '/') continue;
    std::string prefix = dir.substr(0, end);
    if (prefix.ends_with('/')) continue;  // "a//b"
    if (mkdir(prefix.c_str(), 0755) == 0) {
      created->push_back(prefix);
      continue;
    }
    int error = errno;
    struct stat st;
    if (error == EEXIST && stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    *err = error == EEXIST
               ? fmt::format("{} is not a folder", prefix)
               : fmt::format("cannot create folder {}: {}", prefix, std::strerror(error));
    return false;
  }
  return true;
}

std::string AgentList() {
  std::string list;
  for (std::string_view name : InitAgentNames()) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

}  // namespace

int InitCommand(const InitOptions& options) {
  std::string milestone = KiroMilestone(options.agent);
  if (milestone.empty()) {
    fmt::print(stderr, "mex init: unknown agent '{}' (expected one of {})\n",
               TerminalSafeLine(options.agent), AgentList());
    return kExitUsage;
  }
  std::string dir = options.dir.empty() ? "." : options.dir;
  bool demo = options.agent == "demo";
  std::vector<NewFile> files;
  if (demo) {
    files.push_back(
        {"demo-agent", Join(dir, "demo-agent"), DemoAgentScript(), 0755, "the offline demo agent"});
  }
  files.push_back({"milestone.yaml", Join(dir, "milestone.yaml"), milestone, 0644,
                   fmt::format("a KIRO milestone whose prompts go to {}", options.agent)});

  bool clash = false;
  for (const NewFile& file : files) {
    if (!Exists(file.path)) continue;
    fmt::print(stderr, "mex init: {} already exists; not overwriting it\n",
               TerminalSafeLine(file.path));
    clash = true;
  }
  if (clash) {
    fmt::print(stderr, "mex init: nothing written (move the file away, or init another folder)\n");
    return kExitUsage;
  }

  std::vector<std::string> created;
  std::string err;
  Folder folder;
  bool ok = MakeFolders(dir, &created, &err) && Folder::Open(dir, false, &folder, &err);
  size_t written = 0;
  while (ok && written < files.size()) {
    const NewFile& file = files[written];
    ok = folder.WriteAtomically(file.name, file.content, &err,
                                {.mode = file.mode, .replace = false});
    if (ok) ++written;
  }
  if (!ok) {  // leave things as they were
    std::string ignored;
    for (size_t i = 0; i < written; ++i) folder.RemoveFile(files[i].name, &ignored);
    for (auto it = created.rbegin(); it != created.rend(); ++it) rmdir(it->c_str());
    fmt::print(stderr, "mex init: {}\nmex init: nothing written\n", TerminalSafeLine(err));
    return kExitUsage;
  }

  for (const NewFile& file : files) {
    fmt::print("wrote {}: {}\n", TerminalSafeLine(file.path), file.what);
  }
  // Quoting keeps a control byte of DIR: on a terminal it is shown as '?'.
  std::string path = TerminalSafeLine(ShellWord(Join(dir, "milestone.yaml")));
  fmt::print("\nnext:\n");
  if (!demo) fmt::print("  edit `milestone:` in {}: every prompt works from its goal\n", path);
  // The execute phase runs in git worktrees (workspace: worktree): say so before `mex run` does.
  if (std::string why; !demo && !GitWorktrees::Check(dir, &why)) {
    fmt::print(
        "  (cd {} && git init -q && git add -A && git commit -qm start)   # the execute "
        "phase runs each task in a git worktree, merged as it succeeds\n",
        TerminalSafeLine(ShellWord(dir)));
  }
  fmt::print("  mex validate {}\n  mex plan {}\n  mex run {}\n", path, path, path);
  return kExitOk;
}

}  // namespace mex
