// How much memory and disk are free: a retry after a resource failure waits for them.
#pragma once

#include <string>

#include "model/milestone.h"

namespace mex {

// Returns "" when at least `wait`'s memory (MemAvailable) and disk (free space of the file
// system holding `path`) are free, else what is short, for a person.
std::string ResourceShortage(const ResourceWait& wait, const std::string& path);

}  // namespace mex
