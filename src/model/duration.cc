#include "model/duration.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace mex {

namespace {

// Seconds per unit, longest unit names first so "ms" wins over "m".
struct Unit {
  std::string_view name;
  double seconds;
};
constexpr Unit kUnits[] = {{"ms", 0.001}, {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};

bool ParseNumber(std::string_view text, size_t* i, double* value) {
  size_t start = *i;
  while (*i < text.size() && ((text[*i] >= '0' && text[*i] <= '9') || text[*i] == '.')) ++*i;
  if (*i == start) return false;
  auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + *i, *value);
  return ec == std::errc() && ptr == text.data() + *i;
}

}  // namespace

bool ParseDuration(std::string_view text, double* seconds, std::string* err) {
  auto fail = [&] {
    *err = fmt::format("invalid duration '{}' (expected e.g. 250ms, 30s, 5m, 2h, 1h30m or seconds)",
                       text);
    return false;
  };
  if (text.empty()) return fail();
  size_t i = 0;
  double total = 0;
  double value = 0;
  if (!ParseNumber(text, &i, &value)) return fail();
  if (i == text.size()) {  // a bare number of seconds
    *seconds = value;
    return true;
  }
  for (;;) {
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return fail();
    i += unit->name.size();
    total += value * unit->seconds;
    if (i == text.size()) break;
    if (!ParseNumber(text, &i, &value)) return fail();
  }
  if (!std::isfinite(total)) return fail();
  *seconds = total;
  return true;
}

std::string FormatDuration(double seconds) {
  if (seconds < 1 && seconds > 0) return fmt::format("{}ms", std::lround(seconds * 1000));
  // lround cannot hold 2^63 s and more (a duration of 23 digits parses): whole hours then.
  if (seconds >= 9.0e18) return fmt::format("{:.0f}h", seconds / 3600);
  long s = std::lround(seconds);
  std::string out;
  if (s >= 3600) out += fmt::format("{}h", s / 3600), s %= 3600;
  if (s >= 60) out += fmt::format("{}m", s / 60), s %= 60;
  if (s > 0 || out.empty()) out += fmt::format("{}s", s);
  return out;
}

}  // namespace mex
