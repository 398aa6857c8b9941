// The environment of an attempt: a list of "NAME=value" entries, as execve takes it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mex {

// Sets NAME=value in `env`, replacing an earlier value (with two, a program would see the first).
void SetEnv(std::vector<std::string>* env, std::string_view name, std::string_view value);

// The value of NAME in `env`, or nullopt when it is not set.
std::optional<std::string_view> FindEnv(const std::vector<std::string>& env, std::string_view name);

}  // namespace mex
