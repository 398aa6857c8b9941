// Writes the files of a generated project for the worktree benchmark: gen_repo DIR [FILES] [MB]
//   FILES - 20 text files of source-like lines (1-32 KB each, log-uniform) in src/mNN/, tests/mNN/
//   and docs/, 100 to a folder, plus 20 binary files (assets/blobNN.bin, incompressible) that
//   bring the total to MB MiB. Defaults: 5000 files, 200 MiB.
// Seeded, and no <random> distribution (their output differs between standard libraries): the same
// arguments always give the same bytes.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kBinaries = 20;
constexpr int kPerFolder = 100;

const char* const kWords[] = {
    "alpha",  "beta",    "count",  "buffer", "config", "state",  "value",  "index",  "result",
    "task",   "node",    "parent", "child",  "queue",  "limit",  "retry",  "phase",  "graph",
    "input",  "output",  "offset", "length", "name",   "path",   "error",  "status", "entry",
    "record", "session", "worker", "lock",   "table",  "row",    "column", "cache",  "key"};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

bool WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return fclose(f) == 0 && ok;
}

// About `size` bytes of lines that look like code (ends at a line's end).
std::string Source(std::mt19937_64& rng, size_t size) {
  std::string text;
  text.reserve(size + 128);
  int depth = 0;
  while (text.size() < size) {
    std::string line(static_cast<size_t>(2 * depth), ' ');
    const char* a = kWords[rng() % kWordCount];
    const char* b = kWords[rng() % kWordCount];
    const char* c = kWords[rng() % kWordCount];
    switch (rng() % 6) {
      case 0:
        line += fmt::format("if ({}_{} > {}) {{", a, b, rng() % 1000);
        ++depth;
        break;
      case 1:
        if (depth > 0) {
          --depth;
          line.resize(static_cast<size_t>(2 * depth));
          line += "}";
          break;
        }
        [[fallthrough]];
      case 2:
        line += fmt::format("auto {}{} = {}.{}({}, {});", a, rng() % 100, b, c, a, rng() % 4096);
        break;
      case 3:
        line += fmt::format("// {} the {} of each {} before the {}", a, b, c, a);
        break;
      case 4:
        line += fmt::format("{}_{} += {}->{}_{};", a, c, b, c, a);
        break;
      default:
        line += fmt::format("return {}({}_{});", a, b, c);
        break;
    }
    text += line;
    text += '\n';
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fmt::print(stderr, "usage: gen_repo DIR [FILES] [MB]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const long files = argc > 2 ? std::stol(argv[2]) : 5000;
  const long mb = argc > 3 ? std::stol(argv[3]) : 200;
  if (files <= kBinaries || mb <= 0) {
    fmt::print(stderr, "gen_repo: FILES must be over {} and MB positive\n", kBinaries);
    return 2;
  }
  std::mt19937_64 rng(16);
  const long texts = files - kBinaries;
  uint64_t total = 0;
  for (long i = 0; i < texts; ++i) {
    // 1-32 KB, log-uniform: many small files, a few large ones (mean about 9 KB).
    const double u = static_cast<double>(rng() >> 11) / 9007199254740992.0;
    const size_t size = static_cast<size_t>(1024.0 * std::pow(32.0, u));
    const long folder = i / kPerFolder;
    std::filesystem::path path;
    if (folder % 10 == 9) {
      path = dir / "docs" / fmt::format("d{:02}", folder) / fmt::format("note{:04}.md", i);
    } else if (folder % 5 == 4) {
      path = dir / "tests" / fmt::format("m{:02}", folder) / fmt::format("t{:04}_test.cc", i);
    } else {
      path = dir / "src" / fmt::format("m{:02}", folder) / fmt::format("f{:04}.cc", i);
    }
    const std::string text = Source(rng, size);
    if (!WriteFile(path, text)) {
      fmt::print(stderr, "gen_repo: cannot write {}\n", path.string());
      return 1;
    }
    total += text.size();
  }
  const uint64_t want = static_cast<uint64_t>(mb) << 20;
  const uint64_t each = want > total ? (want - total) / kBinaries : 0;
  std::string bytes(each, '\0');
  for (int b = 0; b < kBinaries; ++b) {
    for (size_t k = 0; k + 8 <= bytes.size(); k += 8) {
      const uint64_t r = rng();
      for (int j = 0; j < 8; ++j) bytes[k + static_cast<size_t>(j)] = static_cast<char>(r >> (8 * j));
    }
    const std::filesystem::path path = dir / "assets" / fmt::format("blob{:02}.bin", b);
    if (!WriteFile(path, bytes)) {
      fmt::print(stderr, "gen_repo: cannot write {}\n", path.string());
      return 1;
    }
    total += bytes.size();
  }
  fmt::print("{} files, {} bytes ({} text files, {} bytes)\n", files, total, texts,
             total - each * kBinaries);
  return 0;
}
