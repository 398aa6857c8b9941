// Loading a milestone for a command: errors go to stderr, as the SPEC words them.
#pragma once

#include <string>

#include "model/milestone.h"

namespace mex {

// Returns false (and has printed every error) when `file` is not a valid milestone.
bool LoadForCommand(const std::string& file, Milestone* milestone);

}  // namespace mex
