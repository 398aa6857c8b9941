// The duration and size parsers of milestone files (timeout: 1h30m, mem: 4G) on the same input,
// and FormatDuration on every duration that parses.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/require.h"
#include "model/duration.h"
#include "model/size.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mex::fuzz::Require;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  double seconds = -1;
  std::string err;
  if (mex::ParseDuration(text, &seconds, &err)) {
    Require(std::isfinite(seconds) && seconds >= 0, "a duration is a finite number >= 0");
    double again = -1;
    Require(mex::ParseDuration(mex::FormatDuration(seconds), &again, &err),
            "ParseDuration reads back what FormatDuration writes");
  } else {
    Require(!err.empty(), "a bad duration is explained");
  }

  double bytes = -1;
  err.clear();
  if (mex::ParseSize(text, &bytes, &err)) {
    Require(std::isfinite(bytes) && bytes >= 0, "a size is a finite number of bytes >= 0");
  } else {
    Require(!err.empty(), "a bad size is explained");
  }
  return 0;
}
