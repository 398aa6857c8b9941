#include "model/size.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace mex {

bool ParseSize(std::string_view text, double* bytes, std::string* err) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  double scale = unit.empty() ? 1 : 0;
  for (auto [name, factor] : {std::pair{"K", 1024.0},
                              {"M", 1024.0 * 1024},
                              {"G", 1024.0 * 1024 * 1024},
                              {"T", 1024.0 * 1024 * 1024 * 1024}}) {
    if (unit == name) scale = factor;
  }
  // from_chars reads "nan" and "inf" too, and 1e308T overflows: a size is a finite number >= 0
  // (NaN fails every comparison: `memory: nan` would be a shortage that never ends).
  if (ec != std::errc() || scale == 0 || !(value >= 0) || !std::isfinite(value * scale)) {
    *err = fmt::format("invalid size '{}' (expected e.g. 512M, 4G or a number of bytes)", text);
    return false;
  }
  *bytes = value * scale;
  return true;
}

}  // namespace mex
