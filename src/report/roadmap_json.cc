#include "report/roadmap_json.h"

#include "util/metrics.h"

namespace mex {

nlohmann::ordered_json RoadmapJson(const Milestone& m, const Roadmap& r) {
  using json = nlohmann::ordered_json;
  json batches = json::array();
  for (const std::vector<uint32_t>& batch : r.batches) {
    json ids = json::array();
    for (uint32_t t : batch) ids.push_back(m.tasks[t].id);
    batches.push_back(std::move(ids));
  }
  json path = json::array();
  for (uint32_t t : r.critical_path) path.push_back(m.tasks[t].id);
  // ordered_json's operator[] finds a key by a linear scan; ids are unique, so append directly
  // (its object is a vector of pairs), or 10k tasks cost 50M string compares.
  json levels = json::object();
  auto& items = levels.get_ref<json::object_t&>();
  items.reserve(m.tasks.size());
  for (size_t t = 0; t < m.tasks.size(); ++t)
    items.emplace_back(std::string(m.tasks[t].id), r.level[t]);
  json phases = json::array();
  for (const PhasePlan& p : r.phases) {
    phases.push_back({{"name", p.name},
                      {"weight", p.weight},
                      {"tasks", p.tasks},
                      {"total_effort", p.total_effort},
                      {"batches", p.levels},
                      {"max_width", p.max_width},
                      {"critical_path_length", p.critical_path_length},
                      {"makespan_estimate", p.makespan},
                      {"dynamic", p.dynamic}});
  }
  json conflicts = json::array();
  for (const PredictedConflict& c : r.conflicts) {
    conflicts.push_back(
        {{"tasks", {m.tasks[c.a].id, m.tasks[c.b].id}},
         {"files",
          {m.tasks[c.a].details()->files[c.entry_a], m.tasks[c.b].details()->files[c.entry_b]}}});
  }
  return {{"milestone", m.id},
          {"slots", r.slots},
          {"batches", std::move(batches)},
          {"critical_path", {{"length", r.critical_path_length}, {"tasks", std::move(path)}}},
          {"total_effort", r.total_effort},
          {"max_width", r.max_width},
          {"makespan_estimate", r.makespan},
          {"phases", std::move(phases)},
          {"predicted_conflicts", std::move(conflicts)},
          {"levels", std::move(levels)}};
}

bool WriteRoadmapJson(const RunPaths& paths, const Milestone& m, const Roadmap& r,
                      std::string* err) {
  ScopedMetric metric("write roadmap.json");
  std::string path = paths.run_dir + "/roadmap.json";
  std::string text = RoadmapJson(m, r).dump(2) + "\n";
  const Folder& state = *paths.state;
  return state.ReadFile(path) == text || state.WriteAtomically(path, text, err);
}

}  // namespace mex
