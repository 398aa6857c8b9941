#include "engine/definition.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <numeric>

namespace mex {

namespace {

// What a task's hash takes from its dep `dep`: the dep's hash and, when the dep declares an
// output, the hash of the output as it is (an automatic input).
void AppendDep(const RunInfo& run, const Task& dep, const XXH128_hash_t& hash, std::string* text) {
  text->append(reinterpret_cast<const char*>(&hash), sizeof(XXH128_hash_t));
  if (run.outputs.empty()) return;
  if (auto it = run.outputs.find(std::string(dep.id)); it != run.outputs.end()) {
    text->append("\0output\0", 8);
    text->append(it->second);
  }
}

std::string Hex(const XXH128_hash_t& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string digits(32, '0');
  for (int i = 0; i < 16; ++i) {
    digits[15 - i] = kDigits[(hash.high64 >> (4 * i)) & 0xf];
    digits[31 - i] = kDigits[(hash.low64 >> (4 * i)) & 0xf];
  }
  return digits;
}

XXH128_hash_t FromHex(const std::string& hex) {
  XXH128_hash_t hash{0, 0};
  for (size_t i = 0; i < 32 && i < hex.size(); ++i) {
    char c = hex[i];
    uint64_t digit =
        c >= 'a' ? static_cast<uint64_t>(c - 'a' + 10) : static_cast<uint64_t>(c - '0');
    uint64_t& half = i < 16 ? hash.high64 : hash.low64;
    half = (half << 4) | digit;
  }
  return hash;
}

}  // namespace

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
      for (uint32_t dep : graph.deps(t)) AppendDep(run, m.tasks[dep], hashes[dep], &text);
      hashes[t] = XXH3_128bits(text.data(), text.size());
    }
  }
  std::vector<std::string> hex(n);
  for (uint32_t t = 0; t < n; ++t) hex[t] = Hex(hashes[t]);
  return hex;
}

std::string DefinitionHash(const RunInfo& run, const Graph& graph, uint32_t task,
                           const std::vector<std::string>& hashes) {
  const Milestone& m = *run.milestone;
  std::string text = DefinitionText(run, m.tasks[task]);
  for (uint32_t dep : graph.deps(task)) AppendDep(run, m.tasks[dep], FromHex(hashes[dep]), &text);
  return Hex(XXH3_128bits(text.data(), text.size()));
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

bool KeptAsItWas(const StoredTask& was, const std::string& hash, bool forced,
                 const std::string& missing_output) {
  return !forced && was.state == TaskState::kSucceeded && was.hash == hash &&
         missing_output.empty();
}

bool FollowsLeftAttempt(const StoredTask& was, int number, const std::string& hash, bool forced) {
  return !forced && was.hash == hash && was.attempts == number;
}

std::string RerunReason(const StoredTask& was, const std::string& hash, bool forced,
                        const std::string& missing_output) {
  if (forced) return "forced (--force)";
  if (!missing_output.empty() && was.state == TaskState::kSucceeded && was.hash == hash) {
    return fmt::format("its output {} is missing", missing_output);
  }
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

void HashOutputs(RunInfo* run, const std::vector<uint32_t>& tasks) {
  if (run->paths.state == nullptr) return;
  for (uint32_t t : tasks) {
    const Task& task = run->milestone->tasks[t];
    if (task.details() == nullptr || task.details()->output.path.empty()) continue;
    std::string hash, err;
    if (!HashFile(*run->paths.state, OutputPath(*run, task), &hash, &err)) hash.clear();
    run->outputs[std::string(task.id)] = hash;
  }
}

void HashOutputs(RunInfo* run) {
  std::vector<uint32_t> all(run->milestone->tasks.size());
  std::iota(all.begin(), all.end(), 0u);
  HashOutputs(run, all);
}

std::string MissingOutput(const RunInfo& run, const Task& task) {
  if (task.details() == nullptr || task.details()->output.path.empty()) return "";
  auto it = run.outputs.find(std::string(task.id));
  return it != run.outputs.end() && it->second.empty() ? task.details()->output.path : "";
}

}  // namespace mex
