// A task's `inputs:` (SPEC: inputs that trigger re-runs): the files it reads, whose contents are
// part of its definition, so that a changed source runs it again (and what depends on it), as
// make and ninja users expect. Entries are read as `files` entries are (plan/file_overlap.h):
// paths or globs relative to the task's cwd, `**` for any depth, a trailing `/` for a folder and
// all beneath it. Files are found and read beneath the workspace without following a symlink.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "model/milestone.h"
#include "util/folder.h"

namespace mex {

struct InputFile {
  std::string path;  // relative to the task's cwd, '/'-separated
  std::string hash;  // XXH3-64 of its content, 16 hex digits
};

// The files `entries` name beneath `folder` (the task's cwd, opened beneath the workspace),
// each once, sorted by path, with the hash of its content. False with `err` naming the entry
// when one names nothing (a missing file, a glob that matches none) or cannot be read; a
// symlink is never followed (one named literally is an error, one met in a glob is left out).
bool HashInputs(const Folder& folder, const std::vector<std::string>& entries,
                std::vector<InputFile>* files, std::string* err);

// The inputs of every task of `m` that declares some, beneath `workspace` (a task's entries are
// relative to its cwd; the paths kept are relative to the workspace), by task id. False with
// `err` ("task 'compile': input 'src/mul.c' does not exist") and `pos`, the task's, at the first
// task whose inputs cannot be read.
bool ReadInputs(const Milestone& m, const Folder& workspace,
                std::unordered_map<std::string, std::vector<InputFile>>* inputs, std::string* err,
                Pos* pos);

}  // namespace mex
