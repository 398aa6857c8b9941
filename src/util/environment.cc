#include "util/environment.h"

namespace mex {
namespace {

bool Names(std::string_view entry, std::string_view name) {
  return entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
         entry[name.size()] == '=';
}

}  // namespace

void SetEnv(std::vector<std::string>* env, std::string_view name, std::string_view value) {
  std::string entry;
  entry.reserve(name.size() + 1 + value.size());
  entry.append(name).append("=").append(value);
  for (std::string& e : *env) {
    if (Names(e, name)) {
      e = std::move(entry);
      return;
    }
  }
  env->push_back(std::move(entry));
}

std::optional<std::string_view> FindEnv(const std::vector<std::string>& env,
                                        std::string_view name) {
  for (const std::string& entry : env) {
    if (Names(entry, name)) return std::string_view(entry).substr(name.size() + 1);
  }
  return std::nullopt;
}

}  // namespace mex
