#include "load/loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "load/check.h"
#include "load/decoder.h"
#include "util/metrics.h"

namespace mex {

bool EscapesFolder(std::string_view path) {
  if (path.empty() || path.front() == '/') return true;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

std::string PathAdvice(std::string_view path) {
  if (path.empty()) return "it is empty";
  if (path.front() == '/') return "use a path relative to it, not an absolute one";
  return "use a relative path without '..'";
}

bool ParseSignal(std::string_view text, int* signal) {
  static const std::pair<std::string_view, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},
      {"ABRT", SIGABRT}, {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"SEGV", SIGSEGV},
      {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"BUS", SIGBUS},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *signal);
  if (ec == std::errc() && ptr == text.data() + text.size()) return *signal > 0 && *signal < 65;
  if (text.starts_with("SIG")) text.remove_prefix(3);
  for (const auto& [name, number] : kSignals) {
    if (name == text) {
      *signal = number;
      return true;
    }
  }
  return false;
}

Pos JsonPositions::At(const char* p) {
  return AtOffset(static_cast<size_t>(p - buffer_.data()));
}

Pos JsonPositions::AtOffset(size_t offset) {
  offset = std::min(offset, buffer_.size());
  if (offset < offset_) {  // rare: start again from the top
    offset_ = 0;
    line_start_ = 0;
    line_ = 1;
  }
  const char* base = buffer_.data();
  const char* p = base + offset_;
  const char* end = base + offset;
  while (const void* nl = memchr(p, '\n', static_cast<size_t>(end - p))) {
    ++line_;
    p = static_cast<const char*>(nl) + 1;
    line_start_ = static_cast<size_t>(p - base);
  }
  offset_ = offset;
  return {line_, static_cast<uint32_t>(offset - line_start_ + 1)};
}

namespace {

// Accepts every event: used to find where and why a JSON file is malformed.
struct JsonErrorFinder : nlohmann::json_sax<nlohmann::json> {
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    offset = position == 0 ? 0 : position - 1;
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    size_t column = message.find("column ");
    size_t colon = column == std::string::npos ? column : message.find(": ", column);
    if (colon != std::string::npos) message = message.substr(colon + 2);
    found = true;
    return false;
  }
  bool found = false;
  size_t offset = 0;
  std::string message;
};

void ReportJsonSyntaxError(std::string_view text, const std::string& simd_message,
                           Diagnostics* diags) {
  JsonPositions positions(text);
  JsonErrorFinder finder;
  nlohmann::json::sax_parse(text.begin(), text.end(), &finder);
  if (finder.found) {
    diags->Error(positions.AtOffset(finder.offset), "invalid JSON: " + finder.message);
  } else {
    diags->Error({1, 1}, "invalid JSON: " + simd_message);
  }
}

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Returns whether the document had the shape of a milestone, so that the cross-field checks are
// worth running. `text` must have simdjson's padding after it.
bool LoadJson(std::string_view text, Milestone* m, Diagnostics* diags) {
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  JsonPositions positions(text);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  bool shaped = false;
  try {
    simdjson::padded_string_view view(text.data(), text.size(),
                                      text.size() + simdjson::SIMDJSON_PADDING);
    if (auto error = parser.iterate(view).get(doc)) throw simdjson::simdjson_error(error);
    if (doc.type().value() != simdjson::ondemand::json_type::object) {
      size_t first = text.find_first_not_of(" \t\r\n");
      diags->Error(positions.AtOffset(first == std::string_view::npos ? 0 : first),
                   "the milestone file must be a mapping");
      return false;
    }
    Decoder<JsonNode> decoder(m, diags);
    shaped = decoder.DecodeRoot(JsonNode(doc.get_value().value(), &positions));
    if (!doc.current_location().error()) {  // an error here means the whole text was read
      throw simdjson::simdjson_error(simdjson::TRAILING_CONTENT);
    }
  } catch (const simdjson::simdjson_error& e) {
    *diags = Diagnostics(diags->file());  // other errors of a malformed file would mislead
    ReportJsonSyntaxError(text, e.what(), diags);
    return false;
  }
  return shaped;
}

