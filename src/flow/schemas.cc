#include "flow/schemas.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "model/milestone.h"
#include "plan/file_overlap.h"

namespace mex {
namespace {

using nlohmann::json;

constexpr size_t kMaxArtifactBytes = size_t{64} << 20;
constexpr std::string_view kFunctionalRequirements =
    "/acceptance_criteria/functional_requirements/";
constexpr std::string_view kLeafExpectation =
    "expected a non-empty array, string or object, or {\"not_applicable\": \"why\"}";

std::string At(const std::string& pointer, std::string_view key) {
  return pointer + "/" + std::string(key);  // the keys named here need no escaping
}
std::string At(const std::string& pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

// "<pointer>: <what>"; the whole document is "(root)", since its pointer is the empty string.
std::string Problem(const std::string& pointer, std::string_view what) {
  return (pointer.empty() ? std::string("(root)") : pointer) + ": " + std::string(what);
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool IsText(const json& value) {
  return value.is_string() && !IsBlank(value.get_ref<const std::string&>());
}

// Checks the required member `key` of `object` is a non-blank string.
std::string RequireText(const json& object, const std::string& pointer, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end()) return Problem(At(pointer, key), "missing, expected a non-empty string");
  if (!IsText(*it)) return Problem(At(pointer, key), "expected a non-empty string");
  return "";
}

// Checks the optional member `key` of `object` is, when present, an array of non-blank strings.
std::string OptionalTextArray(const json& object, const std::string& pointer,
                              const std::string& key, std::string_view items) {
  auto it = object.find(key);
  if (it == object.end()) return "";
  std::string at = At(pointer, key);
  if (!it->is_array()) return Problem(at, "expected an array of " + std::string(items));
  for (size_t i = 0; i < it->size(); ++i) {
    if (!IsText((*it)[i])) return Problem(At(at, i), "expected a non-empty string");
  }
  return "";
}

// Parses an artifact's text; returns "" and fills `doc`, or says what is wrong.
std::string ParseJson(std::string_view text, json* doc) {
  try {
    *doc = json::parse(text);
  } catch (const json::exception& e) {
    // Drop the library's "[json.exception.parse_error.101] " prefix.
    std::string_view message = e.what();
    size_t bracket = message.find("] ");
    if (message.starts_with("[json.exception.") && bracket != std::string_view::npos) {
      message.remove_prefix(bracket + 2);
    }
    return "not valid JSON: " + std::string(message);
  }
  return "";
}

// Reads and parses the artifact; returns "" and fills `doc`, or says what is wrong.
std::string ReadJson(const Folder& folder, const std::string& path, json* doc) {
  std::string error;
  UniqueFd fd = folder.OpenFile(path, O_RDONLY, 0, &error);
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return "missing: the task did not write " + path;
    return error;
  }
  std::string text;
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    error = path + ": cannot read: " + std::strerror(errno);
  } else if (static_cast<size_t>(st.st_size) > kMaxArtifactBytes) {
    error = path + ": larger than 64 MiB, too large to check";
  } else {
    text.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = read(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) error = path + ": cannot read: " + std::strerror(errno);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    text.resize(done);
  }
  if (!error.empty()) return error;
  return ParseJson(text, doc);
}

std::string ValidateKiro(const json& doc) {
  if (!doc.is_object()) return Problem("", "expected an object with a \"decisions\" array");
  auto decisions = doc.find("decisions");
  if (decisions == doc.end()) {
    return Problem("/decisions", "missing, expected a non-empty array of decisions");
  }
  if (!decisions->is_array() || decisions->empty()) {
    return Problem("/decisions", "expected a non-empty array of decisions");
  }
  for (size_t i = 0; i < decisions->size(); ++i) {
    const json& decision = (*decisions)[i];
    std::string at = At("/decisions", i);
    if (!decision.is_object()) {
      return Problem(at, "expected an object with \"id\", \"title\" and \"rationale\"");
    }
    for (const char* key : {"id", "title", "rationale"}) {
      if (std::string error = RequireText(decision, at, key); !error.empty()) return error;
    }
  }
  return "";
}

bool IsCriterionId(std::string_view id) {
  return id.starts_with("AC-") && IsValidId(id.substr(3));
}

// The criteria of a functional-requirements leaf: objects carry a unique id like "AC-1".
std::string ValidateCriteria(const json& leaf, const std::string& pointer,
                             std::map<std::string, std::string>* ids) {
  for (size_t i = 0; i < leaf.size(); ++i) {
    const json& criterion = leaf[i];
    std::string at = At(pointer, i);
    if (criterion.is_string()) continue;
    if (!criterion.is_object()) {
      return Problem(at, "expected an acceptance criterion: an object with an \"id\", or a string");
    }
    auto id = criterion.find("id");
    if (id == criterion.end()) {
      return Problem(At(at, "id"), "missing, expected an acceptance criterion id like \"AC-1\"");
    }
    if (!id->is_string() || !IsCriterionId(id->get_ref<const std::string&>())) {
      return Problem(At(at, "id"), "expected an acceptance criterion id like \"AC-1\"");
    }
    const std::string& text = id->get_ref<const std::string&>();
    auto [first, inserted] = ids->emplace(text, At(at, "id"));
    if (!inserted) {
      return Problem(At(at, "id"), "duplicate acceptance criterion id \"" + text + "\" (first at " +
                                       first->second + ")");
    }
  }
  return "";
}

// A leaf that is present must say something: filled, or why it does not apply.
std::string ValidateLeaf(const json& leaf, const std::string& pointer,
                         std::map<std::string, std::string>* criterion_ids) {
  if (leaf.is_object()) {
    auto why = leaf.find("not_applicable");
    if (why != leaf.end() && !IsText(*why)) {
      return Problem(At(pointer, "not_applicable"), "expected a non-empty string saying why");
    }
    return leaf.empty() ? Problem(pointer, kLeafExpectation) : "";
  }
  if (leaf.is_string()) return IsText(leaf) ? "" : Problem(pointer, kLeafExpectation);
  if (!leaf.is_array() || leaf.empty()) return Problem(pointer, kLeafExpectation);
  if (pointer.starts_with(kFunctionalRequirements)) {
    return ValidateCriteria(leaf, pointer, criterion_ids);
  }
  return "";
}

// The node at `leaf_pointer` (a pointer of SpecLeaves(), whose names need no unescaping), or
// null when it is not there; `problem` says when a node on the way is not an object.
const json* FindLeaf(const json& doc, const std::string& leaf_pointer, std::string* problem) {
  const json* node = &doc;
  std::string walked;
  size_t start = 1;
  for (;;) {
    size_t slash = leaf_pointer.find('/', start);
    std::string key = leaf_pointer.substr(start, slash - start);
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    walked = At(walked, key);
    node = &*it;
    if (slash == std::string::npos) return node;
    if (!node->is_object()) {
      *problem = Problem(walked, "expected an object");
      return nullptr;
    }
    start = slash + 1;
  }
}

std::string ValidateSpec(const json& doc) {
  if (!doc.is_object()) return Problem("", "expected an object");
  std::map<std::string, std::string> criterion_ids;  // id -> where it was first seen
  for (const std::string& leaf_pointer : SpecLeaves()) {
    std::string problem;
    const json* leaf = FindLeaf(doc, leaf_pointer, &problem);
    if (!problem.empty()) return problem;
    if (leaf == nullptr) continue;  // not written yet: the spec_completeness gate counts it
    if (std::string error = ValidateLeaf(*leaf, leaf_pointer, &criterion_ids); !error.empty()) {
      return error;
    }
  }
  return "";
}

std::string ValidateRun(const json& run, const std::string& pointer) {
  constexpr std::string_view kExpected =
      "expected a command string or a non-empty array of strings";
  if (run.is_string()) return IsText(run) ? "" : Problem(pointer, kExpected);
  if (!run.is_array() || run.empty()) return Problem(pointer, kExpected);
  for (size_t i = 0; i < run.size(); ++i) {
    if (!run[i].is_string()) return Problem(At(pointer, i), "expected a string");
  }
  if (IsBlank(run[0].get_ref<const std::string&>())) {
    return Problem(At(pointer, 0), "expected the program to run");
  }
  return "";
}

// A task's optional "files": paths or globs inside the workspace (plan/file_overlap.h).
std::string ValidateFiles(const json& task, const std::string& pointer) {
  if (std::string error = OptionalTextArray(task, pointer, "files", "paths or globs");
      !error.empty()) {
    return error;
  }
  auto files = task.find("files");
  if (files == task.end()) return "";
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string& entry = (*files)[i].get_ref<const std::string&>();
    if (std::string problem = FileEntryProblem(entry); !problem.empty()) {
      return Problem(At(At(pointer, "files"), i), "\"" + entry + "\" " + problem);
    }
  }
  return "";
}

