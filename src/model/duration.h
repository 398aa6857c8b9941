// Durations as written in milestone files: 250ms 30s 5m 2h 1h30m, or a number of seconds.
#pragma once

#include <string>
#include <string_view>

namespace mex {

// Parses `text` into seconds. Returns false and fills `err` when it is not a duration >= 0.
bool ParseDuration(std::string_view text, double* seconds, std::string* err);

// The shortest form that ParseDuration reads back: "1h30m", "250ms", "0s".
std::string FormatDuration(double seconds);

}  // namespace mex