// Whether the document has at most `budget` nodes once each alias (*name) is read as a copy of
// its anchor, as the decoder reads it. Aliases let a few KiB stand for billions of nodes (a list
// of n aliases of a list of n aliases of ...), and an anchor may hold an alias of itself; the
// walk counts nodes as it finds them, so it stops after `budget` of them whatever the shape.
bool ExpandsWithin(const YAML::Node& root, size_t budget) {
  std::vector<YAML::Node> stack = {root};
  auto push = [&](const YAML::Node& node) {
    if (budget == 0) return false;
    --budget;
    stack.push_back(node);
    return true;
  };
  while (!stack.empty()) {
    YAML::Node node = stack.back();
    stack.pop_back();
    for (auto it = node.begin(); it != node.end(); ++it) {
      bool pushed = node.IsMap() ? push(it->first) && push(it->second) : push(*it);
      if (!pushed) return false;
    }
  }
  return true;
}

bool LoadYaml(const std::string& text, Milestone* m, Diagnostics* diags) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Pos pos{static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)};
    // yaml-cpp can place an error past the end of a text that is not UTF-8 ("t\xff\0" at 1:5):
    // then it is at the end of the file.
    SourceText source(text);
    if (pos.line != 0 && source.OffsetOf(pos) == std::string_view::npos) {
      pos = source.PosOf(text.size());
    }
    diags->Error(pos, "invalid YAML: " + e.msg);
    return false;
  }
  // Far more than a file without aliases has (a node takes a byte or more), far less than what
  // would exhaust memory: 2.6 KB of nested aliases were 8 million nodes, 3.7 s and 150 MB.
  size_t budget = std::max<size_t>(size_t{1} << 18, 8 * text.size());
  if (!ExpandsWithin(root, budget)) {
    diags->Error({}, fmt::format("its aliases (*name) expand to more than {} YAML nodes; write out "
                                 "what they repeat",
                                 budget));
    return false;
  }
  Decoder<YamlNode> decoder(m, diags);
  return decoder.DecodeRoot(YamlNode(root, {1, 1}));
}

bool IsJsonName(const std::string& name) {
  return name.size() >= 5 && name.compare(name.size() - 5, 5, ".json") == 0;
}

void SetPaths(const std::string& path, Milestone* m) {
  m->file = path;
  std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  m->workspace = parent.lexically_normal().string();
  if (m->id.empty()) m->id = std::filesystem::path(path).stem().string();
}

bool Finish(const std::string& path, std::string_view text, bool shaped, Milestone* m,
            Diagnostics* diags) {
  ScopedMetric metric("check");
  SourceText source(text);
  if (shaped) CheckMilestone(m, diags, &source);
  SetPaths(path, m);
  return diags->empty();
}

}  // namespace

bool LoadMilestone(const std::string& path, Milestone* milestone, Diagnostics* diags) {
  if (IsJsonName(path)) {
    simdjson::padded_string text;
    {
      ScopedMetric metric("read");
      if (simdjson::padded_string::load(path).get(text) != simdjson::SUCCESS) {
        diags->Error({}, fmt::format("cannot read the file: {}", std::strerror(errno)));
        return false;
      }
    }
    bool shaped;
    {
      ScopedMetric metric("decode json");
      shaped = LoadJson(text, milestone, diags);
    }
    return Finish(path, text, shaped, milestone, diags);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags->Error({}, fmt::format("cannot read the file: {}", std::strerror(errno)));
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  return Finish(path, text, LoadYaml(text, milestone, diags), milestone, diags);
}

bool LoadMilestoneFromString(const std::string& name, const std::string& text, Milestone* milestone,
                             Diagnostics* diags) {
  if (IsJsonName(name)) {
    simdjson::padded_string padded(text);
    return Finish(name, padded, LoadJson(padded, milestone, diags), milestone, diags);
  }
  return Finish(name, text, LoadYaml(text, milestone, diags), milestone, diags);
}

}  // namespace mex
