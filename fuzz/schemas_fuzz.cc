// The artifact schemas (kiro, spec, tasks) on one document: an agent writes it, so every schema
// checks every input; ParseSpec reads it as the spec_completeness gate does, and a valid tasks
// document is planned as the task_coverage gate plans a breakdown (graph, cycles, roadmap).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "flow/breakdown.h"
#include "flow/schemas.h"
#include "fuzz/require.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mex::fuzz::Require;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (mex::Schema schema : {mex::Schema::kKiro, mex::Schema::kSpec}) {  // tasks: ParseBreakdown
    nlohmann::json doc;
    mex::ParseArtifact(text, schema, &doc);
  }
  mex::SpecContent spec = mex::ParseSpec(text);
  Require(!spec.error.empty() || spec.leaf_problems.size() == mex::SpecLeaves().size(),
          "a spec that was read has a verdict for each of its leaves");
  std::vector<mex::BreakdownTask> tasks;
  std::string err;
  if (mex::ParseBreakdown(text, &tasks, &err)) mex::PlanBreakdown(tasks);
  return 0;
}