std::string ValidateTask(const json& task, const std::string& at,
                         std::map<std::string, std::string>* ids) {
  if (!task.is_object()) return Problem(at, "expected an object");
  auto id = task.find("id");
  if (id == task.end()) return Problem(At(at, "id"), "missing, expected a task id");
  if (!id->is_string() || !IsValidId(id->get_ref<const std::string&>())) {
    return Problem(At(at, "id"), "expected a task id of letters, digits, '_', '.' and '-'");
  }
  const std::string& id_text = id->get_ref<const std::string&>();
  if (id_text == "all") {
    return Problem(At(at, "id"), "\"all\" is reserved: in deps it means every task of the phase");
  }
  auto [first, inserted] = ids->emplace(id_text, at);
  if (!inserted) {
    return Problem(At(at, "id"),
                   "duplicate task id \"" + id_text + "\" (first at " + first->second + ")");
  }
  if (std::string error = RequireText(task, at, "title"); !error.empty()) return error;
  if (auto it = task.find("description"); it != task.end() && !it->is_string()) {
    return Problem(At(at, "description"), "expected a string");
  }
  auto effort = task.find("effort");
  if (effort == task.end()) return Problem(At(at, "effort"), "missing, expected a number > 0");
  if (!effort->is_number() || !(effort->get<double>() > 0)) {
    return Problem(At(at, "effort"), "expected a number > 0");
  }
  if (std::string error = OptionalTextArray(task, at, "deps", "task ids"); !error.empty()) {
    return error;
  }
  if (std::string error = OptionalTextArray(task, at, "covers", "acceptance criterion ids");
      !error.empty()) {
    return error;
  }
  if (std::string error = ValidateFiles(task, at); !error.empty()) return error;
  if (auto kind = task.find("kind"); kind != task.end()) {
    static const char* const kKinds[] = {"implementation", "test", "quality", "docs"};
    bool known = false;
    for (const char* k : kKinds) known = known || (kind->is_string() && *kind == k);
    if (!known)
      return Problem(At(at, "kind"), "expected one of implementation, test, quality, docs");
  }
  if (auto run = task.find("run"); run != task.end()) return ValidateRun(*run, At(at, "run"));
  return "";
}

