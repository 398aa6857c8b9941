#include "engine/inputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>

namespace mex {

namespace {

bool IsGlob(std::string_view segment) {
  return segment.find_first_of("*?[\\") != std::string_view::npos;
}

std::vector<std::string> Segments(std::string_view entry) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= entry.size()) {
    size_t end = std::min(entry.find('/', start), entry.size());
    std::string_view s = entry.substr(start, end - start);
    if (!s.empty() && s != ".") out.emplace_back(s);
    start = end + 1;
  }
  // `dir/` covers what is beneath it, as `dir/**`.
  if (!entry.empty() && entry.back() == '/') out.emplace_back("**");
  return out;
}

// The names in folder `path` ("" for the top), without . and ..; symlinks left out.
bool List(const Folder& folder, const std::string& path,
          std::vector<std::pair<std::string, bool>>* names, std::string* err) {
  UniqueFd fd = folder.OpenFolder(path.empty() ? "." : path, err);
  if (!fd.valid()) return false;
  DIR* dir = fdopendir(fd.get());
  if (dir == nullptr) {
    *err = fmt::format("{}: {}", path, strerror(errno));
    return false;
  }
  fd.Release();
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode)) names->push_back({name, false});
    if (S_ISDIR(st.st_mode)) names->push_back({name, true});
  }
  closedir(dir);
  return true;
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// Adds to `out` the files beneath `dir` that match segments[i...].
bool Match(const Folder& folder, const std::vector<std::string>& segments, size_t i,
           const std::string& dir, std::set<std::string>* out, std::string* err) {
  if (i == segments.size()) return true;  // a folder matched the whole entry: nothing to read
  const std::string& segment = segments[i];
  const bool last = i + 1 == segments.size();
  std::vector<std::pair<std::string, bool>> names;
  if (segment == "**") {
    if (!List(folder, dir, &names, err)) return false;
    for (const auto& [name, is_dir] : names) {
      if (!is_dir && last) out->insert(Join(dir, name));
      if (is_dir && !Match(folder, segments, i, Join(dir, name), out, err)) return false;
    }
    return last || Match(folder, segments, i + 1, dir, out, err);
  }
  if (!IsGlob(segment)) {
    std::string path = Join(dir, segment);
    std::string ignored;
    UniqueFd fd = folder.OpenFolder(path, &ignored);
    if (fd.valid()) return Match(folder, segments, i + 1, path, out, err);
    // Inside a glob only what is there matches (`src/*/main.c`: the folders that have one).
    if (last && folder.OpenFile(path, O_RDONLY, 0, &ignored).valid()) out->insert(path);
    return true;
  }
  if (!List(folder, dir, &names, err)) return false;
  for (const auto& [name, is_dir] : names) {
    if (fnmatch(segment.c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    if (!is_dir && last) out->insert(Join(dir, name));
    if (is_dir && !Match(folder, segments, i + 1, Join(dir, name), out, err)) return false;
  }
  return true;
}

}  // namespace

bool HashFile(const Folder& folder, const std::string& path, std::string* hash, std::string* err) {
  UniqueFd fd = folder.OpenFile(path, O_RDONLY, 0, err);
  if (!fd.valid()) return false;
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  char buffer[1 << 16];
  while (true) {
    ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = fmt::format("{}: {}", path, strerror(errno));
      XXH3_freeState(state);
      return false;
    }
    if (n == 0) break;
    XXH3_64bits_update(state, buffer, static_cast<size_t>(n));
  }
  *hash = fmt::format("{:016x}", XXH3_64bits_digest(state));
  XXH3_freeState(state);
  return true;
}

namespace {

// The folders of the files looked at, each opened once beneath the workspace: a file's stamp is
// then one fstatat of its name in its folder, which follows no symlink.
class OpenFolders {
 public:
  bool Stamp(const Folder& folder, const std::string& path, FileStamp* stamp, std::string* err) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    auto it = fds_.find(dir);
    if (it == fds_.end()) {
      std::string open_err;
      it = fds_.emplace(dir, folder.OpenFolder(dir.empty() ? "." : dir, &open_err)).first;
      errors_[dir] = open_err;
    }
    struct stat st {};
    int e = 0;
    if (!it->second.valid()) {
      e = errors_[dir].find(std::strerror(ENOENT)) != std::string::npos ? ENOENT : -1;
    } else if (fstatat(it->second.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      e = errno;
    }
    if (e == ENOENT || e == ENOTDIR) {
      *err = fmt::format("input '{}' does not exist", path);
    } else if (e != 0) {
      *err = fmt::format("input '{}' cannot be read: {}", path,
                         e > 0 ? std::strerror(e) : errors_[dir]);
    } else if (S_ISDIR(st.st_mode)) {
      *err = fmt::format("input '{}' is a folder; write '{}/' for what is in it", path, path);
    } else if (S_ISLNK(st.st_mode)) {
      *err =
          fmt::format("input '{}' cannot be read: it is a symlink, which mex never follows", path);
    } else if (!S_ISREG(st.st_mode)) {
      *err = fmt::format("input '{}' cannot be read: it is not a regular file", path);
    } else {
      stamp->size = static_cast<uint64_t>(st.st_size);
      stamp->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      stamp->inode = static_cast<uint64_t>(st.st_ino);
      return true;
    }
    return false;
  }

