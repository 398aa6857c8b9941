// The built-in artifact schemas of SPEC §3 (kiro, spec, tasks): the one registry of their names
// and the checks an agent's output must pass.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "model/milestone.h"
#include "util/folder.h"

namespace mex {

std::string_view SchemaName(Schema schema);

// The 23 leaves of the spec schema, as JSON pointers ("/technical_specifications/api_contracts/
// endpoints", ...), in the order of SPEC §3.
const std::vector<std::string>& SpecLeaves();

// Checks the file at `path` (beneath `folder`, never through a symlink) against `schema`. Returns
// "" when it is valid, else one sentence for a person that names the JSON pointer of the first bad
// field, e.g.
// "/decisions/2/rationale: expected a non-empty string". A missing or unreadable file, or text
// that is not JSON, is an error for every schema but kNone (for which the file need only exist).
std::string ValidateArtifact(const Folder& folder, const std::string& path, Schema schema);

// ValidateArtifact for a JSON schema (kiro, spec, tasks) that also gives the document it read:
// one read and one parse for a caller that goes on to use the content.
std::string ReadArtifact(const Folder& folder, const std::string& path, Schema schema,
                         nlohmann::json* doc);

// ReadArtifact for a document already in memory (the fuzz targets): the same parse and checks,
// without the file's (missing, not a regular file, larger than 64 MiB).
std::string ParseArtifact(std::string_view text, Schema schema, nlohmann::json* doc);

// What the spec_completeness and task_coverage criteria need of a spec artifact.
struct SpecContent {
  std::string error;  // the file cannot be read or is not a JSON object: nothing below is set
  // Per leaf of SpecLeaves(), in its order: "" when the leaf is filled (non-empty, or
  // {"not_applicable": "why"}), else what is wrong with it ("missing", or the schema problem).
  std::vector<std::string> leaf_problems;
  // The acceptance criteria ids ("AC-1", ...) the spec defines, in the order it gives them.
  std::vector<std::string> criteria;
};
SpecContent ReadSpec(const Folder& folder, const std::string& path);
// ReadSpec for a document already in memory.
SpecContent ParseSpec(std::string_view text);

}  // namespace mex
