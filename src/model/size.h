// Sizes as written in milestone files: 512M, 4G, 1T, or a number of bytes (K, M, G, T are 1024s).
#pragma once

#include <string>
#include <string_view>

namespace mex {

bool ParseSize(std::string_view text, double* bytes, std::string* err);

}  // namespace mex