 private:
  std::unordered_map<std::string, UniqueFd> fds_;
  std::unordered_map<std::string, std::string> errors_;
};

bool FindFiles(const Folder& folder, const std::vector<std::string>& entries, OpenFolders* folders,
               std::vector<InputFile>* files, std::string* err) {
  std::set<std::string> paths;
  for (const std::string& entry : entries) {
    std::vector<std::string> segments = Segments(entry);
    bool literal = std::none_of(segments.begin(), segments.end(),
                                [](const std::string& s) { return IsGlob(s) || s == "**"; });
    if (literal) {
      // One file: opening it says whether it is there (and not a symlink, nor a folder).
      paths.insert(fmt::format("{}", fmt::join(segments, "/")));
      continue;
    }
    std::set<std::string> found;
    if (!Match(folder, segments, 0, "", &found, err)) {
      *err = fmt::format("input '{}': {}", entry, *err);
      return false;
    }
    if (found.empty()) {
      *err = fmt::format("input '{}' matches no file", entry);
      return false;
    }
    paths.insert(found.begin(), found.end());
  }
  files->clear();
  for (const std::string& path : paths) {
    InputFile& file = files->emplace_back();
    file.path = path;
    if (!folders->Stamp(folder, path, &file.stamp, err)) return false;
  }
  return true;
}

}  // namespace

bool FindInputFiles(const Folder& folder, const std::vector<std::string>& entries,
                    std::vector<InputFile>* files, std::string* err) {
  OpenFolders folders;
  return FindFiles(folder, entries, &folders, files, err);
}

bool FindInputs(const Milestone& m, const Folder& workspace, TaskInputs* inputs, std::string* err,
                Pos* pos) {
  OpenFolders folders;
  for (const Task& task : m.tasks) {
    const TaskDetail* d = task.details();
    if (d == nullptr || d->inputs.empty()) continue;
    std::vector<std::string> entries;
    for (const std::string& entry : d->inputs) {
      entries.push_back(d->cwd.empty() ? entry : d->cwd + "/" + entry);
    }
    std::vector<InputFile> files;
    if (!FindFiles(workspace, entries, &folders, &files, err)) {
      *err = fmt::format("task '{}': {}", task.id, *err);
      *pos = task.pos;
      return false;
    }
    inputs->emplace(std::string(task.id), std::move(files));
  }
  return true;
}

bool HashInputs(const Folder& workspace, const InputHashCache& cache, TaskInputs* inputs,
                InputHashCache* fresh, std::string* err) {
  // A file hashed less than this long after it was last written may have been written again in
  // the same tick of the file system's clock (a second on some file systems) after it was read.
  constexpr int64_t kSettled = 2'000'000'000;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
  std::unordered_map<std::string, std::string> seen;  // a file two tasks read is read once
  for (auto& [task, files] : *inputs) {
    for (InputFile& file : files) {
      if (auto it = seen.find(file.path); it != seen.end()) {
        file.hash = it->second;
        continue;
      }
      auto cached = cache.find(file.path);
      if (cached != cache.end() && cached->second.stamp == file.stamp &&
          file.stamp.mtime_ns < cached->second.hashed_at_ns - kSettled) {
        file.hash = cached->second.hash;
      } else if (!HashFile(workspace, file.path, &file.hash, err)) {
        *err = fmt::format("task '{}': input '{}' cannot be read: {}", task, file.path, *err);
        return false;
      } else if (fresh != nullptr) {
        (*fresh)[file.path] = {file.stamp, file.hash, now_ns};
      }
      seen.emplace(file.path, file.hash);
    }
  }
  return true;
}

}  // namespace mex