std::string ValidateTasks(const json& doc) {
  if (!doc.is_object()) return Problem("", "expected an object with a \"tasks\" array");
  auto tasks = doc.find("tasks");
  if (tasks == doc.end()) return Problem("/tasks", "missing, expected an array of tasks");
  if (!tasks->is_array()) return Problem("/tasks", "expected an array of tasks");
  std::map<std::string, std::string> ids;  // id -> the task that has it first
  for (size_t i = 0; i < tasks->size(); ++i) {
    if (std::string error = ValidateTask((*tasks)[i], At("/tasks", i), &ids); !error.empty()) {
      return error;
    }
  }
  return "";
}

}  // namespace

std::string_view SchemaName(Schema schema) {
  switch (schema) {
    case Schema::kNone:
      return "none";
    case Schema::kKiro:
      return "kiro";
    case Schema::kSpec:
      return "spec";
    case Schema::kTasks:
      return "tasks";
  }
  return "none";
}

const std::vector<std::string>& SpecLeaves() {
  static const std::vector<std::string> leaves = {
      "/technical_specifications/api_contracts/endpoints",
      "/technical_specifications/api_contracts/schemas",
      "/technical_specifications/api_contracts/authentication",
      "/technical_specifications/api_contracts/rate_limiting",
      "/technical_specifications/data_models/entities",
      "/technical_specifications/data_models/relationships",
      "/technical_specifications/data_models/constraints",
      "/technical_specifications/data_models/migrations",
      "/technical_specifications/integration_specs/external_services",
      "/technical_specifications/integration_specs/message_formats",
      "/technical_specifications/integration_specs/error_handling",
      "/technical_specifications/integration_specs/retry_policies",
      "/acceptance_criteria/functional_requirements/user_stories",
      "/acceptance_criteria/functional_requirements/use_cases",
      "/acceptance_criteria/functional_requirements/business_rules",
      "/acceptance_criteria/non_functional_requirements/performance",
      "/acceptance_criteria/non_functional_requirements/security",
      "/acceptance_criteria/non_functional_requirements/accessibility",
      "/acceptance_criteria/non_functional_requirements/compatibility",
      "/validation_specs/test_scenarios",
      "/validation_specs/edge_cases",
      "/validation_specs/error_conditions",
      "/validation_specs/success_metrics",
  };
  return leaves;
}

