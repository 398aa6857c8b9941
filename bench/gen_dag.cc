// Writes a generated milestone DAG file for the benchmarks: gen_dag SHAPE N OUT
//   layered: N tasks in sqrt(N) layers, each task depending on up to 3 tasks of the layer before
//   random:  task i depends on up to 3 tasks chosen among those before it
// The output format follows OUT's extension: .json (one line per task) or .yaml. The generator is
// seeded, so the same arguments always give the same file.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: gen_dag layered|random N OUT.json|OUT.yaml\n");
    return 2;
  }
  std::string shape = argv[1];
  long n = std::stol(argv[2]);
  std::string out = argv[3];
  bool json = out.size() > 5 && out.substr(out.size() - 5) == ".json";
  FILE* f = fopen(out.c_str(), "w");
  if (f == nullptr || n <= 0 || (shape != "layered" && shape != "random")) {
    fmt::print(stderr, "gen_dag: bad arguments or cannot write {}\n", out);
    return 2;
  }
  std::mt19937_64 rng(42);
  long width = std::max(1L, static_cast<long>(std::sqrt(static_cast<double>(n))));
  fputs(json ? "{\"tasks\": [\n" : "tasks:\n", f);
  std::vector<long> deps;
  for (long i = 0; i < n; ++i) {
    deps.clear();
    if (shape == "layered" && i >= width) {
      long layer_start = (i / width - 1) * width;
      for (int k = 0; k < 3; ++k) deps.push_back(layer_start + static_cast<long>(rng() % width));
    } else if (shape == "random" && i > 0) {
      int count = static_cast<int>(rng() % 4);
      for (int k = 0; k < count; ++k) deps.push_back(static_cast<long>(rng() % i));
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    std::string list;
    for (long d : deps) list += fmt::format("{}\"t{}\"", list.empty() ? "" : ", ", d);
    int effort = 1 + static_cast<int>(rng() % 5);
    if (json) {
      fmt::print(f, "{{\"id\": \"t{}\", \"run\": \"true\", \"effort\": {}, \"deps\": [{}]}}{}\n", i,
                 effort, list, i + 1 < n ? "," : "");
    } else {
      fmt::print(f, "  - {{id: t{}, run: \"true\", effort: {}, deps: [{}]}}\n", i, effort, list);
    }
  }
  if (json) fputs("]}\n", f);
  return fclose(f) == 0 ? 0 : 1;
}
