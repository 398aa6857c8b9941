// When two tasks' declared files (TaskDetail::files, a breakdown task's "files") overlap: the rule
// behind mex's predicted conflicts and its mutual exclusion of tasks that edit the same files.
//
// An entry is a path relative to the workspace, or a glob of one. It is read a segment at a time
// (between slashes; empty and "." segments are dropped):
// - a segment without * ? [ or \ is literal and names exactly that name;
// - `**` as a whole segment matches any number of segments, none included; `dir/**` and `dir/`
//   (a trailing slash) cover the folder and everything beneath it; `.` covers the workspace;
// - any other segment is a glob of fnmatch(3): * ? [...] never match a '/' (FNM_PATHNAME).
// A literal path names one file: `src/api` does not cover `src/api/v1.py`; write `src/api/`.
//
// Two entries overlap when some path could match both. Segment by segment: a literal against a
// literal or a glob is exact (fnmatch); two globs in the same segment are decided conservatively:
// they overlap unless their fixed beginnings (before the first wildcard) or their fixed endings
// (after the last) contradict each other, so `*.py` and `*.md` do not overlap, `test_*` and
// `*.py` do. A wrong "overlap" costs parallelism; a missed one costs a merge conflict.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

// What is wrong with `entry` as a declared file ("is empty", "is absolute: ..."), or "" when it is
// a path or glob inside the workspace.
std::string FileEntryProblem(std::string_view entry);

// Whether some path could match both entries (the rule above).
bool EntriesOverlap(std::string_view a, std::string_view b);

// Two items of OverlappingItems' input whose files overlap, and the first entries of each that do.
struct ItemOverlap {
  uint32_t a = 0, b = 0;              // item indices, a < b
  uint32_t entry_a = 0, entry_b = 0;  // indices into the items' lists
};

// Every pair of items (each a list of entries; null or empty: none) of which an entry of one
// overlaps an entry of the other, sorted by (a, b). Entries are indexed by their leading literal
// segments, and only entries whose literal prefixes nest are compared: entries under different
// folders cost nothing, while E entries that all begin with a wildcard (`*.py`, `**/x`) cost E²
// comparisons.
std::vector<ItemOverlap> OverlappingItems(std::span<const std::vector<std::string>* const> items);

}  // namespace mex
