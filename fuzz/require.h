// What a fuzz target checks beyond the sanitizers: a promise of the code under test (a header's
// contract). A broken one aborts, which libFuzzer reports as a crash and saves the input of.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace mex::fuzz {

inline void Require(bool holds, const char* promise) {
  if (holds) return;
  std::fprintf(stderr, "fuzz: broken promise: %s\n", promise);
  std::abort();
}

}  // namespace mex::fuzz
