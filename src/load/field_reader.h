// Reads the nodes of a document (source.h) as fields of a given shape: a mapping with known keys,
// a list, a string, a number, a duration, one of some names, a boolean. A node of the wrong
// shape or value is reported to the diagnostics with a message naming the field, and the call
// returns false. Knows nothing of milestones: decoder.h says which field has which shape.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "load/source.h"
#include "model/diagnostics.h"
#include "model/duration.h"

namespace mex {

template <class N>
class FieldReader {
 protected:
  explicit FieldReader(Diagnostics* diags) : diags_(diags) {}

  void Error(Pos pos, std::string message) { diags_->Error(pos, std::move(message)); }

  // Calls f(key, key_pos, value) for each member of a mapping, rejecting unknown and repeated
  // keys. `what` names the mapping in messages.
  template <class F>
  void Members(N node, std::string_view what, std::initializer_list<std::string_view> keys, F&& f) {
    IndexedMembers(node, what, keys, [&](size_t index, Pos key_pos, N value) {
      f(keys.begin()[index], key_pos, value);
    });
  }

  // The same, calling f(index of the key in `keys`, key_pos, value).
  template <class F>
  void IndexedMembers(N node, std::string_view what, std::initializer_list<std::string_view> keys,
                      F&& f) {
    if (node.kind() != NodeKind::kMap) {
      Error(node.pos(), fmt::format("{} must be a mapping", what));
      return;
    }
    uint64_t seen = 0;
    node.ForEachMember([&](std::string_view key, Pos key_pos, N value) {
      size_t index = 0;
      for (std::string_view k : keys) {
        if (k == key) break;
        ++index;
      }
      if (index == keys.size()) {
        Error(key_pos, fmt::format("unknown key '{}' in {}{}", key, what,
                                   DidYouMean(key, std::vector<std::string_view>(keys))));
        return;
      }
      if (seen & (uint64_t{1} << index)) {
        Error(key_pos, fmt::format("duplicate key '{}' in {}", key, what));
        return;
      }
      seen |= uint64_t{1} << index;
      f(index, key_pos, value);
    });
  }

  template <class F>
  void Items(N node, std::string_view what, F&& f) {
    if (node.kind() != NodeKind::kSeq) {
      Error(node.pos(), fmt::format("{} must be a list", what));
      return;
    }
    node.ForEachItem(f);
  }

  bool String(N node, std::string_view what, std::string* out) {
    if (node.kind() != NodeKind::kScalar) {
      Error(node.pos(), fmt::format("{} must be a string", what));
      return false;
    }
    *out = node.text();
    return true;
  }

  bool Number(N node, std::string_view what, double* out) {
    if (node.kind() == NodeKind::kScalar) {
      std::string_view text = node.text();
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
      if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*out)) {
        return true;
      }
    }
    Error(node.pos(), fmt::format("{} must be a number", what));
    return false;
  }

  bool Integer(N node, std::string_view what, int min, int* out) {
    Pos pos = node.pos();
    double value = 0;
    if (!Number(node, what, &value)) return false;
    if (value != std::floor(value) || value < min || value > 1e9) {
      Error(pos, fmt::format("{} must be a whole number >= {}", what, min));
      return false;
    }
    *out = static_cast<int>(value);
    return true;
  }

  bool Duration(N node, std::string_view what, double* seconds) {
    Pos pos = node.pos();
    std::string text, err;
    if (!String(node, what, &text)) return false;
    if (!ParseDuration(text, seconds, &err)) {
      Error(pos, fmt::format("{}: {}", what, err));
      return false;
    }
    return true;
  }

  // Reads one of `names`; *out gets its index.
  template <class E>
  bool Enum(N node, std::string_view what, const std::vector<std::string_view>& names, E* out) {
    Pos pos = node.pos();
    std::string text;
    if (!String(node, what, &text)) return false;
    size_t index = 0;
    for (std::string_view name : names) {
      if (name == text) {
        *out = static_cast<E>(index);
        return true;
      }
      ++index;
    }
    std::string expected;
    for (std::string_view name : names)
      expected += (expected.empty() ? "" : ", ") + std::string(name);
    Error(pos, fmt::format("invalid {} '{}' (expected one of: {})", what, text, expected));
    return false;
  }

  bool Bool(N node, std::string_view what) {
    std::string text;
    Pos pos = node.pos();
    if (String(node, what, &text) && (text == "true" || text == "false")) return text == "true";
    Error(pos, fmt::format("{} must be true or false", what));
    return false;
  }

 private:
  Diagnostics* diags_;
};

}  // namespace mex
