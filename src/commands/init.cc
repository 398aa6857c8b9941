// mex init: writes a KIRO milestone template, and for `--agent demo` the offline demo agent.
#include <fcntl.h>
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
#include "model/template.h"

namespace mex {

namespace {

struct NewFile {
  std::string path;
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

// Writes `file` through a temp file beside it, then moves the temp file to its name only if
// nothing has that name: an existing file or symlink is never replaced nor written through.
bool WriteNewFile(const NewFile& file, std::string* err) {
  std::string temp = fmt::format("{}.tmp.{}", file.path, getpid());
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file.mode);
  if (fd < 0) {
    *err = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
    return false;
  }
  const char* data = file.content.data();
  size_t left = file.content.size();
  bool ok = true;
  while (ok && left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) {
      data += n;
      left -= static_cast<size_t>(n);
    }
  }
  ok = ok && fsync(fd) == 0;
  if (!ok) *err = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
  if (close(fd) != 0 && ok) {
    *err = fmt::format("cannot write {}: {}", temp, std::strerror(errno));
    ok = false;
  }
  if (ok && renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, file.path.c_str(), RENAME_NOREPLACE) != 0) {
    // A filesystem without RENAME_NOREPLACE: a hard link is as atomic, and as unwilling to
    // replace what is there.
    if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
      ok = link(temp.c_str(), file.path.c_str()) == 0;
    } else {
      ok = false;
    }
    if (!ok) {
      *err = errno == EEXIST ? fmt::format("{} already exists; not overwriting it", file.path)
                             : fmt::format("cannot write {}: {}", file.path, std::strerror(errno));
    }
  }
  unlink(temp.c_str());  // after a rename, a no-op
  return ok;
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
    fmt::print(stderr, "mex init: unknown agent '{}' (expected one of {})\n", options.agent,
               AgentList());
    return kExitUsage;
  }
  std::string dir = options.dir.empty() ? "." : options.dir;
  bool demo = options.agent == "demo";
  std::vector<NewFile> files;
  if (demo) {
    files.push_back({Join(dir, "demo-agent"), DemoAgentScript(), 0755, "the offline demo agent"});
  }
  files.push_back({Join(dir, "milestone.yaml"), milestone, 0644,
                   fmt::format("a KIRO milestone whose prompts go to {}", options.agent)});

  bool clash = false;
  for (const NewFile& file : files) {
    if (!Exists(file.path)) continue;
    fmt::print(stderr, "mex init: {} already exists; not overwriting it\n", file.path);
    clash = true;
  }
  if (clash) {
    fmt::print(stderr, "mex init: nothing written (move the file away, or init another folder)\n");
    return kExitUsage;
  }

  std::vector<std::string> created;
  std::string err;
  bool ok = MakeFolders(dir, &created, &err);
  size_t written = 0;
  while (ok && written < files.size()) {
    ok = WriteNewFile(files[written], &err);
    if (ok) ++written;
  }
  if (!ok) {  // leave things as they were
    for (size_t i = 0; i < written; ++i) unlink(files[i].path.c_str());
    for (auto it = created.rbegin(); it != created.rend(); ++it) rmdir(it->c_str());
    fmt::print(stderr, "mex init: {}\nmex init: nothing written\n", err);
    return kExitUsage;
  }

  for (const NewFile& file : files) fmt::print("wrote {}: {}\n", file.path, file.what);
  std::string path = ShellWord(Join(dir, "milestone.yaml"));
  fmt::print("\nnext:\n");
  if (!demo) fmt::print("  edit `milestone:` in {}: every prompt works from its goal\n", path);
  fmt::print("  mex validate {}\n  mex plan {}\n  mex run {}\n", path, path, path);
  return kExitOk;
}

}  // namespace mex
