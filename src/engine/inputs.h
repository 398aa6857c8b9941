// A task's `inputs:` (SPEC: inputs that trigger re-runs): the files it reads, whose contents are
// part of its definition, so that a changed source runs it again (and what depends on it), as
// make and ninja users expect. Entries are read as `files` entries are (plan/file_overlap.h):
// paths or globs relative to the task's cwd, `**` for any depth, a trailing `/` for a folder and
// all beneath it. Files are found and read beneath the workspace without following a symlink.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/store.h"
#include "model/milestone.h"
#include "util/folder.h"

namespace mex {

struct InputFile {
  std::string path;  // relative to the workspace, '/'-separated
  FileStamp stamp;
  std::string hash;  // XXH3-64 of its content, 16 hex digits; empty until HashInputs
};

// Inputs by task id.
using TaskInputs = std::unordered_map<std::string, std::vector<InputFile>>;

// The files `entries` name beneath `folder` (the workspace; entries relative to it), each once,
// sorted by path, with its stamp. False with `err` naming the entry when one names nothing (a
// missing file, a glob that matches none, a folder) or cannot be opened; a symlink is never
// followed (one named literally is an error, one met in a glob is left out).
bool FindInputFiles(const Folder& folder, const std::vector<std::string>& entries,
                    std::vector<InputFile>* files, std::string* err);

// The inputs of every task of `m` that declares some, beneath `workspace` (a task's entries are
// relative to its cwd; the paths kept are relative to the workspace), by task id, not hashed
// yet. False with `err` ("task 'compile': input 'src/mul.c' does not exist") and `pos`, the
// task's, at the first task whose inputs cannot be found. Reads no file's content: it is what a
// run checks before it writes anything.
bool FindInputs(const Milestone& m, const Folder& workspace, TaskInputs* inputs, std::string* err,
                Pos* pos);

// Sets the hash of each file of `inputs`: from `cache` when the file's stamp is the one cached
// and the file had not changed for a while when it was hashed (a file written in the same clock
// tick as its hash would look unchanged after a second write), else by reading it. What was read
// is added to `fresh` (may be null) for the cache. False with `err` naming the task and the file
// when one cannot be read.
bool HashInputs(const Folder& workspace, const InputHashCache& cache, TaskInputs* inputs,
                InputHashCache* fresh, std::string* err);

// The XXH3-64 of the file at `path` beneath `folder`, 16 hex digits; false with `err` when it
// cannot be read (missing, a symlink, a folder).
bool HashFile(const Folder& folder, const std::string& path, std::string* hash, std::string* err);

}  // namespace mex