namespace {

// What ReadSpec and ParseSpec say of `doc`, or of `error` when it could not be read.
SpecContent SpecContentOf(const json& doc, std::string error) {
  SpecContent content;
  if (!error.empty()) {
    content.error = std::move(error);
    return content;
  }
  if (!doc.is_object()) {
    content.error = Problem("", "expected an object");
    return content;
  }
  std::map<std::string, std::string> ids;
  for (const std::string& leaf_pointer : SpecLeaves()) {
    std::string problem;
    const json* leaf = FindLeaf(doc, leaf_pointer, &problem);
    if (leaf == nullptr) {
      content.leaf_problems.push_back(problem.empty() ? leaf_pointer + ": missing" : problem);
      continue;
    }
    std::map<std::string, std::string> leaf_ids = ids;
    problem = ValidateLeaf(*leaf, leaf_pointer, &leaf_ids);
    content.leaf_problems.push_back(problem);
    if (!problem.empty() || !leaf_pointer.starts_with(kFunctionalRequirements)) continue;
    ids = std::move(leaf_ids);
    for (const json& criterion : *leaf) {
      if (criterion.is_object()) content.criteria.push_back(criterion.at("id").get<std::string>());
    }
  }
  return content;
}

// The checks of `schema` on a document that was read.
std::string ValidateDocument(const json& doc, Schema schema) {
  switch (schema) {
    case Schema::kKiro:
      return ValidateKiro(doc);
    case Schema::kSpec:
      return ValidateSpec(doc);
    case Schema::kTasks:
      return ValidateTasks(doc);
    case Schema::kNone:
      break;
  }
  return "";
}

}  // namespace

SpecContent ReadSpec(const Folder& folder, const std::string& path) {
  json doc;
  std::string error = ReadJson(folder, path, &doc);
  return SpecContentOf(doc, std::move(error));
}

SpecContent ParseSpec(std::string_view text) {
  json doc;
  std::string error = ParseJson(text, &doc);
  return SpecContentOf(doc, std::move(error));
}

std::string ValidateArtifact(const Folder& folder, const std::string& path, Schema schema) {
  if (schema == Schema::kNone) {
    std::string error;
    UniqueFd fd = folder.OpenFile(path, O_RDONLY, 0, &error);
    if (fd.valid()) return "";
    if (errno == ENOENT || errno == ENOTDIR) return "missing: the task did not write " + path;
    return error;
  }
  json doc;
  return ReadArtifact(folder, path, schema, &doc);
}

std::string ReadArtifact(const Folder& folder, const std::string& path, Schema schema,
                         nlohmann::json* doc) {
  if (std::string error = ReadJson(folder, path, doc); !error.empty()) return error;
  return ValidateDocument(*doc, schema);
}

std::string ParseArtifact(std::string_view text, Schema schema, nlohmann::json* doc) {
  if (std::string error = ParseJson(text, doc); !error.empty()) return error;
  return ValidateDocument(*doc, schema);
}

}  // namespace mex
