#include "util/terminal_text.h"

namespace mex {

// Written here rather than taken from a library: vis(3) of libbsd escapes bytes in octal and
// knows neither UTF-8 nor bidi; glibc's iswprint depends on the locale, which mex does not set;
// libunistring would decode and classify, for the price of a dependency for these few lines.
namespace {

// The length (2 to 4) of the valid UTF-8 sequence that `text` starts with, its code point in
// `code`; 0 when it starts with no valid sequence (overlong forms and surrogates are invalid).
size_t DecodeUtf8(std::string_view text, char32_t* code) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  size_t length = 0;
  char32_t value = 0;
  char32_t least = 0;  // the smallest code point this length may hold
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, value = lead & 0x1F, least = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, value = lead & 0x0F, least = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, value = lead & 0x07, least = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    value = value << 6 | (byte(i) & 0x3F);
  }
  if (value < least || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *code = value;
  return length;
}

// C1 controls, and the bidi controls that reorder what follows them.
bool IsHiddenControl(char32_t code) {
  return (code >= 0x80 && code <= 0x9F) || (code >= 0x202A && code <= 0x202E) ||
         (code >= 0x2066 && code <= 0x2069);
}

}  // namespace

std::string TerminalSafeLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      bool keep = (c >= 0x20 && c != 0x7F) || c == '\t';
      out += keep ? static_cast<char>(c) : '?';
      ++i;
      continue;
    }
    char32_t code = 0;
    size_t length = DecodeUtf8(text.substr(i), &code);
    if (length == 0) {  // one '?' per stray byte, so that the next valid character survives
      out += '?';
      ++i;
    } else if (IsHiddenControl(code)) {
      out += '?';
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

namespace {

// The length of the end of `text` that the next piece may complete: a '\r', or the lead byte of a
// UTF-8 sequence with fewer continuation bytes after it than it announces.
size_t IncompleteEnd(std::string_view text) {
  if (text.empty()) return 0;
  if (text.back() == '\r') return 1;
  for (size_t k = 1; k <= 3 && k <= text.size(); ++k) {
    auto c = static_cast<unsigned char>(text[text.size() - k]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    size_t length = c >= 0xC2 && c <= 0xDF   ? 2
                    : c >= 0xE0 && c <= 0xEF ? 3
                    : c >= 0xF0 && c <= 0xF4 ? 4
                                             : 0;
    return length > k ? k : 0;
  }
  return 0;
}

std::string SafeLines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      out += TerminalSafeLine(text);
      break;
    }
    std::string_view line = text.substr(0, nl);
    bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.remove_suffix(1);
    out += TerminalSafeLine(line);
    out += crlf ? "\r\n" : "\n";
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::string TerminalSafeStream::Feed(std::string_view piece) {
  held_.append(piece);
  size_t keep = IncompleteEnd(held_);
  std::string out = SafeLines(std::string_view(held_).substr(0, held_.size() - keep));
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string TerminalSafeStream::Finish() {
  std::string out = SafeLines(held_);
  held_.clear();
  return out;
}

}  // namespace mex
