// Read-only views of a parsed YAML or JSON document with source positions, so that one decoder
// (decoder.h) serves both formats. JSON nodes are forward-only: each value is read at most once,
// in file order, which lets a million-task file be decoded without building a tree.
#pragma once

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <string_view>

#include "model/diagnostics.h"

namespace mex {

enum class NodeKind { kNull, kScalar, kMap, kSeq };

class YamlNode {
 public:
  YamlNode(YAML::Node node, Pos fallback) : node_(std::move(node)), fallback_(fallback) {}

  NodeKind kind() const {
    switch (node_.Type()) {
      case YAML::NodeType::Scalar:
        return NodeKind::kScalar;
      case YAML::NodeType::Sequence:
        return NodeKind::kSeq;
      case YAML::NodeType::Map:
        return NodeKind::kMap;
      default:
        return NodeKind::kNull;
    }
  }
  Pos pos() const {
    YAML::Mark mark = node_.Mark();
    // A missing value ("deps:") has the mark of whatever follows it: point at its key instead.
    if (mark.line < 0 || node_.Type() == YAML::NodeType::Null) return fallback_;
    return {static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1)};
  }
  std::string_view text() const { return node_.Scalar(); }

  // f(std::string_view key, Pos key_pos, YamlNode value) for each member, in file order.
  template <class F>
  void ForEachMember(F&& f) const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      YamlNode key(it->first, pos());
      Pos key_pos = key.pos();
      f(key.kind() == NodeKind::kScalar ? key.text() : std::string_view(), key_pos,
        YamlNode(it->second, key_pos));
    }
  }
  // f(YamlNode item) for each item, in file order.
  template <class F>
  void ForEachItem(F&& f) const {
    for (auto it = node_.begin(); it != node_.end(); ++it) f(YamlNode(*it, pos()));
  }
  // The same, calling reserve(number of items) first.
  template <class R, class F>
  void ForEachItem(R&& reserve, F&& f) const {
    reserve(node_.size());
    ForEachItem(f);
  }

 private:
  YAML::Node node_;
  Pos fallback_;
};

// Turns pointers into the JSON buffer into line and column. Positions are asked for mostly in
// increasing order, so the scan from the last answer is short.
class JsonPositions {
 public:
  explicit JsonPositions(std::string_view buffer) : buffer_(buffer) {}
  Pos At(const char* p);
  Pos AtOffset(size_t offset);

 private:
  std::string_view buffer_;
  size_t offset_ = 0;
  size_t line_start_ = 0;
  uint32_t line_ = 1;
};

class JsonNode {
 public:
  JsonNode(simdjson::ondemand::value value, JsonPositions* positions)
      : value_(value), positions_(positions) {}

  NodeKind kind() {
    switch (value_.type().value()) {
      case simdjson::ondemand::json_type::object:
        return NodeKind::kMap;
      case simdjson::ondemand::json_type::array:
        return NodeKind::kSeq;
      case simdjson::ondemand::json_type::null:
        return NodeKind::kNull;
      default:
        return NodeKind::kScalar;
    }
  }
  Pos pos() { return positions_->At(value_.current_location().value()); }
  // A string's unescaped text, or a number's or boolean's token as written.
  std::string_view text() {
    std::string_view token = value_.raw_json_token();
    if (!token.empty() && token.front() == '"') {
      std::string_view plain = PlainString(token.data() + 1);
      return plain.data() ? plain : value_.get_string().value();
    }
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                              token.back() == '\t')) {
      token.remove_suffix(1);
    }
    return token;
  }

  template <class F>
  void ForEachMember(F&& f) {
    // Named locals: a range-for over get_object().value() would iterate a dead temporary.
    simdjson::ondemand::object object = value_.get_object().value();
    for (auto result : object) {
      if (result.error()) throw simdjson::simdjson_error(result.error());
      simdjson::ondemand::field field = std::move(result).value_unsafe();
      const char* raw_key = field.key().raw();
      Pos key_pos = positions_->At(raw_key - 1);
      std::string_view key = PlainString(raw_key);
      if (!key.data()) key = field.unescaped_key().value();
      f(key, key_pos, JsonNode(field.value(), positions_));
    }
  }
  template <class F>
  void ForEachItem(F&& f) {
    simdjson::ondemand::array array = value_.get_array().value();
    for (auto result : array) f(JsonNode(result.value(), positions_));
  }
  template <class R, class F>
  void ForEachItem(R&& reserve, F&& f) {
    simdjson::ondemand::array array = value_.get_array().value();
    reserve(array.count_elements().value());  // rewinds the array afterwards
    for (auto result : array) f(JsonNode(result.value(), positions_));
  }

 private:
  // The text of a JSON string that needs no unescaping, read in place from the buffer (whose
  // UTF-8 simdjson has validated); a null view when it has escapes or control characters.
  static std::string_view PlainString(const char* start) {
    for (const char* p = start;; ++p) {
      if (*p == '"') return {start, static_cast<size_t>(p - start)};
      if (*p == '\\' || static_cast<unsigned char>(*p) < 0x20) return {};
    }
  }

  simdjson::ondemand::value value_;
  JsonPositions* positions_;
};

}  // namespace mex
