// The milestone loader on a file named MEX_FUZZ_FILE_NAME: fuzz/CMakeLists.txt builds it as
// fuzz_loader_yaml ("/fuzz.yaml": yaml-cpp and the YAML decoder) and fuzz_loader_json
// ("/fuzz.json": simdjson On-Demand, the JSON decoder and nlohmann's error finder), each then
// checked by CheckMilestone. The name is absolute so that what a run does is the same in every
// folder: a relative one would put the current folder's path in the milestone's workspace.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/require.h"
#include "load/loader.h"
#include "model/diagnostics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mex::Milestone milestone;
  mex::Diagnostics diags(MEX_FUZZ_FILE_NAME);
  bool loaded = mex::LoadMilestoneFromString(MEX_FUZZ_FILE_NAME, text, &milestone, &diags);
  mex::fuzz::Require(loaded == diags.empty(), "a milestone loads exactly when it has no errors");
  // Every error points into the file (or at no place: line 0), as `mex validate` prints it.
  mex::SourceText source(text);
  for (const mex::Diagnostic& d : diags.errors()) {
    mex::fuzz::Require(d.pos.line == 0 || source.OffsetOf(d.pos) != std::string::npos,
                       "an error's line and column are in the file");
  }
  diags.Format();
  return 0;
}
