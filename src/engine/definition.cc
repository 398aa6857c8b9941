#include "engine/definition.h"

#include <xxhash.h>

namespace mex {

std::vector<std::string> DefinitionHashes(const RunInfo& run, const Graph& graph,
                                          const Roadmap& roadmap) {
  const Milestone& m = *run.milestone;
  size_t n = m.tasks.size();
  std::vector<XXH128_hash_t> hashes(n);
  std::string text;
  // Level by level: every dep is hashed before the tasks that depend on it.
  for (const std::vector<uint32_t>& batch : roadmap.batches) {
    for (uint32_t t : batch) {
      text = DefinitionText(run, m.tasks[t]);
      for (uint32_t dep : graph.deps(t)) {
        text.append(reinterpret_cast<const char*>(&hashes[dep]), sizeof(XXH128_hash_t));
      }
      hashes[t] = XXH3_128bits(text.data(), text.size());
    }
  }
  std::vector<std::string> hex(n);
  for (uint32_t t = 0; t < n; ++t) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string& digits = hex[t];
    digits.resize(32);
    for (int i = 0; i < 16; ++i) {
      digits[15 - i] = kDigits[(hashes[t].high64 >> (4 * i)) & 0xf];
      digits[31 - i] = kDigits[(hashes[t].low64 >> (4 * i)) & 0xf];
    }
  }
  return hex;
}

std::vector<bool> ForcedTasks(const RunInfo& run, const Graph& graph, const Roadmap& roadmap) {
  const Milestone& m = *run.milestone;
  std::vector<bool> forced(m.tasks.size(), run.force_all);
  if (run.force_all || run.force.empty()) return forced;
  for (const std::string& id : run.force) {
    if (const Task* task = m.FindTask(id))
      forced[static_cast<size_t>(task - m.tasks.data())] = true;
  }
  for (const std::vector<uint32_t>& batch : roadmap.batches) {
    for (uint32_t t : batch) {
      for (uint32_t dep : graph.deps(t)) forced[t] = forced[t] || forced[dep];
    }
  }
  return forced;
}

bool KeptAsItWas(const StoredTask& was, const std::string& hash, bool forced) {
  return !forced && was.state == TaskState::kSucceeded && was.hash == hash;
}

std::string RerunReason(const StoredTask& was, const std::string& hash, bool forced) {
  if (forced) return "forced (--force)";
  if (was.hash != hash) return "its definition changed, or a dep's";
  switch (was.state) {
    case TaskState::kFailed:
      return "it failed in an earlier session";
    case TaskState::kSkipped:
      return "it was skipped in an earlier session";
    default:
      return "it did not finish in an earlier session";
  }
}

}  // namespace mex
